"""Cross-check: replay a small simulated population through the real registry and guard.

The vectorised model decides with lookup tables and day arithmetic. Here the same population,
traced account by account, goes the long way: every cancellation and reissue is reported to a
real :class:`~numguard.services.registry.RegistryService` as carrier events (the lifecycle
rules accept or reject them), every check is a real
:meth:`~numguard.services.checks.CheckService.check`, and every verdict comes from
:func:`~numguard.domain.guard.judge` on a real :class:`~numguard.domain.guard.Attempt`. The
counts must come out equal, category by category.

The registry and the checks are passed in (anything shaped like the services), so this module
needs no storage or wiring of its own; ``numguard simulate --crosscheck`` and the integration
test build them on a SQLite file with :func:`numguard.bootstrap.build`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from numguard.domain.answer import Recycled, RecyclingAnswer
from numguard.domain.guard import Action, Attempt, CheckOutcome, Decision, judge
from numguard.domain.identity import IdType
from numguard.simulation.model import INITIAL_TENURE_START, Trace, simulate_traced
from numguard.simulation.parameters import CATEGORIES, Parameters, SimulationParameterError
from numguard.simulation.policy_table import (
    NEVER,
    OUTCOMES,
    PolicyTable,
    step_up_factor,
    variant_policy,
)
from numguard.simulation.scenarios import Scenario

CARRIER = "SIMCARRIER"
"""The one carrier of the replay; its range is :data:`COVERED_PREFIX`."""
COVERED_PREFIX = "+86139"
"""Numbers whose carrier reports (``registry_coverage``)."""
UNCOVERED_PREFIX = "+86188"
"""Numbers in no reporting carrier's range: the registry answers "unknown" for them."""
CLIENT_ID = "simulation-crosscheck"
MAX_NUMBERS = 100_000
"""The replay is for small populations: one registry write per simulated day."""


class EventResultLike(Protocol):
    """What the replay reads from one event's result."""

    @property
    def outcome(self) -> str:
        """``accepted``, ``duplicate`` or ``rejected``."""
        ...

    @property
    def reason(self) -> str | None:
        """The rejection code."""
        ...


class ReportLike(Protocol):
    """What the replay reads from a report's summary."""

    @property
    def results(self) -> Sequence[EventResultLike]:
        """One result per event."""
        ...


class RegistryLike(Protocol):
    """The part of :class:`~numguard.services.registry.RegistryService` the replay uses."""

    def add_carrier(
        self,
        code: str,
        name: str,
        *,
        tracking_since: date | None,
        prefixes: Sequence[str],
        now: datetime,
    ) -> object:
        """Register the replay's carrier."""
        ...

    def report(self, records: Sequence[Mapping[str, Any]], *, source: str) -> ReportLike:
        """Apply lifecycle events."""
        ...


class CheckResultLike(Protocol):
    """What the replay reads from a check."""

    @property
    def answer(self) -> RecyclingAnswer:
        """The registry's answer."""
        ...


class ChecksLike(Protocol):
    """The part of :class:`~numguard.services.checks.CheckService` the replay uses."""

    def check(self, phone_text: str, on: date, *, client_id: str | None) -> CheckResultLike:
        """One audited recycling check."""
        ...


@dataclass(frozen=True, slots=True)
class CountRow:
    """One compared count: what, for which category (``all``), the model's and the replay's."""

    what: str
    category: str
    model: int
    replay: int

    @property
    def agrees(self) -> bool:
        """Whether the two counts are equal."""
        return self.model == self.replay


@dataclass(frozen=True)
class CrossCheckReport:
    """The comparison, plus the lifecycle events the registry rejected (by reason)."""

    scenario: str
    numbers: int
    rows: tuple[CountRow, ...]
    rejected: Mapping[str, int]

    @property
    def agrees(self) -> bool:
        """Every count equal and no event rejected."""
        return not self.rejected and all(r.agrees for r in self.rows)


def registry_aging(params: Parameters, scenario: Scenario) -> str:
    """The ``NUMGUARD_AGING_DAYS`` value for a registry that enforces the scenario's freeze on
    the replay's (+86) numbers."""
    return f"CN={scenario.freeze(params)}"


def phone_of(number: int, covered: bool) -> str:
    """The E.164 number the replay uses for simulated number *number*."""
    return f"{COVERED_PREFIX if covered else UNCOVERED_PREFIX}{number:08d}"


def cross_check(
    params: Parameters,
    scenario: Scenario,
    *,
    registry: RegistryLike,
    checks: ChecksLike,
    set_today: Callable[[date], None],
    progress: Callable[[float, str], None] | None = None,
) -> CrossCheckReport:
    """Simulate *scenario*, replay it through *registry*, *checks* and the guard, compare.

    *set_today* moves the registry's clock: the replay goes day by day, reporting a day's
    events before that day's checks.
    """
    if params.population > MAX_NUMBERS:
        raise SimulationParameterError(f"the cross-check takes at most {MAX_NUMBERS:,} numbers")
    result, trace = simulate_traced(params, [scenario], scenario.name)
    replay = _Replay(params, trace, registry, checks, set_today)
    replay.run(progress)
    model = result[scenario.name]
    rows: list[CountRow] = []
    for c, category in enumerate(CATEGORIES):
        name = str(category)
        rows += [
            CountRow("stale bindings", name, int(model.stale[c]), replay.count("stale", c)),
            CountRow("exposed at reissue", name, int(model.exposed[c]), replay.count("exposed", c)),
            CountRow("login attempts", name, int(model.attempts[c]), replay.count("attempts", c)),
            CountRow("takeovers", name, int(model.takeovers[c]), replay.count("takeovers", c)),
            CountRow("blocked", name, int(model.blocked[c]), replay.count("blocked", c)),
        ]
    rows += [
        CountRow(
            "registry answers yes",
            "all",
            replay.expected_answers[Recycled.YES],
            replay.answers[Recycled.YES],
        ),
        CountRow(
            "registry answers unknown",
            "all",
            replay.expected_answers[Recycled.UNKNOWN],
            replay.answers[Recycled.UNKNOWN],
        ),
        CountRow("lifecycle events accepted", "all", replay.events_sent, replay.accepted),
        CountRow(
            "numbers reissued (reporting carrier)",
            "all",
            replay.model_reissues,
            replay.accepted_reissues,
        ),
    ]
    return CrossCheckReport(scenario.name, params.population, tuple(rows), dict(replay.rejected))


@dataclass(frozen=True, slots=True)
class _Judgement:
    number: int
    category: int
    bound: int
    day: int
    in_use: bool
    last_active: int
    has_factor: bool
    outcome: int
    check_day: int
    dormancy_day: int
    kind: str  # "exposed" (on the day of reissue) or "attempt"


class _Replay:
    def __init__(
        self,
        params: Parameters,
        trace: Trace,
        registry: RegistryLike,
        checks: ChecksLike,
        set_today: Callable[[date], None],
    ) -> None:
        self.params = params
        self.trace = trace
        self.registry = registry
        self.checks = checks
        self.set_today = set_today
        self.rules = PolicyTable.default(
            phone_of(0, True), params.guard_unreachable
        ).rules  # the same rules the model's table was judged with
        self.policies = [variant_policy(v, self.rules) for v in range(4)]
        self.counts: Counter[tuple[str, int]] = Counter()
        self.answers: Counter[Recycled] = Counter()
        self.expected_answers: Counter[Recycled] = Counter()
        self.judged_unreachable = 0
        self.events_sent = 0
        self.accepted = 0
        self.rejected: Counter[str] = Counter()
        self.model_reissues = 0
        self.accepted_reissues = 0
        self.events: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.judgements: dict[int, list[_Judgement]] = defaultdict(list)

    def count(self, what: str, category: int) -> int:
        return self.counts[(what, category)]

    def day(self, day: int) -> date:
        return self.params.start_date + timedelta(days=day)

    def moment(self, day: int) -> datetime:
        moment = datetime.combine(self.day(day), datetime.min.time(), UTC)
        return moment + timedelta(hours=4)  # noon in Beijing: the same calendar date there

    # schedule -------------------------------------------------------------------------------

    def _schedule(self) -> None:
        covered = self.trace.covered
        for n in np.flatnonzero(covered).tolist():
            self._event(INITIAL_TENURE_START, n, 0, "ASSIGNED")
        for k, tenures in enumerate(self.trace.tenures, start=1):
            rows = zip(
                tenures["number"].tolist(),
                tenures["cancel"].tolist(),
                tenures["reissue"].tolist(),
                strict=True,
            )
            for n, cancel, reissue in rows:
                if not covered[n]:
                    continue
                self._event(cancel, n, k, "CANCELLED")
                if reissue < NEVER:
                    self._event(reissue, n, k, "ASSIGNED")
                    self.model_reissues += 1
        table = self.trace.account_table()
        if not table:
            return
        columns = {key: values.tolist() for key, values in table.items()}
        for i in range(len(columns["number"])):
            base = _Judgement(
                number=columns["number"][i],
                category=columns["category"][i],
                bound=columns["bound"][i],
                day=columns["reissue"][i],
                in_use=columns["in_use"][i],
                last_active=columns["last_active"][i],
                has_factor=columns["has_factor"][i],
                outcome=columns["outcome"][i],
                check_day=columns["check_day"][i],
                dormancy_day=columns["dormancy_day"][i],
                kind="exposed",
            )
            self.judgements[base.day].append(base)
            attempt_on = columns["attempt_on"][i]
            if attempt_on >= 0:
                self.judgements[attempt_on].append(replace(base, day=attempt_on, kind="attempt"))

    def _event(self, day: int, n: int, k: int, kind: str) -> None:
        record: dict[str, Any] = {
            "eventId": f"sim-{n}-{k}-{kind[0]}",
            "phoneNumber": phone_of(n, True),
            "type": kind,
            "effectiveDate": self.day(day).isoformat(),
            "carrier": CARRIER,
        }
        if kind == "ASSIGNED":
            record["holder"] = {"idType": IdType.PASSPORT.value, "idNumber": f"SIM{n:08d}{k:03d}"}
        self.events[day].append(record)

    # replay ---------------------------------------------------------------------------------

    def run(self, progress: Callable[[float, str], None] | None) -> None:
        self._schedule()
        first = min([INITIAL_TENURE_START, *self.events, *self.judgements])
        self.set_today(self.day(first))
        self.registry.add_carrier(
            CARRIER,
            "Simulated carrier",
            tracking_since=self.day(first),
            prefixes=[COVERED_PREFIX],
            now=self.moment(first),
        )
        days = sorted(set(self.events) | set(self.judgements))
        for index, day in enumerate(days):
            self.set_today(self.day(day))
            events = self.events.get(day, [])
            if events:
                self._report(events)
            for judgement in self.judgements.get(day, []):
                self._judge(judgement)
            if progress is not None and index % 50 == 0:
                progress(index / len(days), self.day(day).isoformat())

    def _report(self, events: list[dict[str, Any]]) -> None:
        summary = self.registry.report(events, source="simulation-crosscheck")
        self.events_sent += len(events)
        for record, result in zip(events, summary.results, strict=True):
            if str(result.outcome) == "accepted":
                self.accepted += 1
                if record["type"] == "ASSIGNED" and not record["eventId"].endswith("-0-A"):
                    self.accepted_reissues += 1
            else:
                self.rejected[str(result.reason)] += 1

    def _judge(self, j: _Judgement) -> None:
        covered = bool(self.trace.covered[j.number])
        phone = phone_of(j.number, covered)
        bound_at = self.moment(j.bound)
        if OUTCOMES[j.outcome] is CheckOutcome.UNREACHABLE:
            outcome = CheckOutcome.UNREACHABLE  # the model's outage: the registry is not asked
            self.judged_unreachable += 1
        else:
            answer = self.checks.check(phone, bound_at.date(), client_id=CLIENT_ID).answer
            self.answers[answer.recycled] += 1
            self.expected_answers[Recycled.YES if covered else Recycled.UNKNOWN] += 1
            outcome = CheckOutcome.of(answer.recycled)
        variant = int(j.check_day <= j.day) + 2 * int(j.dormancy_day <= j.day)
        category = CATEGORIES[j.category]
        now = self.moment(j.day)
        attempt = Attempt(
            action=Action.SMS_LOGIN,
            phone=phone,
            bound_at=bound_at,
            category=category,
            now=now,
            last_active_at=now if j.in_use else self.moment(j.last_active),
            factors=(
                frozenset({step_up_factor(self.rules, category)}) if j.has_factor else frozenset()
            ),
        )
        allowed = judge(self.policies[variant], attempt, outcome).decision is Decision.ALLOW
        if j.kind == "exposed":
            self.counts[("stale", j.category)] += 1
            self.counts[("exposed", j.category)] += allowed
        else:
            self.counts[("attempts", j.category)] += 1
            self.counts[("takeovers" if allowed else "blocked", j.category)] += 1
