"""One batch of lifecycle events applied to stored states: results and the change set.

The batch reads what it needs (stored event ids, the numbers' states) once, then runs each
number's events through :func:`~numguard.domain.lifecycle.apply_event` in effective-date order.
A :class:`PreparedBatch` is such a batch computed from a snapshot, outside the write
transaction, so that a bulk writer can compute one chunk while the previous one is written
(:class:`~numguard.services.registry.BatchPipeline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from numguard.domain.aging import AgingPolicy
from numguard.domain.coverage import CoverageMap
from numguard.domain.lifecycle import (
    Applied,
    EventType,
    LifecycleEvent,
    NumberState,
    NumberStatus,
    TenureChangeKind,
    apply_event,
)
from numguard.services.events import EventResult, Outcome, ParsedEvent
from numguard.services.ports import (
    ChangeSet,
    EventRecord,
    RegistryReads,
    StoredState,
    TenureRow,
)


class Computed(NamedTuple):
    """A batch's outcome computed from the registry as it stood at clock tick *snapshot*."""

    snapshot: int
    results: list[EventResult]
    changes: ChangeSet


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """Events ready to commit: the admitted ones in apply order, the refused ones' results,
    the day and coverage they are judged under, and (when prepared from a snapshot) the
    outcome computed then."""

    items: Sequence[ParsedEvent]
    refused: list[EventResult]
    source: str
    today: date
    coverage: CoverageMap
    computed: Computed | None = None


def settled_result(index: int, event_id: str, previous: str, fingerprint: str) -> EventResult:
    """The result of an event whose id was used before, by an event with *previous* print."""
    if previous == fingerprint:
        return EventResult(index, event_id, Outcome.DUPLICATE)
    return EventResult(
        index,
        event_id,
        Outcome.REJECTED,
        "EVENT_ID_REUSED",
        "this event id was already used for a different event",
    )


class LifecycleBatch:
    """Applies one batch of events to the states *reads* sees, collecting what to write.

    *reads* is the write transaction itself (:meth:`RegistryService.apply`) or a snapshot read
    before it (:meth:`RegistryService.prepare`); the change set is the same either way when
    nothing else wrote the batch's numbers or event ids in between.
    """

    def __init__(  # noqa: PLR0917  internal
        self,
        reads: RegistryReads,
        items: Sequence[ParsedEvent],
        policy: AgingPolicy,
        coverage: CoverageMap,
        today: date,
        source: str,
    ) -> None:
        """*items* are in apply order: by (phone number, effective date, index)."""
        self.reads = reads
        self.items = items
        self.policy = policy
        self.coverage = coverage
        self.today = today
        self.source = source
        self.records: list[EventRecord] = []
        self.states: dict[str, StoredState] = {}
        self.new_numbers: set[str] = set()
        self.tenures: dict[tuple[str, int], TenureRow] = {}

    def run(self) -> list[EventResult]:
        existing = self.reads.existing_fingerprints(
            {(p.event.carrier, p.event.event_id) for p in self.items}
        )
        # A stored event id settles its event (duplicate or reused) whatever the number's
        # state: only numbers with other events need theirs (a re-import loads none).
        stored = self.reads.load_states(
            {
                p.event.phone_number
                for p in self.items
                if (p.event.carrier, p.event.event_id) not in existing
            }
            if existing
            else {p.event.phone_number for p in self.items}
        )
        seen: dict[tuple[str, str], str] = {}
        results: list[EventResult] = []
        for item in self.items:
            event = item.event
            key = (event.carrier, event.event_id)
            previous = existing.get(key) or seen.get(key)
            if previous is not None:
                results.append(
                    settled_result(item.index, event.event_id, previous, item.fingerprint)
                )
                continue
            number = event.phone_number
            current = self.states.get(number) or stored.get(number)
            if current is None:
                current = StoredState(NumberState(number), 0)
                is_new = True
            else:
                is_new = number in self.new_numbers or number not in stored
            refusal = self._range_refusal(current.state, event)
            if refusal is not None:
                results.append(EventResult(item.index, event.event_id, Outcome.REJECTED, *refusal))
                continue
            outcome = apply_event(current.state, event, policy=self.policy, today=self.today)
            if not isinstance(outcome, Applied):
                results.append(
                    EventResult(
                        item.index,
                        event.event_id,
                        Outcome.REJECTED,
                        outcome.reason.value,
                        outcome.message,
                    )
                )
                continue
            seen[key] = item.fingerprint
            ordinal = self._apply_tenures(number, current.tenure_ordinal, outcome)
            self.states[number] = StoredState(outcome.state, ordinal)
            if is_new:
                self.new_numbers.add(number)
            self.records.append(EventRecord(event, item.fingerprint, self.source))
            results.append(EventResult(item.index, event.event_id, Outcome.ACCEPTED))
        return results

    def _range_refusal(self, state: NumberState, event: LifecycleEvent) -> tuple[str, str] | None:
        """A number enters or re-enters service only from the carrier whose range holds it."""
        if state.status is NumberStatus.ACTIVE or (
            state.status is not NumberStatus.UNREPORTED and event.type is not EventType.ASSIGNED
        ):
            return None
        holder = self.coverage.range_holder(event.phone_number)
        if holder is None:
            reporter = self.coverage.carriers[event.carrier]
            if not reporter.prefixes:
                return None  # a carrier without declared ranges covers what it reports
            return "NUMBER_NOT_IN_CARRIER_RANGE", f"no carrier's range holds {event.phone_number}"
        if holder.code != event.carrier and state.status is NumberStatus.UNREPORTED:
            if event.type is EventType.ASSIGNED:
                return (
                    "NUMBER_NOT_IN_CARRIER_RANGE",
                    f"{event.phone_number} is in {holder.code}'s range",
                )
            return None  # a ported-in number first reported by its new carrier
        if holder.code != event.carrier and event.type is EventType.ASSIGNED:
            return (
                "NUMBER_NOT_IN_CARRIER_RANGE",
                f"{event.phone_number} is reissued by {holder.code}, whose range holds it",
            )
        return None

    def _apply_tenures(self, number: str, ordinal: int, outcome: Applied) -> int:
        for change in outcome.changes:
            if change.kind is TenureChangeKind.OPENED:
                ordinal += 1
                holder = change.holder
                self.tenures[(number, ordinal)] = TenureRow(
                    phone_number=number,
                    ordinal=ordinal,
                    holder_id_type=str(holder.id_type) if holder else None,  # StrEnum value
                    holder_hash=holder.id_hash if holder else None,
                    holder_suffix_hash=holder.suffix_hash if holder else None,
                    holder_masked=holder.masked if holder else None,
                    start=change.on,
                    end=None,
                    end_reason=None,
                    is_new=True,
                )
            else:
                row = self.tenures.get((number, ordinal))
                if row is None:
                    # An existing tenure: storage updates only its end fields.
                    row = TenureRow(
                        number, ordinal, None, None, None, None, None, None, None, False
                    )
                    self.tenures[(number, ordinal)] = row
                if change.kind is TenureChangeKind.CLOSED:
                    row.end = change.on
                    row.end_reason = str(change.end_reason) if change.end_reason else None
                else:
                    row.end = None
                    row.end_reason = None
        return ordinal

    def change_set(self) -> ChangeSet:
        return ChangeSet(
            events=self.records,
            states=self.states,
            new_numbers=frozenset(self.new_numbers),
            tenures=list(self.tenures.values()),
        )
