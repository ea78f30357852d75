"""The registry's write side: carriers and their coverage, and applying reported events.

A batch is applied in one transaction that first bumps the registry clock, so writers are
ordered and a crash never leaves events, states and tenures apart. Within the batch, events are
applied per number in effective-date order; each is accepted, a duplicate (same carrier and
event id, same content: a no-op) or rejected with a reason code, and rejected ones change nothing.

Bulk writers (the importer) use a :class:`BatchPipeline`: each chunk is computed from a snapshot
while the previous chunk is being written, and its write transaction checks that no other
writer ticked the clock since the snapshot (else the chunk is computed again inside the
transaction), so the outcome is the one :meth:`RegistryService.apply` would give.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import TracebackType
from typing import Any, NamedTuple, Self

from numguard.domain.aging import AgingPolicy
from numguard.domain.coverage import CarrierCoverage, CoverageMap
from numguard.domain.lifecycle import NumberState
from numguard.errors import InvalidInput
from numguard.services.batch import Computed, LifecycleBatch, PreparedBatch, settled_result
from numguard.services.events import EventResult, Outcome, ParsedEvent, parse_record
from numguard.services.ports import (
    ChangeSet,
    RegistryStore,
    RegistryTransaction,
    StoredState,
    WriteConflict,
)

StateListener = Callable[[Iterable[NumberState]], None]
BatchHook = Callable[[RegistryTransaction, ChangeSet], None]
"""Runs inside a batch's write transaction, after its change set is written."""


class UnknownCarrier(InvalidInput):
    """An event names a carrier that is not registered."""

    code = "UNKNOWN_CARRIER"


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """Per-event results (in input order) and counts by outcome."""

    results: list[EventResult]

    def count(self, outcome: Outcome) -> int:
        """How many events had *outcome*."""
        return sum(1 for r in self.results if r.outcome is outcome)


class RegistryService:
    """Carriers, coverage and the application of lifecycle events."""

    def __init__(
        self,
        store: RegistryStore,
        *,
        policy: AgingPolicy,
        holder_key: bytes,
        default_region: str,
        today: Callable[[], date],
    ) -> None:
        self.store = store
        self.policy = policy
        self.holder_key = holder_key
        self.default_region = default_region
        self.today = today
        self._listeners: list[StateListener] = []
        self._batch_hooks: list[BatchHook] = []
        self.coverage = CoverageMap(store.carriers())

    def on_batch_written(self, hook: BatchHook) -> None:
        """Run *hook* inside every write transaction, after the change set is written: what it
        writes (an outbox) commits or rolls back with the batch."""
        self._batch_hooks.append(hook)

    def on_states_changed(self, listener: StateListener) -> None:
        """Call *listener* with the new states after every committed write."""
        self._listeners.append(listener)

    def off_states_changed(self, listener: StateListener) -> None:
        """Stop calling *listener* (added by :meth:`on_states_changed`)."""
        self._listeners.remove(listener)

    # carriers -----------------------------------------------------------------------------

    def add_carrier(
        self,
        code: str,
        name: str,
        *,
        tracking_since: date | None,
        prefixes: Sequence[str],
        now: datetime,
    ) -> CarrierCoverage:
        """Register or update a carrier: name, since when its reports are complete, ranges."""
        code = code.strip().upper()
        if not code or not code.replace("_", "").replace("-", "").isalnum() or len(code) > 32:
            raise InvalidInput("a carrier code is 2-32 letters, digits, '-' or '_'")
        if not name.strip():
            raise InvalidInput("a carrier needs a name")
        normalized = tuple(sorted({_normalize_prefix(p) for p in prefixes}))
        taken = {
            p: c.code for c in self.coverage.carriers.values() if c.code != code for p in c.prefixes
        }
        clashes = [p for p in normalized if p in taken]
        if clashes:
            raise InvalidInput(f"prefix {clashes[0]} already belongs to {taken[clashes[0]]}")
        since = tracking_since or now.date()
        if since > self.today():
            raise InvalidInput("tracking-since must not be in the future")
        coverage = self.store.add_carrier(
            CarrierCoverage(code, since, normalized), name.strip(), now=now
        )
        self.refresh_coverage()
        return coverage

    def refresh_coverage(self) -> None:
        """Reload carriers and prefixes from storage."""
        self.coverage = CoverageMap(self.store.carriers())

    # events -------------------------------------------------------------------------------

    def report(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        source: str,
        allowed_carrier: str | None = None,
        first_index: int = 0,
    ) -> ReportSummary:
        """Validate and apply a batch of event records (API or NDJSON shape)."""
        parsed: list[ParsedEvent] = []
        results: dict[int, EventResult] = {}
        for offset, record in enumerate(records):
            index = first_index + offset
            item = (
                parse_record(
                    index, record, holder_key=self.holder_key, default_region=self.default_region
                )
                if isinstance(record, Mapping)
                else EventResult(index, None, Outcome.REJECTED, "INVALID_FIELD", "not an object")
            )
            if isinstance(item, EventResult):
                results[index] = item
            else:
                parsed.append(item)
        for result in self.apply(parsed, source=source, allowed_carrier=allowed_carrier):
            results[result.index] = result
        return ReportSummary([results[i] for i in sorted(results)])

    def apply(
        self,
        parsed: Sequence[ParsedEvent],
        *,
        source: str,
        allowed_carrier: str | None = None,
        in_order: bool = False,
    ) -> list[EventResult]:
        """Apply well-formed events in one transaction; results in no particular order.

        ``in_order`` says *parsed* is sorted by (phone number, effective date, index) already
        (as the importer's merged runs are), which saves sorting it again.
        """
        prepared = self._admit(parsed, source, allowed_carrier, in_order)
        return self.commit(prepared).results

    def prepare(
        self,
        parsed: Sequence[ParsedEvent],
        *,
        source: str,
        allowed_carrier: str | None = None,
        in_order: bool = False,
        empty_at: int | None = None,
    ) -> PreparedBatch:
        """Compute a batch from a snapshot, outside any write transaction (see
        :meth:`commit`): the reads and the lifecycle of a bulk write, without holding the
        writer's lock.

        ``empty_at`` is a clock tick at which the registry held no event and no state (see
        :meth:`RegistryStore.empty_at`): the batch is then computed against that empty
        registry without reading anything, and :meth:`commit` trusts it only if every tick
        since was the caller's own.
        """
        admitted = self._admit(parsed, source, allowed_carrier, in_order)
        if not admitted.items:
            return admitted
        with (
            self.store.snapshot() if empty_at is None else nullcontext(_EmptyReads(empty_at))
        ) as reads:
            batch = LifecycleBatch(
                reads, admitted.items, self.policy, admitted.coverage, admitted.today, source
            )
            results = batch.run()
            snapshot = reads.seq
        changes = self.store.encode(batch.change_set())
        return replace(admitted, computed=Computed(snapshot, results, changes))

    def commit(self, prepared: PreparedBatch, *, ours: Collection[int] = ()) -> Committed:
        """Write a batch in one transaction; its results (refused ones included) and tick.

        A batch prepared from a snapshot is written as computed when no writer but the ticks
        in *ours* (the caller's own writes, about other numbers and event ids) came after the
        snapshot, and the day and coverage are those it was computed under; otherwise it is
        computed again inside the transaction. A unique key broken by a concurrent writer
        rolls the transaction back and the batch is computed again, up to three times.
        """
        if not prepared.items:
            return Committed(list(prepared.refused), None)
        trusted = prepared.computed is not None
        for attempt in range(1, 4):
            try:
                results, changes, seq = self._write(prepared, ours, trusted=trusted)
                break
            except WriteConflict:
                if attempt == 3:
                    raise
                trusted = False
        changed = [s.state for s in changes.states.values()]
        if changed:
            for listener in self._listeners:
                listener(changed)
        return Committed(prepared.refused + results, seq)

    def pipeline(self, *, source: str, allowed_carrier: str | None = None) -> BatchPipeline:
        """A :class:`BatchPipeline` writing through this registry."""
        return BatchPipeline(self, source=source, allowed_carrier=allowed_carrier)

    def _admit(
        self,
        parsed: Sequence[ParsedEvent],
        source: str,
        allowed_carrier: str | None,
        in_order: bool,
    ) -> PreparedBatch:
        """Split off the events the admission refuses; the rest in apply order."""
        refused: list[EventResult] = []
        admissible: list[ParsedEvent] = []
        for item in parsed:
            event = item.event
            refusal = self._admission(event.carrier, event.to_carrier, allowed_carrier)
            if refusal is None:
                admissible.append(item)
            else:
                code, message = refusal
                refused.append(
                    EventResult(item.index, event.event_id, Outcome.REJECTED, code, message)
                )
        if not in_order:
            admissible.sort(key=lambda p: (p.event.phone_number, p.event.effective_date, p.index))
        return PreparedBatch(admissible, refused, source, self.today(), self.coverage)

    def _write(
        self, prepared: PreparedBatch, ours: Collection[int], *, trusted: bool
    ) -> tuple[list[EventResult], ChangeSet, int]:
        today = self.today()
        computed = prepared.computed if trusted else None
        with self.store.transaction() as tx:
            if (
                computed is not None
                and prepared.today == today
                and prepared.coverage is self.coverage
                and _only_ours(computed.snapshot, tx.seq, ours)
            ):
                results, changes = computed.results, computed.changes
            else:
                batch = LifecycleBatch(
                    tx, prepared.items, self.policy, self.coverage, today, prepared.source
                )
                results, changes = batch.run(), batch.change_set()
            if changes.events:
                tx.write(changes)
                for hook in self._batch_hooks:
                    hook(tx, changes)
            return results, changes, tx.seq

    def settled(
        self, keys: Sequence[EventKey], *, allowed_carrier: str | None = None
    ) -> dict[int, EventResult]:
        """Results, by index, of the events among *keys* that their stored event id settles:
        a duplicate (same fingerprint) or a reused id. No transaction: stored events are never
        changed, so what this finds holds for :meth:`apply` too, which a bulk caller may then
        spare these events (a re-import of a big file applies almost nothing). Events the
        admission refuses are left to :meth:`apply`, which reports them."""
        admitted = [
            k for k in keys if self._admission(k.carrier, k.to_carrier, allowed_carrier) is None
        ]
        stored = self.store.existing_fingerprints({(k.carrier, k.event_id) for k in admitted})
        if not stored:
            return {}
        results: dict[int, EventResult] = {}
        for k in admitted:
            previous = stored.get((k.carrier, k.event_id))
            if previous is not None:
                results[k.position] = settled_result(
                    k.position, k.event_id, previous, k.fingerprint
                )
        return results

    def _admission(
        self, carrier: str, to_carrier: str | None, allowed_carrier: str | None
    ) -> tuple[str, str] | None:
        """Why an event of *carrier* (to *to_carrier*) is refused before any lookup, or None."""
        if allowed_carrier is not None and carrier != allowed_carrier:
            return "CARRIER_NOT_ALLOWED", f"this client reports for {allowed_carrier} only"
        carriers = self.coverage.carriers
        if carrier not in carriers:
            return "UNKNOWN_CARRIER", f"carrier {carrier} is not registered"
        if to_carrier is not None and to_carrier not in carriers:
            return "UNKNOWN_CARRIER", f"carrier {to_carrier} is not registered"
        return None


class EventKey(NamedTuple):
    """What :meth:`RegistryService.settled` needs of an event (``position``: its index)."""

    position: int
    carrier: str
    event_id: str
    to_carrier: str | None
    fingerprint: str


class Committed(NamedTuple):
    """What :meth:`RegistryService.commit` did: every event's result, and the clock tick of
    its transaction (None when no event was admitted and no transaction was needed)."""

    results: list[EventResult]
    seq: int | None


class _EmptyReads:
    """The reads of a registry that holds nothing, at clock tick *seq*."""

    def __init__(self, seq: int) -> None:
        self.seq = seq

    def existing_fingerprints(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {}

    def load_states(self, numbers: Iterable[str]) -> dict[str, StoredState]:
        return {}


_SWITCH_INTERVAL = 0.0005
"""Seconds between two hand-overs of Python's lock while a pipeline runs."""


def _only_ours(snapshot: int, seq: int, ours: Collection[int]) -> bool:
    """Whether every tick between *snapshot* and the transaction's own *seq* is in *ours*."""
    return seq - 1 - snapshot == sum(1 for tick in ours if snapshot < tick < seq)


class BatchPipeline:
    """Applies chunks in order, computing each from a snapshot while the previous one is
    written by a writer thread (the database does its part of a write, index upkeep and
    commit, without Python's lock, and PostgreSQL in its own process).

    :meth:`put` returns the results of the chunks whose writes have finished; :meth:`close`
    waits for the last one. A chunk that shares a number with the chunk being written waits
    for that write before it is computed. Results are those :meth:`RegistryService.apply`
    gives chunk after chunk.
    """

    def __init__(
        self, registry: RegistryService, *, source: str, allowed_carrier: str | None = None
    ) -> None:
        self.registry = registry
        self.source = source
        self.allowed_carrier = allowed_carrier
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="numguard-writer")
        self._pending: Future[Committed] | None = None
        self._pending_numbers: frozenset[str] = frozenset()
        self._ours: list[int] = []
        self._empty_at = registry.store.empty_at()
        # The writer gives up Python's lock for each statement the database runs and needs it
        # back after: at the default 5 ms switch interval it waits on the computing thread
        # longer than the statement took. Restored when the pipeline closes.
        self._interval: float | None = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, _SWITCH_INTERVAL))

    def put(self, parsed: Sequence[ParsedEvent], *, in_order: bool = False) -> list[EventResult]:
        """Queue a chunk; the results of the chunk written before it, if any."""
        done: list[EventResult] = []
        numbers = frozenset(p.event.phone_number for p in parsed)
        if not numbers.isdisjoint(self._pending_numbers):
            done = self._finish_pending()
        prepared = self.registry.prepare(
            parsed,
            source=self.source,
            allowed_carrier=self.allowed_carrier,
            in_order=in_order,
            empty_at=self._empty_at,
        )
        done.extend(self._finish_pending())
        self._pending = self._writer.submit(self._commit, prepared)
        self._pending_numbers = numbers
        return done

    def close(self) -> list[EventResult]:
        """Wait for the last write; its results. The pipeline takes no more chunks."""
        try:
            return self._finish_pending()
        finally:
            self._shutdown(cancel=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._shutdown(cancel=True)

    def _shutdown(self, *, cancel: bool) -> None:
        self._writer.shutdown(wait=True, cancel_futures=cancel)
        if self._interval is not None:
            sys.setswitchinterval(self._interval)
            self._interval = None

    def _commit(self, prepared: PreparedBatch) -> Committed:
        committed = self.registry.commit(prepared, ours=self._ours)
        if committed.seq is not None:
            self._ours.append(committed.seq)
        return committed

    def _finish_pending(self) -> list[EventResult]:
        pending, self._pending = self._pending, None
        self._pending_numbers = frozenset()
        return pending.result().results if pending is not None else []


def _normalize_prefix(prefix: str) -> str:
    text = prefix.strip().replace(" ", "")
    if not text.startswith("+") or not text[1:].isdigit() or not 2 <= len(text) <= 16:
        raise InvalidInput(f"prefix {prefix!r} must be '+' and digits, e.g. +86138")
    return text
