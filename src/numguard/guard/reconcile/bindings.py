"""Reading a platform's bindings file in blocks, vectorised, with every bad row accounted for.

The file is CSV with a header naming at least ``accountRef, phoneNumber, category, boundAt,
lastActiveAt`` (any order, other columns ignored) and optionally ``factors``:

* ``category``: ``FINANCIAL``, ``SOCIAL``, ``COMMERCE``, ``LIFESTYLE`` or ``OTHER`` (any case);
* ``boundAt`` / ``lastActiveAt``: ``YYYY-MM-DD``, or an ISO date-time whose date part is taken as
  written (give them in the registry's jurisdiction time); ``lastActiveAt`` may be empty (never
  used since binding);
* ``factors``: the account's non-phone factors separated by ``|``, ``;`` or spaces
  (``TOTP|PASSWORD``), possibly empty.

Blocks of whole lines are split with ``bytes.split`` and checked with NumPy: no Python code runs per
row except for rows that are rejected. A block holding a double quote is read with the ``csv``
module instead (quoted fields must not span lines). A row that cannot be used goes to the rejects
with its line number (the header is line 1); blank lines are skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import compress
from typing import BinaryIO, cast

import numpy as np
import numpy.typing as npt

from numguard.domain.guard import Factor
from numguard.errors import InvalidInput
from numguard.guard.reconcile.table import CATEGORIES, FACTORS

REQUIRED_COLUMNS = ("accountRef", "phoneNumber", "category", "boundAt", "lastActiveAt")
"""Columns a bindings file must have."""
OPTIONAL_COLUMNS = ("factors",)
"""Columns a bindings file may have."""
BLOCK_BYTES = 8 << 20
"""Bytes read per block (rounded to whole lines)."""
MAX_HEADER = 64 * 1024
"""A first line longer than this is not a header."""
MAX_PHONE, MAX_CATEGORY, MAX_DATE, MAX_FACTORS = 32, 24, 40, 200
"""Longest values accepted (a longer one is a rejected row)."""

EPOCH = date(1970, 1, 1)
_CATEGORY_INDEX = {c.value: i for i, c in enumerate(CATEGORIES)}
_FACTOR_BIT = {f.value: 1 << i for i, f in enumerate(FACTORS)}
_FACTOR_SPLIT = re.compile(r"[|;\s]+")


class NotABindingsFile(InvalidInput):
    """The file cannot be read as bindings at all (no header, wrong columns, not text)."""

    code = "NOT_A_BINDINGS_FILE"


@dataclass(frozen=True)
class Layout:
    """Where the columns are: indexes into a row of ``width`` cells."""

    width: int
    account: int
    phone: int
    category: int
    bound: int
    last: int
    factors: int | None


@dataclass(frozen=True)
class Reject:
    """One row that cannot be reconciled: its line, what it had, and why."""

    line: int
    account: bytes
    phone: bytes
    code: str
    message: str


@dataclass
class BindingsBlock:
    """The usable rows of one block, as arrays of one length, plus the rejected rows.

    ``accounts`` are ready to write into a CSV row (quoted where needed); ``dates`` are the
    binding dates as ``YYYY-MM-DD`` bytes; ``bound`` and ``last`` are day numbers since
    1970-01-01 (``last`` equals ``bound`` when the account was never used).
    """

    lines: npt.NDArray[np.int64]
    accounts: list[bytes]
    phones: list[bytes]
    dates: list[bytes]
    category: npt.NDArray[np.int8]
    bound: npt.NDArray[np.int64]
    last: npt.NDArray[np.int64]
    factors: npt.NDArray[np.uint8]
    rejects: list[Reject] = field(default_factory=list)
    consumed: int = 0

    def __len__(self) -> int:
        return len(self.lines)


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - EPOCH).days


def read_layout(header: bytes) -> Layout:
    """The layout named by a header line, or :class:`NotABindingsFile`."""
    try:
        text = header.decode("utf-8-sig").strip("\r\n")
    except UnicodeDecodeError:
        raise NotABindingsFile("the file is not UTF-8 text") from None
    names = [c.strip() for c in next(csv.reader([text]), [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise NotABindingsFile(
            "the header must name the columns "
            f"{', '.join(REQUIRED_COLUMNS)} (and may name factors); missing {', '.join(missing)}"
        )
    return Layout(
        width=len(names),
        account=names.index("accountRef"),
        phone=names.index("phoneNumber"),
        category=names.index("category"),
        bound=names.index("boundAt"),
        last=names.index("lastActiveAt"),
        factors=names.index("factors") if "factors" in names else None,
    )


def iter_blocks(
    handle: BinaryIO, as_of: date, *, block_bytes: int = BLOCK_BYTES
) -> Iterator[BindingsBlock]:
    """Read the header, then yield the file's blocks of parsed rows in order."""
    header = handle.readline(MAX_HEADER + 1)
    if not header.strip():
        raise NotABindingsFile("the file is empty: a bindings file starts with a header line")
    if not header.endswith(b"\n") and len(header) > MAX_HEADER:
        raise NotABindingsFile("the first line is too long to be a header")
    layout = read_layout(header)
    today = day_number(as_of)
    line = 2
    rest = b""
    while True:
        chunk = handle.read(block_bytes)
        if not chunk:
            if rest:
                yield parse_block(rest, line, layout, today, consumed=len(rest))
            return
        data = rest + chunk if rest else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        block, rest = data[: cut + 1], data[cut + 1 :]
        yield parse_block(block, line, layout, today, consumed=len(block))
        line += block.count(b"\n")


def parse_block(
    data: bytes, first_line: int, layout: Layout, as_of_day: int, *, consumed: int = 0
) -> BindingsBlock:
    """Parse whole lines numbered from *first_line*; rows bound after *as_of_day* are rejected."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    numbers = np.arange(first_line, first_line + len(lines), dtype=np.int64)
    quoted = b'"' in data
    if quoted:
        cells, fits, blank = _quoted_cells(lines, layout.width)
    else:
        cells, fits, blank = _plain_cells(data, lines, layout.width)
    rejects = [
        Reject(
            int(n), b"", b"", "WRONG_COLUMN_COUNT", f"the row does not have {layout.width} columns"
        )
        for n in numbers[~fits & ~blank].tolist()
    ]
    block = _validate(cells, numbers[fits], layout, as_of_day, rejects, quoted=quoted)
    block.consumed = consumed
    return block


def _plain_cells(
    data: bytes, lines: list[bytes], width: int
) -> tuple[list[bytes], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Cells of the rows with *width* columns, flat; which rows fit; which are blank."""
    raw = np.frombuffer(data, np.uint8)
    n = len(lines)
    ends = np.flatnonzero(raw == 10)[:n].astype(np.int64)
    if len(ends) < n:
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    commas = np.flatnonzero(raw == 44)
    per_line = np.searchsorted(commas, ends) - np.searchsorted(commas, starts)
    blank = ends == starts
    fits = ~blank & (per_line == width - 1)
    good = list(compress(lines, fits.tolist()))
    cells = b",".join(good).split(b",") if good else []
    return cells, fits, blank


def _quoted_cells(
    lines: list[bytes], width: int
) -> tuple[list[bytes], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """As :func:`_plain_cells`, through the csv module (a block with quoted fields)."""
    cells: list[bytes] = []
    fits = np.zeros(len(lines), np.bool_)
    blank = np.zeros(len(lines), np.bool_)
    for i, line in enumerate(lines):
        if not line:
            blank[i] = True
            continue
        row = next(csv.reader([line.decode("utf-8", "replace")]), [])
        if len(row) == width:
            fits[i] = True
            cells.extend(c.encode() for c in row)
    return cells, fits, blank


def _lengths(values: list[bytes]) -> npt.NDArray[np.int64]:
    return np.fromiter(map(len, values), np.int64, len(values))


def _csv_ready(values: list[bytes]) -> list[bytes]:
    """Quote the values a CSV writer would quote (only ever needed after a quoted block)."""
    special = re.compile(rb'[",\r\n]')
    return [b'"' + v.replace(b'"', b'""') + b'"' if special.search(v) else v for v in values]


def parse_days(values: list[bytes]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Day numbers of ``YYYY-MM-DD[Thh:mm...]`` values, and which values are valid."""
    n = len(values)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.bool_)
    lens = _lengths(values)
    text = np.array(values, dtype=f"S{max(1, min(int(lens.max()), MAX_DATE))}")
    b = np.frombuffer(text.astype("S16").tobytes(), np.uint8).reshape(n, 16)
    digit = (b - 48) <= 9
    ok = (lens <= MAX_DATE) & digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
    ok &= (b[:, 4] == 45) & (b[:, 7] == 45)
    timed = (
        (lens >= 16)
        & ((b[:, 10] == ord("T")) | (b[:, 10] == ord(" ")))
        & digit[:, [11, 12, 14, 15]].all(axis=1)
        & (b[:, 13] == ord(":"))
    )
    ok &= (lens == 10) | timed
    d = b.astype(np.int64) - 48
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 5] * 10 + d[:, 6]
    day = d[:, 8] * 10 + d[:, 9]
    ok &= (year >= 1900) & (year <= 2999) & (month >= 1) & (month <= 12) & (day >= 1)
    year, month, day = np.where(ok, year, 1970), np.where(ok, month, 1), np.where(ok, day, 1)
    first = (np.datetime64("1970-01", "M") + ((year - 1970) * 12 + month - 1)).astype(
        "datetime64[D]"
    )
    following = (np.datetime64("1970-01", "M") + ((year - 1970) * 12 + month)).astype(
        "datetime64[D]"
    )
    ok &= day <= (following - first).astype(np.int64)
    days = first.astype(np.int64) + day - 1
    return days, ok


def _codes(values: list[bytes], code_of: Callable[[bytes], int]) -> npt.NDArray[np.int16]:
    """``code_of`` of every value, computed once per distinct value (a set and a dict, in C)."""
    table = {value: code_of(value) for value in set(values)}
    return np.fromiter(map(table.__getitem__, values), np.int16, len(values))


def category_code(value: bytes) -> int:
    """Index into CATEGORIES of a ``category`` value, -1 when it names none."""
    if len(value) > MAX_CATEGORY:
        return -1
    return _CATEGORY_INDEX.get(value.decode("utf-8", "replace").strip().upper(), -1)


def factor_set_mask(value: bytes) -> int:
    """The factor mask of a ``factors`` value, or -1 when it names an unknown factor."""
    if len(value) > MAX_FACTORS:
        return -1
    mask = 0
    for name in _FACTOR_SPLIT.split(value.decode("utf-8", "replace").strip()):
        if not name:
            continue
        bit = _FACTOR_BIT.get(name.upper())
        if bit is None:
            return -1
        mask |= bit
    return mask


_CHECKS = (
    ("MISSING_ACCOUNT_REF", "accountRef is empty"),
    ("INVALID_PHONE_NUMBER", f"phoneNumber is empty, longer than {MAX_PHONE} characters or quoted"),
    ("INVALID_CATEGORY", "category must be one of " + ", ".join(c.value for c in CATEGORIES)),
    ("INVALID_BOUND_AT", "boundAt must be a date, YYYY-MM-DD (or an ISO date-time)"),
    ("BOUND_AT_AFTER_AS_OF", "boundAt is after the reconciliation date"),
    ("INVALID_LAST_ACTIVE_AT", "lastActiveAt must be empty or a date, YYYY-MM-DD"),
    ("INVALID_FACTORS", "factors must name " + ", ".join(f.value for f in Factor)),
)


def _validate(
    cells: list[bytes],
    numbers: npt.NDArray[np.int64],
    layout: Layout,
    as_of_day: int,
    rejects: list[Reject],
    *,
    quoted: bool,
) -> BindingsBlock:
    """Check the cells of fitting rows (numbered *numbers*); only *quoted* blocks can hold
    commas or quotes inside a value."""
    w = layout.width
    n = len(numbers)
    accounts = cells[layout.account :: w]
    phones = cells[layout.phone :: w]
    bound_text = cells[layout.bound :: w]
    last_text = cells[layout.last :: w]
    factor_text = cells[layout.factors :: w] if layout.factors is not None else None
    category = _codes(cells[layout.category :: w], category_code)
    bound, bound_ok = parse_days(bound_text)
    last_lens = _lengths(last_text)
    last, last_ok = parse_days(last_text)
    factors = (
        _codes(factor_text, factor_set_mask) if factor_text is not None else np.zeros(n, np.int16)
    )
    phone_lens = _lengths(phones)
    phone_bad = (phone_lens == 0) | (phone_lens > MAX_PHONE)
    if quoted and n:
        phone_bad |= np.fromiter((b"," in p or b'"' in p for p in phones), np.bool_, n)
    checks = [
        _lengths(accounts) == 0,
        phone_bad,
        category < 0,
        ~bound_ok,
        bound_ok & (bound > as_of_day),
        (last_lens > 0) & ~last_ok,
        factors < 0,
    ]
    failed = np.stack(checks) if n else np.zeros((len(_CHECKS), 0), np.bool_)
    bad: npt.NDArray[np.bool_] = np.asarray(failed.any(axis=0), np.bool_)
    if bad.any():
        first_failure = failed.argmax(axis=0)
        for i in np.flatnonzero(bad).tolist():
            code, message = _CHECKS[int(first_failure[i])]
            rejects.append(Reject(int(numbers[i]), accounts[i], phones[i], code, message))
        rejects.sort(key=lambda r: r.line)
    keep = ~bad
    good = cast("list[bool]", keep.tolist())
    dates: list[bytes] = np.array(bound_text, dtype="S10")[keep].tolist() if n else []
    kept_accounts = list(compress(accounts, good))
    if quoted:
        kept_accounts = _csv_ready(kept_accounts)
    bound_days = bound[keep]
    last_days = np.where(last_lens[keep] > 0, last[keep], bound_days)
    return BindingsBlock(
        lines=numbers[keep],
        accounts=kept_accounts,
        phones=list(compress(phones, good)),
        dates=dates,
        category=category[keep].astype(np.int8),
        bound=bound_days,
        last=last_days,
        factors=factors[keep].astype(np.uint8),
        rejects=rejects,
    )
