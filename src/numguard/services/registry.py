"""The registry's write side: carriers and their coverage, and applying reported events.

A batch is applied in one transaction that first bumps the registry clock, so writers are
ordered and a crash never leaves events, states and tenures apart. Within the batch, events are
applied per number in effective-date order; each is accepted, a duplicate (same carrier and
event id, same content: a no-op) or rejected with a reason code, and rejected ones change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from numguard.domain.aging import AgingPolicy
from numguard.domain.coverage import CarrierCoverage, CoverageMap
from numguard.domain.lifecycle import (
    Applied,
    EventType,
    LifecycleEvent,
    NumberState,
    NumberStatus,
    TenureChangeKind,
    apply_event,
)
from numguard.errors import InvalidInput
from numguard.services.events import EventResult, Outcome, ParsedEvent, parse_record
from numguard.services.ports import (
    ChangeSet,
    EventRecord,
    RegistryStore,
    RegistryTransaction,
    StoredState,
    TenureRow,
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
        results: list[EventResult] = []
        admissible: list[ParsedEvent] = []
        for item in parsed:
            event = item.event
            refusal = self._admission(event.carrier, event.to_carrier, allowed_carrier)
            if refusal is None:
                admissible.append(item)
            else:
                code, message = refusal
                results.append(
                    EventResult(item.index, event.event_id, Outcome.REJECTED, code, message)
                )
        if not admissible:
            return results
        today = self.today()
        with self.store.transaction() as tx:
            batch = _Batch(tx, admissible, self.policy, self.coverage, today, source, in_order)
            results.extend(batch.run())
            changes = batch.change_set()
            if changes.events:
                tx.write(changes)
                for hook in self._batch_hooks:
                    hook(tx, changes)
        changed = [s.state for s in changes.states.values()]
        if changed:
            for listener in self._listeners:
                listener(changed)
        return results

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
                results[k.position] = _settled_result(
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


def _settled_result(index: int, event_id: str, previous: str, fingerprint: str) -> EventResult:
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


def _normalize_prefix(prefix: str) -> str:
    text = prefix.strip().replace(" ", "")
    if not text.startswith("+") or not text[1:].isdigit() or not 2 <= len(text) <= 16:
        raise InvalidInput(f"prefix {prefix!r} must be '+' and digits, e.g. +86138")
    return text


class _Batch:
    """Applies one batch of events inside a transaction, collecting what to write."""

    def __init__(  # noqa: PLR0917  internal, one call site
        self,
        tx: RegistryTransaction,
        items: Sequence[ParsedEvent],
        policy: AgingPolicy,
        coverage: CoverageMap,
        today: date,
        source: str,
        in_order: bool = False,
    ) -> None:
        self.tx = tx
        self.items = (
            items
            if in_order
            else sorted(
                items, key=lambda p: (p.event.phone_number, p.event.effective_date, p.index)
            )
        )
        self.policy = policy
        self.coverage = coverage
        self.today = today
        self.source = source
        self.records: list[EventRecord] = []
        self.states: dict[str, StoredState] = {}
        self.new_numbers: set[str] = set()
        self.tenures: dict[tuple[str, int], TenureRow] = {}

    def run(self) -> list[EventResult]:
        existing = self.tx.existing_fingerprints(
            {(p.event.carrier, p.event.event_id) for p in self.items}
        )
        # A stored event id settles its event (duplicate or reused) whatever the number's
        # state: only numbers with other events need theirs (a re-import loads none).
        stored = self.tx.load_states(
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
                    _settled_result(item.index, event.event_id, previous, item.fingerprint)
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
