"""What the services need from storage, as protocols; adapters implement them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from numguard.domain.coverage import CarrierCoverage
from numguard.domain.lifecycle import LifecycleEvent, NumberState
from numguard.domain.records import record


@record
class StoredState:
    """A number's state as stored, with the ordinal of its last tenure."""

    state: NumberState
    tenure_ordinal: int


@record
class EventRecord:
    """An accepted event, ready to append."""

    event: LifecycleEvent
    fingerprint: str
    source: str


@dataclass(slots=True)
class TenureRow:
    """One tenure row to insert or update."""

    phone_number: str
    ordinal: int
    holder_id_type: str | None
    holder_hash: str | None
    holder_suffix_hash: str | None
    holder_masked: str | None
    start: date | None
    end: date | None
    end_reason: str | None
    is_new: bool


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Everything one write transaction stores."""

    events: Sequence[EventRecord]
    states: Mapping[str, StoredState]
    new_numbers: frozenset[str]
    tenures: Sequence[TenureRow]
    encoded: object = None
    """The same changes as the store's rows (:meth:`RegistryStore.encode`), if done."""


class WriteConflict(Exception):
    """A write transaction broke a unique key another writer took since the batch was read
    (the same event id reported twice at once); it was rolled back and may be retried."""


class RegistryReads(Protocol):
    """Reads of stored events and states; ``seq`` is the registry clock they start from:
    a transaction's own tick, or for a snapshot the clock read before anything else (later
    writers all have a higher tick)."""

    seq: int

    def existing_fingerprints(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Fingerprints of events already stored under these (carrier, event id) keys."""
        ...

    def load_states(self, numbers: Iterable[str]) -> dict[str, StoredState]:
        """Current states of these numbers (absent ones are not in the result)."""
        ...


class RegistryTransaction(RegistryReads, Protocol):
    """One write transaction on the registry. Leaving the context commits it; a broken
    unique key raises :class:`WriteConflict` after the rollback."""

    def write(self, changes: ChangeSet) -> None:
        """Append the events, upsert the states, insert and update the tenures."""
        ...


class RegistryStore(Protocol):
    """Storage of carriers, events, states and tenures."""

    def transaction(self) -> AbstractContextManager[RegistryTransaction]:
        """Open a write transaction that orders itself after every earlier one."""
        ...

    def snapshot(self) -> AbstractContextManager[RegistryReads]:
        """Reads outside any write transaction, from the clock read first."""
        ...

    def encode(self, changes: ChangeSet) -> ChangeSet:
        """*changes* with its rows made for this store's write, ahead of the transaction."""
        ...

    def empty_at(self) -> int | None:
        """The registry clock if no event and no state is stored (read together), else None."""
        ...

    def existing_fingerprints(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Fingerprints of events already stored under these keys, outside a transaction."""
        ...

    def carriers(self) -> list[CarrierCoverage]:
        """All registered carriers with their prefixes."""
        ...

    def add_carrier(
        self, coverage: CarrierCoverage, name: str, *, now: datetime
    ) -> CarrierCoverage:
        """Register a carrier or update its name, tracking date and prefixes."""
        ...

    def states_since(self, seq: int) -> Iterator[tuple[int, NumberState]]:
        """States changed after *seq*, in seq order, with their seq."""
        ...

    def all_states(self) -> Iterator[tuple[int, NumberState]]:
        """Every stored state (for building the answer index)."""
        ...

    def current_seq(self) -> int:
        """The registry clock."""
        ...

    def tenures_of(self, phone_number: str) -> list[dict[str, Any]]:
        """The stored tenures of a number, oldest first."""
        ...
