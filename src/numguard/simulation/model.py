"""The vectorised population model: numbers, holders, accounts and the measures around them.

Each phone number has one holder at a time. A holder cancels at ``cancel_rate`` a year; the
number rests for the freeze the lifecycle enforces (``AgingPolicy``), then waits in the pool and
is reissued to a new holder, who may cancel in turn. Every holder has accounts bound to the
number on some of the platforms. At cancellation a holder unbinds all, some or none of them
(a reminder moves people from "none" to "some" and "all"); accounts the holder still uses are
moved to the holder's new number after a while; forgotten ones stay. Whatever is still bound at
reissue is a **stale binding**. From then on the new holder may try an SMS-code login on it
(the guard's verdict decides whether that is a **takeover**), and the platform's messages reach
the new holder (**misdelivered**) until the binding goes: moved by its owner, dropped by 焕新,
or the new holder's own tenure ends. Platforms adopt checks, dormancy, notifications and 焕新
gradually (``adoption_ramp_years``).

How it runs. Time is in whole days from ``start_date``. The model goes round by round: round k
holds the numbers whose k-th simulated tenure ends inside the horizon. All scenarios are
evaluated on the *same* random draws (common random numbers), so their differences come from
the measures alone, and a scenario's result does not depend on which other scenarios run with
it. A round draws over the numbers that would reach it under a zero freeze, a superset of those
that reach it under any freeze. Every account is one element of an array: no Python loop runs
per number or per account; the loops go over rounds, platforms and scenarios.

What is left out (see ``docs/simulation.md``): transfers (过户), restores during the freeze,
bindings left by holders before the start, and stale bindings that outlive the next holder's
tenure are not followed, which makes the counts slightly low rather than high.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt

from numguard.simulation.parameters import (
    CALIBRATION_TARGET,
    CATEGORIES,
    Parameters,
    example_number,
)
from numguard.simulation.policy_table import NEVER, UNKNOWN, UNREACHABLE, YES, PolicyTable
from numguard.simulation.scenarios import Scenario

IntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

MONTH_DAYS: Final = 365.25 / 12
INITIAL_TENURE_START: Final = -3650
"""Day the holders at the start took their numbers (ten years before): bounds idle times."""

MONTHLY_SERIES: tuple[str, ...] = (
    "reissued",
    "stale_numbers",
    "exposed",
    "takeovers",
    "misdelivered",
)
"""The per-month series every scenario records."""

Progress = Callable[[float, str], None]
"""Called with the share of the work done (0 to 1) and a short description."""


# --- results --------------------------------------------------------------------------------


def _counts() -> npt.NDArray[np.int64]:
    return np.zeros(len(CATEGORIES), np.int64)


@dataclass
class ScenarioResult:
    """One scenario's counts over the whole horizon, per category where it matters, and per
    month (``monthly[name]`` for each of :data:`MONTHLY_SERIES`)."""

    scenario: Scenario
    freeze_days: int
    months: int
    reissued: int = 0
    stale_numbers: int = 0
    popular_numbers: int = 0
    stale: npt.NDArray[np.int64] = field(default_factory=_counts)
    exposed: npt.NDArray[np.int64] = field(default_factory=_counts)
    attempts: npt.NDArray[np.int64] = field(default_factory=_counts)
    takeovers: npt.NDArray[np.int64] = field(default_factory=_counts)
    blocked: npt.NDArray[np.int64] = field(default_factory=_counts)
    misdelivered: FloatArray = field(default_factory=lambda: np.zeros(len(CATEGORIES)))
    monthly: dict[str, FloatArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in MONTHLY_SERIES:
            self.monthly.setdefault(name, np.zeros(self.months, np.float64))

    @property
    def stale_share(self) -> float:
        """Reissued numbers with at least one stale binding, as a share of reissued numbers."""
        return self.stale_numbers / self.reissued if self.reissued else 0.0

    @property
    def popular_share(self) -> float:
        """The calibration metric: share still bound on one of the six popular platforms."""
        return self.popular_numbers / self.reissued if self.reissued else 0.0

    def per_1000(self, counts: npt.NDArray[np.int64] | FloatArray) -> FloatArray:
        """*counts* per 1,000 reissued numbers."""
        scale = 1000.0 / self.reissued if self.reissued else 0.0
        return np.asarray(counts, np.float64) * scale


@dataclass(frozen=True)
class SimulationResult:
    """Everything a run produced: the parameters, and one result per scenario in run order."""

    params: Parameters
    scenarios: tuple[ScenarioResult, ...]
    months: int

    def __getitem__(self, name: str) -> ScenarioResult:
        for result in self.scenarios:
            if result.scenario.name == name:
                return result
        raise KeyError(name)

    @property
    def calibration(self) -> Calibration | None:
        """The calibration metric of a no-measures scenario (one with the study's 45-day freeze
        when the run has it), or ``None`` when every scenario has a measure."""
        bare = [r for r in self.scenarios if not r.scenario.measures]
        if not bare:
            return None
        comparable = [r for r in bare if r.freeze_days == CALIBRATION_TARGET.freeze_days]
        chosen = (comparable or bare)[0]
        return Calibration(chosen.scenario.name, chosen.freeze_days, chosen.popular_share)


@dataclass(frozen=True, slots=True)
class Calibration:
    """The model's value of the Lee & Narayanan figure, for one scenario without measures."""

    scenario: str
    freeze_days: int
    share: float

    @property
    def comparable(self) -> bool:
        """Whether the freeze is the study's (45 days, US); otherwise it is for information."""
        return self.freeze_days == CALIBRATION_TARGET.freeze_days

    @property
    def within_tolerance(self) -> bool:
        """Whether the share is within the stated tolerance of 171/259."""
        return abs(self.share - CALIBRATION_TARGET.share) <= CALIBRATION_TARGET.tolerance


# --- trace (for the cross-check) ------------------------------------------------------------


@dataclass
class Trace:
    """The detail of one scenario, for replaying through the real registry and guard.

    ``tenures``: per round, ``number``, ``cancel`` and ``reissue`` days (``reissue`` NEVER when
    the number is not reissued inside the horizon). ``accounts``: one entry per stale binding
    with every quantity the verdicts depend on. ``covered`` says which numbers' carrier reports.
    """

    scenario: Scenario
    covered: BoolArray
    tenures: list[dict[str, IntArray]] = field(default_factory=list)
    accounts: list[dict[str, npt.NDArray[np.generic]]] = field(default_factory=list)

    def account_table(self) -> dict[str, npt.NDArray[np.generic]]:
        """All stale bindings, one array per field."""
        if not self.accounts:
            return {}
        return {k: np.concatenate([a[k] for a in self.accounts]) for k in self.accounts[0]}


# --- the engine -----------------------------------------------------------------------------


def adoption_day(
    u: npt.NDArray[np.float32], share: float, ramp_days: float
) -> npt.NDArray[np.int32]:
    """The day an account's platform adopts a measure: the adopting share grows linearly to
    *share* over *ramp_days*; a platform with ``u >= share`` never adopts."""
    if share <= 0:
        return np.full(u.shape, NEVER, np.int32)
    day = np.floor(u.astype(np.float64) * (ramp_days / share)).astype(np.int32)
    adopted: npt.NDArray[np.int32] = np.where(u < share, day, np.int32(NEVER))
    return adopted


def _exp_days(rng: np.random.Generator, n: int, mean: float) -> IntArray:
    draws = rng.standard_exponential(n, dtype=np.float32)
    days: IntArray = np.floor(draws * np.float32(mean)).astype(np.int32)
    return days


def _month(days: IntArray, months: int) -> npt.NDArray[np.intp]:
    return np.minimum((days / MONTH_DAYS).astype(np.intp), months - 1)


@dataclass
class _Round:
    """The numbers of one round and their tenure days, per freeze (index into freezes)."""

    ids: npt.NDArray[np.int64]
    start: list[IntArray]
    cancel: list[IntArray]


@dataclass
class _Timeline:
    """One freeze's days for the ends of a round."""

    reissue: IntArray
    reissued: BoolArray
    next_cancel: IntArray


class _Run:
    def __init__(
        self,
        params: Parameters,
        scenarios: Sequence[Scenario],
        progress: Progress | None,
        trace: str | None,
    ) -> None:
        self.p = params
        self.scenarios = tuple(scenarios)
        self.progress = progress
        self.horizon = params.horizon_days
        self.months = max(1, math.ceil(self.horizon / MONTH_DAYS))
        self.table = PolicyTable.default(example_number(params.region), params.guard_unreachable)
        scenario_freezes = [s.freeze(params) for s in self.scenarios]
        self.freezes = sorted({0, *scenario_freezes})
        self.freeze_index = [self.freezes.index(f) for f in scenario_freezes]
        self.results = [
            ScenarioResult(s, f, self.months)
            for s, f in zip(self.scenarios, scenario_freezes, strict=True)
        ]
        self.daily = [np.zeros(self.horizon + 2, np.float64) for _ in self.scenarios]
        self.ramp_days = params.adoption_ramp_years * 365.25
        covered_rng = np.random.default_rng([params.seed, 0, 0])
        self.covered = covered_rng.random(params.population, np.float32) < np.float32(
            params.registry_coverage
        )
        self.trace_index = next((i for i, s in enumerate(self.scenarios) if s.name == trace), None)
        self.trace: Trace | None = None
        if trace is not None:
            if self.trace_index is None:
                raise ValueError(f"trace scenario {trace!r} is not in the run")
            self.trace = Trace(self.scenarios[self.trace_index], self.covered)

    # rounds ---------------------------------------------------------------------------------

    def run(self) -> SimulationResult:
        p = self.p
        rng = np.random.default_rng([p.seed, 1, 0])
        first = _exp_days(rng, p.population, p.mean_tenure_days)
        ids = np.flatnonzero(first < self.horizon).astype(np.int64)
        cancel = first[ids]
        start = np.full(len(ids), INITIAL_TENURE_START, np.int32)
        current: _Round | None = _Round(
            ids, [start] * len(self.freezes), [cancel] * len(self.freezes)
        )
        del first
        k = 1
        while current is not None and len(current.ids):
            current = self._round(k, current)
            k += 1
        self._report(1.0, "done")
        for result, daily in zip(self.results, self.daily, strict=True):
            per_day = np.cumsum(daily[: self.horizon]) / 365.25
            months = _month(np.arange(self.horizon, dtype=np.int32), self.months)
            result.monthly["misdelivered"] = np.bincount(
                months, weights=per_day, minlength=self.months
            ).astype(np.float64)
        return SimulationResult(p, tuple(self.results), self.months)

    def _report(self, done: float, what: str) -> None:
        if self.progress is not None:
            self.progress(done, what)

    def _round(self, k: int, rnd: _Round) -> _Round | None:
        p = self.p
        n = len(rnd.ids)
        rng = np.random.default_rng([p.seed, k, 0])
        wait = _exp_days(rng, n, p.pool_wait_days)
        tenure = 1 + _exp_days(rng, n, p.mean_tenure_days)
        u_type = rng.random(n, np.float32)
        renewer = rng.random(n, np.float32) < np.float32(p.renewal_uptake)
        renew_delay = _exp_days(rng, n, p.renewal_days)
        lines: list[_Timeline] = []
        for f, freeze in enumerate(self.freezes):
            valid = rnd.cancel[f] < self.horizon
            reissue = rnd.cancel[f] + np.int32(freeze) + wait
            reissued = valid & (reissue < self.horizon)
            lines.append(_Timeline(reissue, reissued, reissue + tenure))
        if self.trace is not None:
            assert self.trace_index is not None  # noqa: S101  set together with trace
            line = lines[self.freeze_index[self.trace_index]]
            valid = rnd.cancel[self.freeze_index[self.trace_index]] < self.horizon
            self.trace.tenures.append(
                {
                    "number": rnd.ids[valid].astype(np.int32),
                    "start": rnd.start[self.freeze_index[self.trace_index]][valid],
                    "cancel": rnd.cancel[self.freeze_index[self.trace_index]][valid],
                    "reissue": np.where(line.reissued, line.reissue, np.int32(NEVER))[valid],
                }
            )
        any_stale = [np.zeros(n, np.bool_) for _ in self.scenarios]
        popular = [np.zeros(n, np.bool_) for _ in self.scenarios]
        ends = _RoundEnds(rnd, lines, u_type, renewer, renew_delay, any_stale, popular)
        platforms = self.p.platforms
        low = 0.0 if k == 1 else 0.85 + 0.15 * (1 - 0.5 ** (k - 2))
        high = 0.85 if k == 1 else 0.85 + 0.15 * (1 - 0.5 ** (k - 1))
        for j, platform in enumerate(platforms):
            self._report(low + (high - low) * j / len(platforms), f"round {k}: {platform.name}")
            self._platform(k, j, ends)
        for s, result in enumerate(self.results):
            line = lines[self.freeze_index[s]]
            result.reissued += int(line.reissued.sum())
            result.stale_numbers += int(any_stale[s].sum())
            result.popular_numbers += int(popular[s].sum())
            monthly = result.monthly
            monthly["reissued"] += np.bincount(
                _month(line.reissue[line.reissued], self.months), minlength=self.months
            )
            monthly["stale_numbers"] += np.bincount(
                _month(line.reissue[any_stale[s]], self.months), minlength=self.months
            )
        base = lines[0]
        nxt = np.flatnonzero(base.reissued & (base.next_cancel < self.horizon))
        if not len(nxt):
            return None
        return _Round(
            rnd.ids[nxt],
            [line.reissue[nxt] for line in lines],
            [line.next_cancel[nxt] for line in lines],
        )

    # accounts -------------------------------------------------------------------------------

    def _platform(self, k: int, j: int, ends: _RoundEnds) -> None:
        p = self.p
        platform = p.platforms[j]
        cat = platform.category
        rng = np.random.default_rng([p.seed, k, j + 1])
        n = len(ends.rnd.ids)
        b = np.flatnonzero(rng.random(n, np.float32) < np.float32(platform.share))
        m = len(b)
        if not m:
            return
        u = {
            name: rng.random(m, np.float32)
            for name in (
                "use",
                "factor",
                "some",
                "check",
                "dormancy",
                "notify",
                "renew",
                "unreachable",
                "attempt",
            )
        }
        migrate = _exp_days(rng, m, p.migrate_days)
        idle = _exp_days(rng, m, p.idle_days)
        attempt_delay = _exp_days(rng, m, p.attempt_days)
        acc = _Accounts(
            in_use=u["use"] < np.float32(p.in_use_share[cat]),
            has_factor=u["factor"] < np.float32(p.factor_share[cat]),
            some_unbinds=u["some"] < np.float32(p.some_unbind_share[cat]),
            check_day=adoption_day(u["check"], p.check_adoption[cat], self.ramp_days),
            dormancy_day=adoption_day(u["dormancy"], p.dormancy_adoption[cat], self.ramp_days),
            notify_day=adoption_day(u["notify"], p.notify_adoption[cat], self.ramp_days),
            renew_day=adoption_day(u["renew"], p.renewal_coverage[cat], self.ramp_days),
            outcome=np.where(
                u["unreachable"] < np.float32(p.registry_unreachable),
                np.int8(UNREACHABLE),
                np.where(self.covered[ends.rnd.ids[b]], np.int8(YES), np.int8(UNKNOWN)),
            ).astype(np.int8),
            attempts=u["attempt"] < np.float32(p.attempt_share[cat]),
            attempt_delay=attempt_delay,
            u_type=ends.u_type[b],
        )
        per_freeze: dict[int, _FreezeView] = {}
        for s, scenario in enumerate(self.scenarios):
            f = self.freeze_index[s]
            view = per_freeze.get(f)
            if view is None:
                view = per_freeze[f] = _FreezeView.of(
                    ends=ends, f=f, b=b, acc=acc, migrate=migrate, idle=idle
                )
            self._scenario(
                s=s,
                scenario=scenario,
                j=j,
                popular=platform.popular,
                b=b,
                ends=ends,
                acc=acc,
                view=view,
            )

    def _scenario(
        self,
        *,
        s: int,
        scenario: Scenario,
        j: int,
        popular: bool,
        b: npt.NDArray[np.intp],
        ends: _RoundEnds,
        acc: _Accounts,
        view: _FreezeView,
    ) -> None:
        c = CATEGORIES.index(self.p.platforms[j].category)
        stale = self._stale(scenario, b, ends, acc, view)
        if stale is None:
            return
        ends.any_stale[s][stale.rows] = True
        if popular:
            ends.popular[s][stale.rows] = True
        result = self.results[s]
        exposed = self._login_allowed(c, stale, stale.reissue, slice(None))
        attempt_on = stale.reissue + acc.attempt_delay[stale.i]
        tried = acc.attempts[stale.i] & (attempt_on < stale.end)
        at = np.flatnonzero(tried)
        success = self._login_allowed(c, stale, attempt_on[at], at)
        result.stale[c] += len(stale.i)
        result.exposed[c] += int(exposed.sum())
        result.attempts[c] += len(at)
        result.takeovers[c] += int(success.sum())
        result.blocked[c] += len(at) - int(success.sum())
        months = self.months
        result.monthly["exposed"] += np.bincount(
            _month(stale.reissue[exposed], months), minlength=months
        )
        result.monthly["takeovers"] += np.bincount(
            _month(attempt_on[at][success], months), minlength=months
        )
        self._messages(s, c, stale)
        if self.trace is not None and s == self.trace_index:
            n = len(stale.i)
            self.trace.accounts.append(
                {
                    "number": ends.rnd.ids[stale.rows].astype(np.int32),
                    "platform": np.full(n, j, np.int16),
                    "category": np.full(n, c, np.int8),
                    "bound": view.start[stale.i],
                    "cancel": view.cancel[stale.i],
                    "reissue": stale.reissue,
                    "end": stale.end,
                    "in_use": stale.in_use,
                    "last_active": stale.last_active,
                    "has_factor": stale.has_factor,
                    "outcome": stale.outcome,
                    "check_day": _or_never(stale.check_day, n),
                    "dormancy_day": _or_never(stale.dormancy_day, n),
                    "exposed": exposed,
                    "attempt_on": np.where(tried, attempt_on, np.int32(-1)),
                    "takeover": _scatter(n, at, success),
                }
            )

    def _stale(
        self,
        scenario: Scenario,
        b: npt.NDArray[np.intp],
        ends: _RoundEnds,
        acc: _Accounts,
        view: _FreezeView,
    ) -> _Stale | None:
        """The accounts still bound at reissue, and until when they stay bound."""
        p = self.p
        share_all = p.unbind_all
        share_some = p.unbind_some
        if scenario.reminder:
            share_all = min(1.0, share_all + p.reminder_lift_all)
            share_some = min(1.0 - share_all, p.unbind_some + p.reminder_lift_some)
        all_cut = np.float32(share_all)
        some_cut = np.float32(share_all + share_some)
        unbound = (acc.u_type < all_cut) | ((acc.u_type < some_cut) & acc.some_unbinds)
        stale_mask = view.kept & ~unbound
        if scenario.notifications:
            stale_mask &= acc.notify_day > view.reissue
        i = np.flatnonzero(stale_mask)
        if not len(i):
            return None
        rows = b[i]
        reissue = view.reissue[i]
        end = np.minimum(view.end[i], np.int32(self.horizon))
        if scenario.renewal:
            renew_on = reissue + ends.renew_delay[rows]
            drops = ends.renewer[rows] & (acc.renew_day[i] <= renew_on) & (renew_on < end)
            end = np.where(drops, renew_on, end)
        return _Stale(
            i=i,
            rows=rows,
            reissue=reissue,
            end=end,
            in_use=acc.in_use[i],
            last_active=view.last_active[i],
            has_factor=acc.has_factor[i],
            outcome=acc.outcome[i],
            check_day=acc.check_day[i] if scenario.checks else None,
            dormancy_day=acc.dormancy_day[i] if scenario.dormancy else None,
        )

    def _login_allowed(
        self, c: int, stale: _Stale, day: IntArray, sel: npt.NDArray[np.intp] | slice
    ) -> BoolArray:
        """Whether the guard lets an SMS-code login in on *day*, for accounts *sel*."""
        variant = np.zeros(len(day), np.int64)
        if stale.check_day is not None:
            variant += stale.check_day[sel] <= day
        if stale.dormancy_day is not None:
            variant += 2 * (stale.dormancy_day[sel] <= day)
        dormant = ~stale.in_use[sel] & (day - stale.last_active[sel] > self.table.dormant_days[c])
        index = variant * 16 + stale.outcome[sel] * 4 + dormant * 2 + stale.has_factor[sel]
        allowed: BoolArray = self.table.login_allowed(c)[index]
        return allowed

    def _messages(self, s: int, c: int, stale: _Stale) -> None:
        """Expected misdelivered messages: sent at ``message_rate`` while the binding stays;
        once the platform checks, only when the guard allows the message."""
        p = self.p
        rate = p.message_rate[CATEGORIES[c]]
        if stale.check_day is not None:
            sent = self.table.message_allowed(1, c).astype(np.float64)
            unreachable = p.registry_unreachable
            answered = np.where(stale.outcome == UNREACHABLE, YES, stale.outcome)
            p_sent: FloatArray = (1 - unreachable) * sent[answered] + unreachable * sent[
                UNREACHABLE
            ]
            split = np.clip(stale.check_day, stale.reissue, stale.end)
        else:
            p_sent = np.ones(len(stale.i), np.float64)
            split = stale.end
        self.results[s].misdelivered[c] += (
            rate / 365.25 * (np.sum(split - stale.reissue) + np.dot(stale.end - split, p_sent))
        )
        daily = self.daily[s]
        daily += np.bincount(stale.reissue, minlength=len(daily)) * rate
        daily -= np.bincount(split, weights=(1 - p_sent) * rate, minlength=len(daily))
        daily -= np.bincount(stale.end, weights=p_sent * rate, minlength=len(daily))


@dataclass
class _Stale:
    """The stale bindings of one platform in one scenario (indexes ``i`` into its accounts,
    ``rows`` into the round's ends)."""

    i: npt.NDArray[np.intp]
    rows: npt.NDArray[np.intp]
    reissue: IntArray
    end: IntArray
    in_use: BoolArray
    last_active: IntArray
    has_factor: BoolArray
    outcome: npt.NDArray[np.int8]
    check_day: IntArray | None
    dormancy_day: IntArray | None


def _or_never(days: IntArray | None, n: int) -> IntArray:
    return days if days is not None else np.full(n, NEVER, np.int32)


def _scatter(n: int, at: npt.NDArray[np.intp], values: BoolArray) -> BoolArray:
    out = np.zeros(n, np.bool_)
    out[at] = values
    return out


@dataclass
class _RoundEnds:
    """Per-end draws of one round, shared by its platforms, and the per-scenario flags."""

    rnd: _Round
    lines: list[_Timeline]
    u_type: npt.NDArray[np.float32]
    renewer: BoolArray
    renew_delay: IntArray
    any_stale: list[BoolArray]
    popular: list[BoolArray]


@dataclass
class _Accounts:
    """Per-account draws of one platform in one round (scenario-independent)."""

    in_use: BoolArray
    has_factor: BoolArray
    some_unbinds: BoolArray
    check_day: IntArray
    dormancy_day: IntArray
    notify_day: IntArray
    renew_day: IntArray
    outcome: npt.NDArray[np.int8]
    attempts: BoolArray
    attempt_delay: IntArray
    u_type: npt.NDArray[np.float32]


@dataclass
class _FreezeView:
    """One platform's accounts seen under one freeze."""

    start: IntArray
    cancel: IntArray
    reissue: IntArray
    last_active: IntArray
    kept: BoolArray
    end: IntArray

    @classmethod
    def of(
        cls,
        *,
        ends: _RoundEnds,
        f: int,
        b: npt.NDArray[np.intp],
        acc: _Accounts,
        migrate: IntArray,
        idle: IntArray,
    ) -> _FreezeView:
        line = ends.lines[f]
        start = ends.rnd.start[f][b]
        cancel = ends.rnd.cancel[f][b]
        reissue = line.reissue[b]
        migrate_on = np.where(acc.in_use, cancel + migrate, np.int32(NEVER))
        return cls(
            start=start,
            cancel=cancel,
            reissue=reissue,
            last_active=np.maximum(cancel - idle, start),
            kept=line.reissued[b] & (migrate_on > reissue),
            end=np.minimum(migrate_on, line.next_cancel[b]),
        )


def simulate(
    params: Parameters,
    scenarios: Sequence[Scenario],
    *,
    progress: Progress | None = None,
) -> SimulationResult:
    """Run every scenario on the same population; same parameters, same result."""
    return _Run(params, scenarios, progress, None).run()


def simulate_traced(
    params: Parameters, scenarios: Sequence[Scenario], trace: str
) -> tuple[SimulationResult, Trace]:
    """As :func:`simulate`, keeping the detail of scenario *trace* (small populations only)."""
    run = _Run(params, scenarios, None, trace)
    result = run.run()
    assert run.trace is not None  # noqa: S101  asked for above
    return result, run.trace


CATEGORY_NAMES: tuple[str, ...] = tuple(str(c) for c in CATEGORIES)
"""Category names in array order."""

SERIES_TITLES = MappingProxyType(
    {
        "reissued": "numbers reissued",
        "stale_numbers": "reissued numbers with a stale binding",
        "exposed": "exposed accounts (at reissue)",
        "takeovers": "successful takeovers",
        "misdelivered": "misdelivered messages",
    }
)
"""Titles of :data:`MONTHLY_SERIES` for charts and files."""
