"""A deterministic synthetic world of carrier lifecycle events, for demos, tests and benchmarks.

:func:`generate_world` builds a small world in memory: three carriers (中国移动, 中国联通,
中国电信), each number's lifecycle over a tracking window of ``years`` before ``today``, and three
worked examples (a recycled number, a number that was not, a ported one) whose answers are checked
against the domain's own :func:`~numguard.domain.answer.decide`. :func:`iter_events` yields the
same events one at a time without keeping them, for benchmark files of millions of events.

The model, per number:

* one initial ``ASSIGNED``: for most numbers a historic date before ``tracking_since`` (the
  carrier's onboarding snapshot of the current holder), for a few a date inside the window (a
  number handed out for the first time);
* inside the window, while held: cancellation, port (携号转网) and transfer (过户) arrive at a few
  per cent a year each; after a port the new carrier reports the number's events;
* after a cancellation: a restore (same holder back during the freeze), or, once the aging period
  is over, a reissue to a new holder by the carrier whose prefix range holds the number, sometimes
  preceded by ``RELEASED``.

Every number's events are in strictly increasing date order and every sequence is accepted by
:func:`numguard.domain.lifecycle.apply_event` with the default :class:`AgingPolicy`. Holders are
synthetic resident ID numbers (a region code from a short list, a birth date, a sequence number and
a correct ISO 7064 MOD 11-2 check character); they belong to nobody. Only the standard library
and the pure domain are used; the same seed always gives the same events.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from math import log as _log
from typing import NotRequired, TypedDict

from numguard.domain.aging import AgingPolicy
from numguard.domain.answer import NumberFacts, Recycled, decide
from numguard.domain.coverage import CarrierCoverage, CoverageMap
from numguard.domain.identity import IdType, holder_from_id
from numguard.domain.lifecycle import (
    Applied,
    EventType,
    LifecycleEvent,
    NumberState,
    apply_event,
)
from numguard.domain.phone import mask_phone_number
from numguard.services.events import CSV_COLUMNS

# --------------------------------------------------------------------------------------------
# Carriers and records


@dataclass(frozen=True, slots=True)
class DemoCarrier:
    """A carrier of the demo world: code, Chinese name, E.164 prefix ranges, complete-since date."""

    code: str
    name: str
    prefixes: tuple[str, ...]
    tracking_since: date

    def coverage(self) -> CarrierCoverage:
        """The carrier as the domain's coverage record (code, tracking_since, prefixes)."""
        return CarrierCoverage(self.code, self.tracking_since, self.prefixes)


DEMO_TRACKING_SINCE = date(2024, 11, 28)
"""The ``tracking_since`` of :data:`DEMO_CARRIERS`: two years before the sample files' today.

:func:`generate_world` replaces it with ``today - years``.
"""


def _prefixes(*national: int) -> tuple[str, ...]:
    return tuple(f"+86{p}" for p in national)


DEMO_CARRIERS: tuple[DemoCarrier, ...] = (
    DemoCarrier(
        "CMCC",
        "中国移动",
        _prefixes(134, 135, 136, 137, 138, 139, 150, 151, 152, 157, 158, 159, 182, 183, 187, 188),
        DEMO_TRACKING_SINCE,
    ),
    DemoCarrier(
        "CUCC", "中国联通", _prefixes(130, 131, 132, 155, 156, 185, 186), DEMO_TRACKING_SINCE
    ),
    DemoCarrier("CTCC", "中国电信", _prefixes(133, 153, 180, 181, 189), DEMO_TRACKING_SINCE),
)
"""The three carriers of the demo world with the mobile number ranges each of them holds."""


class HolderRecord(TypedDict):
    """The holder part of an event record: document type and raw document number."""

    idType: str
    idNumber: str


class EventRecord(TypedDict):
    """One lifecycle event in the carriers' record format (HTTP API and NDJSON files)."""

    eventId: str
    phoneNumber: str
    type: str
    effectiveDate: str
    carrier: str
    holder: NotRequired[HolderRecord]
    toCarrier: NotRequired[str]


@dataclass(frozen=True, slots=True)
class Example:
    """A worked recycling check on the generated data, with the answer the registry must give."""

    phone_number: str
    specified_date: date
    expected: bool
    story: str


@dataclass(frozen=True, slots=True)
class DemoWorld:
    """A generated world: the carriers, all events in date order, and three worked examples.

    ``events`` is ordered by ``effectiveDate`` then ``eventId``. ``examples`` has the keys
    ``"recycled"``, ``"not_recycled"`` and ``"ported"``.
    """

    carriers: tuple[DemoCarrier, ...]
    events: list[EventRecord]
    examples: dict[str, Example]
    today: date
    tracking_since: date


# --------------------------------------------------------------------------------------------
# Synthetic resident ID numbers

_REGION_CODES = ("110101", "310104", "440305", "330106", "510107", "420111", "610113", "320102")
"""县级 administrative codes the synthetic IDs are drawn from (Beijing, Shanghai, Shenzhen, ...)."""

_CN_RESIDENT = IdType.CN_RESIDENT.value
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a resident ID number's first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _CN_WEIGHTS, strict=True))
    return _CN_CHECK[total % 11]


def _weighted(digits: str, offset: int) -> int:
    return sum(int(d) * w for d, w in zip(digits, _CN_WEIGHTS[offset:], strict=False))


class _IdFactory:
    """Makes synthetic resident IDs fast: each part's weighted digit sum is computed only once.

    The holder is 18 to 75 years old on the day the number is handed over.
    """

    _YOUNGEST = round(18 * 365.25)
    _OLDEST = round(75 * 365.25)

    def __init__(self, rng: random.Random) -> None:
        self._random = rng.random
        self._regions = [(code, _weighted(code, 0)) for code in _REGION_CODES]
        self._sequences = [(f"{s:03d}", _weighted(f"{s:03d}", 14)) for s in range(1, 1000)]
        self._births: dict[int, tuple[str, int]] = {}  # filled as birth dates come up
        self._span = self._OLDEST - self._YOUNGEST

    def _birth(self, ordinal: int) -> tuple[str, int]:
        born = date.fromordinal(ordinal)
        text = f"{born.year:04d}{born.month:02d}{born.day:02d}"
        entry = self._births[ordinal] = (text, _weighted(text, 6))
        return entry

    def __call__(self, on: int) -> str:
        """A resident ID of someone of age on day *on* (a date ordinal)."""
        draw = int(self._random() * (len(self._regions) * 999 * self._span))
        rest, age = divmod(draw, self._span)
        region_index, sequence_index = divmod(rest, 999)
        region, s1 = self._regions[region_index]
        sequence, s2 = self._sequences[sequence_index]
        born = on - self._OLDEST + age
        birth, s3 = self._births.get(born) or self._birth(born)
        return f"{region}{birth}{sequence}{_CN_CHECK[(s1 + s2 + s3) % 11]}"


# --------------------------------------------------------------------------------------------
# The generator

_A, _C, _RS, _T, _P, _RL = range(6)
_TYPE_NAMES = (
    EventType.ASSIGNED.value,
    EventType.CANCELLED.value,
    EventType.RESTORED.value,
    EventType.TRANSFERRED.value,
    EventType.PORTED.value,
    EventType.RELEASED.value,
)

CANCEL_RATE = 0.05
"""Cancellations per held number per year."""
PORT_RATE = 0.02
"""Ports (携号转网) per held number per year."""
TRANSFER_RATE = 0.01
"""Transfers (过户) per held number per year."""
RESTORE_SHARE = 0.10
"""Share of cancellations taken back by the same holder during the freeze."""
RELEASE_SHARE = 0.5
"""Share of reissues that the carrier announces with a ``RELEASED`` event first."""
NEW_IN_WINDOW_SHARE = 0.05
"""Share of numbers handed out for the first time inside the tracking window."""
MEAN_REISSUE_DELAY_DAYS = 60.0
"""Mean days a number rests in the pool after its aging period before it is reissued."""
MEAN_HISTORIC_TENURE_DAYS = 6 * 365.0
"""Mean age of the snapshot tenures at ``tracking_since`` (at most 20 years)."""
MIN_YEARS = 0.5
"""The shortest window: it must hold a freeze and a reissue for the recycled example."""

_SCRIPTED = 3  # numbers 0, 1, 2 follow the recycled, not-recycled and ported stories
_MAX_SNAPSHOT_AGE = 20 * 365  # days


def tracking_window_start(today: date, years: float) -> date:
    """``tracking_since`` of a world that tracks ``years`` years up to ``today``."""
    return today - timedelta(days=round(years * 365.25))


class _World:
    """One world's layout and event stream; everything random is drawn from one seeded stream."""

    def __init__(self, *, seed: int, numbers: int, today: date, years: float) -> None:
        if numbers < 0:
            raise ValueError("numbers must not be negative")
        if years < MIN_YEARS:
            raise ValueError(f"years must be at least {MIN_YEARS} to hold a freeze and a reissue")
        self.numbers = numbers
        self.today = today
        self.tracking_since = tracking_window_start(today, years)
        self.carriers = tuple(replace(c, tracking_since=self.tracking_since) for c in DEMO_CARRIERS)
        self.rng = random.Random(seed)  # noqa: S311  synthetic data, reproducible by design
        self.codes = sorted(c.code for c in self.carriers)  # index order = eventId order
        self.prefixes: list[str] = []
        self.range_holder: list[int] = []
        for carrier in self.carriers:
            for prefix in carrier.prefixes:
                self.prefixes.append(prefix)
                self.range_holder.append(self.codes.index(carrier.code))
        # Number n is prefixes[n % P] followed by a Weyl sequence over 8 digits: unique, no set.
        self.multiplier = self.rng.randrange(10**8) | 1
        if self.multiplier % 5 == 0:
            self.multiplier += 2
        self.offsets = [self.rng.randrange(10**8) for _ in self.prefixes]
        self.aging_days = AgingPolicy().days_for(self.phone(0))

    def phone(self, n: int) -> str:
        """The E.164 number with index *n*."""
        k, p = divmod(n, len(self.prefixes))
        return f"{self.prefixes[p]}{(k * self.multiplier + self.offsets[p]) % 10**8:08d}"

    def events(self) -> Iterator[EventRecord]:
        """Yield every event in (effectiveDate, eventId) order, keeping only per-number state."""
        return iter(_Stream(self))


class _Stream:
    """The event stream of one world: each number's next event, drawn when the last one is out.

    A calendar queue: one bucket a day, each pending event one int ``carrier * numbers + n`` in
    the bucket of its date. A day's bucket is sorted when its turn comes (carrier code order, then
    number) and ids are handed out in that order, so the stream is sorted by (effectiveDate,
    eventId). Every next event falls on a later day, so a bucket is complete when it is reached.
    A number has at most one pending event, its type in ``pending[n]``; a number with nothing due
    by today drops out.
    """

    def __init__(self, world: _World) -> None:
        self.random = world.rng.random
        self.count = world.numbers
        self.today = world.today.toordinal()
        self.start = world.tracking_since.toordinal()
        self.window = self.today - self.start
        self.aging = world.aging_days
        self.codes = world.codes
        self.ncodes = len(world.codes)
        self.range_holder = world.range_holder
        self.n_prefixes = len(world.prefixes)
        self.prefixes, self.offsets = world.prefixes, world.offsets
        self.multiplier = world.multiplier
        self.oldest = self.start - 1 - _MAX_SNAPSHOT_AGE
        self.new_id = _IdFactory(world.rng)
        self.iso = [date.fromordinal(d).isoformat() for d in range(self.oldest, self.today + 1)]
        self.pending = bytearray(self.count)  # 0 is ASSIGNED: every number starts with one
        self.to_carrier: dict[int, int] = {}
        self.reissue_on: dict[int, int] = {}
        self.holder: dict[int, str] = {}
        self.stage = [0] * _SCRIPTED
        self.counters = [0] * self.ncodes
        self.buckets: list[list[int]] = [[] for _ in self.iso]
        for n in range(self.count):
            key = self._range_holder(n) * self.count + n
            self.buckets[self._first_day(n) - self.oldest].append(key)

    def _first_day(self, n: int) -> int:
        """The first ASSIGNED: a snapshot tenure older than the window, or a first issue in it."""
        if n < _SCRIPTED or self.random() >= NEW_IN_WINDOW_SHARE:
            age = _MAX_SNAPSHOT_AGE + 1
            while age > _MAX_SNAPSHOT_AGE:
                age = int(-_log(1.0 - self.random()) * MEAN_HISTORIC_TENURE_DAYS)
            day = self.start - 1 - age
        else:
            day = self.start + int(self.random() * (self.window + 1))
        return day

    def phone(self, n: int) -> str:
        """The E.164 number with index *n* (as :meth:`_World.phone`, without the lookups)."""
        k, p = divmod(n, self.n_prefixes)
        return f"{self.prefixes[p]}{(k * self.multiplier + self.offsets[p]) % 100_000_000:08d}"

    def _range_holder(self, n: int) -> int:
        return self.range_holder[n % self.n_prefixes]

    def _push(self, n: int, day: int, carrier: int, kind: int) -> None:
        self.pending[n] = kind
        self.buckets[day - self.oldest].append(carrier * self.count + n)

    def _port_target(self, n: int, carrier: int) -> None:
        step = 1 + int(self.random() * (self.ncodes - 1))
        self.to_carrier[n] = (carrier + step) % self.ncodes

    def _held(self, n: int, since: int, carrier: int) -> None:
        """Schedule the next event of a held number, or let it rest until today."""
        rate = CANCEL_RATE + PORT_RATE + TRANSFER_RATE
        day = since + 1 + int(-_log(1.0 - self.random()) * (365.25 / rate))
        if day > self.today:
            self.holder.pop(n, None)
            return
        r = self.random() * rate
        if r < CANCEL_RATE:
            self._push(n, day, carrier, _C)
        elif r < CANCEL_RATE + PORT_RATE:
            self._port_target(n, carrier)
            self._push(n, day, carrier, _P)
        else:
            self._push(n, day, carrier, _T)

    def _cancelled(self, n: int, day: int, carrier: int) -> None:
        """Schedule a restore during the freeze, or a (release and) reissue after it."""
        if self.random() < RESTORE_SHARE:
            restore = day + 1 + int(self.random() * (self.aging - 1))
            if restore <= self.today:
                self._push(n, restore, carrier, _RS)
                return
        self.holder.pop(n, None)
        delay = 1 + int(-_log(1.0 - self.random()) * MEAN_REISSUE_DELAY_DAYS)
        self._reissue(n, day, carrier, delay)

    def _reissue(self, n: int, cancelled_on: int, carrier: int, delay: int) -> None:
        """Reissue *delay* days after the aging period, perhaps announced by RELEASED first."""
        reissue = cancelled_on + self.aging + delay
        if self.random() < RELEASE_SHARE:
            release = cancelled_on + self.aging + int(self.random() * delay)
            if release <= self.today:
                self.reissue_on[n] = reissue
                self._push(n, release, carrier, _RL)
        elif reissue <= self.today:
            self._push(n, reissue, self._range_holder(n), _A)

    def _released(self, n: int) -> None:
        reissue = self.reissue_on.pop(n)
        if reissue <= self.today:
            self._push(n, reissue, self._range_holder(n), _A)

    def _scripted(self, n: int, day: int, carrier: int) -> bool:
        """Steer numbers 0, 1 and 2 through their stories; False hands back to the model."""
        step = self.stage[n]
        self.stage[n] += 1
        if n == 0 and step == 0:  # recycled: cancel early enough for a reissue well before today
            self._push(n, self.start + 1 + int(self.random() * (self.window - 180)), carrier, _C)
        elif n == 0 and step == 1:
            self._reissue(n, day, carrier, 1 + int(self.random() * 60))
        elif n == 0 and step == 2 and self.pending[n] == _RL:
            self._released(n)
        elif n == 2 and step == 0:  # ported: one port inside the window, then a quiet life
            self._port_target(n, carrier)
            self._push(n, self.start + 30 + int(self.random() * (self.window - 60)), carrier, _P)
        elif n == 0:
            self.stage[n] = -1  # after the reissue the new holder lives an ordinary life
            return False
        else:
            self.holder.pop(n, None)  # not recycled, or ported: nothing more happens
        return True

    def _emit(self, day: int, key: int) -> EventRecord:
        """Turn a pending event of *day* into its record and schedule the number's next event."""
        carrier, n = divmod(key, self.count)
        kind = self.pending[n]
        self.counters[carrier] += 1
        code = self.codes[carrier]
        record: EventRecord = {
            # CMCC-00000001: lexical order is numeric order up to 10**8 events per carrier
            "eventId": f"{code}-{self.counters[carrier]:08d}",
            "phoneNumber": self.phone(n),
            "type": _TYPE_NAMES[kind],
            "effectiveDate": self.iso[day - self.oldest],
            "carrier": code,
        }
        now = carrier
        if kind in (_A, _T):
            previous = self.holder.get(n)
            person = self.new_id(day)
            while person == previous:
                person = self.new_id(day)
            self.holder[n] = person
            record["holder"] = {"idType": _CN_RESIDENT, "idNumber": person}
        elif kind == _P:
            now = self.to_carrier.pop(n)
            record["toCarrier"] = self.codes[now]
        if n < _SCRIPTED and self.stage[n] >= 0 and self._scripted(n, day, carrier):
            pass
        elif kind == _C:
            self._cancelled(n, day, carrier)
        elif kind == _RL:
            self._released(n)
        else:  # ASSIGNED, TRANSFERRED, PORTED, RESTORED: the number is held from here on
            self._held(n, max(day, self.start - 1), now)
        return record

    def __iter__(self) -> Iterator[EventRecord]:
        emit, buckets = self._emit, self.buckets
        for index, bucket in enumerate(buckets):
            if not bucket:
                continue
            buckets[index] = []  # let the day's keys go once they are out
            bucket.sort()
            day = self.oldest + index
            for key in bucket:
                yield emit(day, key)


def iter_events(
    *, seed: int, numbers: int, today: date, years: float = 2.0
) -> Iterator[EventRecord]:
    """Yield the events of the world :func:`generate_world` builds, one at a time.

    Memory stays proportional to ``numbers`` (a few dozen bytes per number for its next event),
    not to the events, so this is the one to use for benchmark files. Same arguments, same events,
    same order. Raises :class:`ValueError` for a window shorter than :data:`MIN_YEARS`.
    """
    return _World(seed=seed, numbers=numbers, today=today, years=years).events()


def generate_world(*, seed: int, numbers: int, today: date, years: float = 2.0) -> DemoWorld:
    """Build a synthetic world of ``numbers`` numbers tracked for ``years`` up to ``today``.

    The carriers are :data:`DEMO_CARRIERS` with ``tracking_since = today - years``. Raises
    :class:`ValueError` for fewer than three numbers (the examples need three) or a window
    shorter than :data:`MIN_YEARS`.
    """
    if numbers < _SCRIPTED:
        raise ValueError(f"a demo world needs at least {_SCRIPTED} numbers for its examples")
    world = _World(seed=seed, numbers=numbers, today=today, years=years)
    stories = {world.phone(n): n for n in range(_SCRIPTED)}
    story_events: list[list[EventRecord]] = [[] for _ in range(_SCRIPTED)]
    events: list[EventRecord] = []
    for record in world.events():
        events.append(record)
        n = stories.get(record["phoneNumber"])
        if n is not None:
            story_events[n].append(record)
    coverage = CoverageMap(c.coverage() for c in world.carriers)
    examples = {
        "recycled": _recycled_example(story_events[0]),
        "not_recycled": _not_recycled_example(story_events[1], world.tracking_since, today),
        "ported": _ported_example(story_events[2]),
    }
    for (name, example), events_of in zip(examples.items(), story_events, strict=True):
        _check_example(name, example, events_of, coverage, today)
    return DemoWorld(world.carriers, events, examples, today, world.tracking_since)


# --------------------------------------------------------------------------------------------
# Examples


def _day(record: EventRecord) -> date:
    return date.fromisoformat(record["effectiveDate"])


def _recycled_example(events: list[EventRecord]) -> Example:
    first, cancel = events[0], events[1]
    reissue = next(e for e in events[2:] if e["type"] == EventType.ASSIGNED.value)
    released = [e for e in events[2:] if e["type"] == EventType.RELEASED.value]
    on = _day(cancel) - timedelta(days=60)
    release_note = (
        f" ({cancel['carrier']} released it to the pool on {released[0]['effectiveDate']})"
        if released
        else ""
    )
    story = (
        f"{first['phoneNumber']} was held by holder A at {first['carrier']} since "
        f"{first['effectiveDate']}. A cancelled it on {cancel['effectiveDate']}; after the "
        f"90-day freeze{release_note} {reissue['carrier']} reissued it to holder B on "
        f"{reissue['effectiveDate']} (二次放号). An account bound on {on.isoformat()} belongs "
        f"to A, so the number has been recycled since then: true."
    )
    return Example(first["phoneNumber"], on, True, story)


def _not_recycled_example(events: list[EventRecord], since: date, today: date) -> Example:
    (first,) = events
    on = since + timedelta(days=(today - since).days // 2)
    story = (
        f"{first['phoneNumber']} has been held by one holder at {first['carrier']} since "
        f"{first['effectiveDate']}, with no cancellation, transfer or reissue. An account bound "
        f"on {on.isoformat()} still belongs to that holder: false."
    )
    return Example(first["phoneNumber"], on, False, story)


def _ported_example(events: list[EventRecord]) -> Example:
    first, port = events
    on = _day(port) - timedelta(days=30)
    story = (
        f"{first['phoneNumber']} has been held by one holder since {first['effectiveDate']}; "
        f"on {port['effectiveDate']} the holder ported it (携号转网) from {port['carrier']} to "
        f"{port.get('toCarrier')}. A port keeps the tenure, so for an account bound on "
        f"{on.isoformat()} the holder has not changed: false."
    )
    return Example(first["phoneNumber"], on, False, story)


_REPLAY_KEY = b"numguard-demo-world: replay only"  # a fixed key: holders are synthetic


def _replay(events: Iterable[EventRecord], today: date) -> NumberState:
    policy = AgingPolicy()
    state: NumberState | None = None
    for record in events:
        raw = record.get("holder")
        event = LifecycleEvent(
            event_id=record["eventId"],
            phone_number=record["phoneNumber"],
            type=EventType(record["type"]),
            effective_date=_day(record),
            carrier=record["carrier"],
            holder=holder_from_id(_REPLAY_KEY, raw["idType"], raw["idNumber"]) if raw else None,
            to_carrier=record.get("toCarrier"),
        )
        if state is None:
            state = NumberState(event.phone_number)
        outcome = apply_event(state, event, policy=policy, today=today)
        if not isinstance(outcome, Applied):
            raise RuntimeError(f"demo world bug: {record['eventId']} rejected: {outcome.reason}")
        state = outcome.state
    if state is None:
        raise RuntimeError("demo world bug: an example number has no events")
    return state


def _check_example(
    name: str,
    example: Example,
    events: list[EventRecord],
    coverage: CoverageMap,
    today: date,
) -> None:
    """Make sure the registry's answer function gives the answer the example claims."""
    state = _replay(events, today)
    covered, since = coverage.tracking_since(example.phone_number, state.carrier)
    answer = decide(
        NumberFacts.of(state),
        on=example.specified_date,
        today=today,
        covered=covered,
        tracking_since=since,
    )
    if answer.recycled is not (Recycled.YES if example.expected else Recycled.NO):
        masked = mask_phone_number(example.phone_number)
        raise RuntimeError(f"demo world bug: the {name} example {masked} answers {answer}")


# --------------------------------------------------------------------------------------------
# Files


def write_events_csv(events: Iterable[EventRecord], path: str | os.PathLike[str]) -> int:
    """Write *events* as CSV with the :data:`CSV_COLUMNS` header; return how many were written."""
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        row = writer.writerow
        for e in events:
            holder = e.get("holder")
            row(
                (
                    e["eventId"],
                    e["phoneNumber"],
                    e["type"],
                    e["effectiveDate"],
                    e["carrier"],
                    holder["idType"] if holder else "",
                    holder["idNumber"] if holder else "",
                    e.get("toCarrier", ""),
                )
            )
            written += 1
    return written


def write_events_ndjson(events: Iterable[EventRecord], path: str | os.PathLike[str]) -> int:
    """Write *events* as NDJSON, one compact JSON object a line; return how many were written."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        write = out.write
        for e in events:
            write(encode(e) + "\n")
            written += 1
    return written
