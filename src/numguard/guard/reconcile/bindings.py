"""Reading a platform's bindings file in blocks, vectorised, with every bad row accounted for.

The file is CSV with a header naming at least ``accountRef, phoneNumber, category, boundAt,
lastActiveAt`` (any order, other columns ignored) and optionally ``factors``:

* ``category``: ``FINANCIAL``, ``SOCIAL``, ``COMMERCE``, ``LIFESTYLE`` or ``OTHER`` (any case);
* ``boundAt`` / ``lastActiveAt``: ``YYYY-MM-DD``, or an ISO date-time whose date part is taken as
  written (give them in the registry's jurisdiction time); ``lastActiveAt`` may be empty (never
  used since binding);
* ``factors``: the account's non-phone factors separated by ``|``, ``;`` or spaces
  (``TOTP|PASSWORD``), possibly empty.

A block of whole lines stays one ``bytes`` object: NumPy finds the separators, every field is an
(offset, length) pair into the block, and the fields the decision needs are gathered into
fixed-width arrays. No Python object is made per row or per field (except for rows that are
rejected), so memory stays flat however long the file. A block holding a double quote is read
with the ``csv`` module instead and re-laid out the same way (quoted fields must not span lines).
A row that cannot be used goes to the rejects with its line number (the header is line 1); blank
lines are skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from numguard.domain.guard import Factor
from numguard.errors import InvalidInput
from numguard.guard.reconcile.table import CATEGORIES, FACTORS

REQUIRED_COLUMNS = ("accountRef", "phoneNumber", "category", "boundAt", "lastActiveAt")
"""Columns a bindings file must have."""
OPTIONAL_COLUMNS = ("factors",)
"""Columns a bindings file may have."""
BLOCK_BYTES = 4 << 20
"""Bytes read per block (rounded to whole lines): about 60,000 bindings."""
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

    ``source`` holds the block's bytes; a row's account reference and phone number are the slices
    ``source[start : start + length]`` (the account CSV-ready, quoted where needed) and its
    binding date the ten bytes at ``date_start``. ``bound`` and ``last`` are day numbers since
    1970-01-01 (``last`` equals ``bound`` when the account was never used).
    """

    source: npt.NDArray[np.uint8]
    lines: npt.NDArray[np.int64]
    account_start: npt.NDArray[np.int64]
    account_length: npt.NDArray[np.int64]
    phone_start: npt.NDArray[np.int64]
    phone_length: npt.NDArray[np.int64]
    date_start: npt.NDArray[np.int64]
    category: npt.NDArray[np.int8]
    bound: npt.NDArray[np.int64]
    last: npt.NDArray[np.int64]
    factors: npt.NDArray[np.uint8]
    rejects: list[Reject] = field(default_factory=list)
    consumed: int = 0

    def __len__(self) -> int:
        return len(self.lines)

    def _slices(self, start: npt.NDArray[np.int64], length: npt.NDArray[np.int64]) -> list[bytes]:
        data = self.source.tobytes()
        return [data[a : a + n] for a, n in zip(start.tolist(), length.tolist(), strict=True)]

    @property
    def accounts(self) -> list[bytes]:
        """The account references (a list: for tests and small blocks)."""
        return self._slices(self.account_start, self.account_length)

    @property
    def phones(self) -> list[bytes]:
        """The phone numbers as written (a list: for tests and small blocks)."""
        return self._slices(self.phone_start, self.phone_length)

    def row(self, i: int) -> tuple[bytes, bytes]:
        """``(account, phone)`` of row *i*."""
        a, p = int(self.account_start[i]), int(self.phone_start[i])
        return (
            self.source[a : a + int(self.account_length[i])].tobytes(),
            self.source[p : p + int(self.phone_length[i])].tobytes(),
        )

    def take(self, keep: npt.NDArray[np.bool_]) -> BindingsBlock:
        """The rows where *keep* is true (the rejects stay with the block)."""
        return BindingsBlock(
            self.source,
            self.lines[keep],
            self.account_start[keep],
            self.account_length[keep],
            self.phone_start[keep],
            self.phone_length[keep],
            self.date_start[keep],
            self.category[keep],
            self.bound[keep],
            self.last[keep],
            self.factors[keep],
            self.rejects,
            self.consumed,
        )

    def check_pairs(self) -> bytes:
        """``phone,date`` lines for the registry's bulk check, in row order (no header)."""
        n = len(self)
        if n == 0:
            return b""
        tail = len(self.source)
        source = np.concatenate([self.source, np.frombuffer(b",\n", np.uint8)])
        starts = np.stack(
            [self.phone_start, np.full(n, tail), self.date_start, np.full(n, tail + 1)], axis=1
        )
        lengths = np.stack(
            [self.phone_length, np.ones(n, np.int64), np.full(n, 10), np.ones(n, np.int64)], axis=1
        )
        return gather(source, starts, lengths)


GATHER_ROWS = 32_768
"""Rows gathered at once (bounds the index arrays of :func:`gather`)."""


def gather(
    source: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> bytes:
    """Concatenate the slices ``source[starts[r, k] : starts[r, k] + lengths[r, k]]``, row-major."""
    pieces: list[bytes] = []
    for first in range(0, len(starts), GATHER_ROWS):
        start = starts[first : first + GATHER_ROWS].ravel()
        length = lengths[first : first + GATHER_ROWS].ravel()
        total = int(length.sum())
        placed = np.cumsum(length) - length
        index = np.repeat(start - placed, length) + np.arange(total)
        pieces.append(source[index].tobytes())
    return b"".join(pieces)


def padded(
    source: npt.NDArray[np.uint8],
    start: npt.NDArray[np.int64],
    length: npt.NDArray[np.int64],
    width: int,
) -> npt.NDArray[np.bytes_]:
    """The slices as a fixed-width ``S{width}`` array (longer ones cut, shorter ones NUL-padded)."""
    n = len(start)
    width = max(width, 1)
    if n == 0:
        return np.zeros(0, f"S{width}")
    columns = np.arange(width, dtype=np.int32)
    inside = columns < np.minimum(length, width).astype(np.int32)[:, None]
    index = np.minimum(start.astype(np.int32)[:, None] + columns, len(source) - 1)
    cells = source[index]
    cells[~inside] = 0
    out: npt.NDArray[np.bytes_] = cells.view(f"S{width}").ravel()
    return out


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
    if data.endswith(b"\n"):
        data = data[:-1]
    total = data.count(b"\n") + 1 if data else 0
    numbers = np.arange(first_line, first_line + total, dtype=np.int64)
    if b'"' in data:
        data, fits, blank = _relaid(data, layout)
        source = np.frombuffer(data, np.uint8)
        _, bounds = _fields(source, US, layout.width)
    else:
        source = np.frombuffer(data, np.uint8)
        fits_blank, bounds = _fields(source, COMMA, layout.width)
        fits, blank = fits_blank
    rejects = [
        Reject(
            int(n), b"", b"", "WRONG_COLUMN_COUNT", f"the row does not have {layout.width} columns"
        )
        for n in numbers[~fits & ~blank].tolist()
    ]
    block = _validate(source, bounds, numbers[fits], layout, as_of_day=as_of_day, rejects=rejects)
    block.consumed = consumed
    return block


COMMA, US = 0x2C, 0x1F
"""Field separators: a comma, and the unit separator of re-laid-out quoted blocks."""

_Bounds = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


def _fields(
    source: npt.NDArray[np.uint8], separator: int, width: int
) -> tuple[tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]], _Bounds]:
    """Which lines fit (*width* fields) and which are blank; field (starts, ends) of fitting ones.

    The starts and ends are ``(rows, width)`` arrays of offsets into *source*.
    """
    newlines = np.flatnonzero(source == 10)
    ends = np.append(newlines, len(source)) if len(source) else np.zeros(0, np.int64)
    starts = np.concatenate(([0], newlines + 1)) if len(source) else np.zeros(0, np.int64)
    separators = np.flatnonzero(source == separator)
    first = np.searchsorted(separators, starts)
    count = np.searchsorted(separators, ends) - first
    blank = ends == starts
    fits = ~blank & (count == width - 1)
    inner = separators[first[fits][:, None] + np.arange(width - 1)]
    field_starts = np.concatenate([starts[fits][:, None], inner + 1], axis=1).astype(np.int64)
    field_ends = np.concatenate([inner, ends[fits][:, None]], axis=1).astype(np.int64)
    return (fits, blank), (field_starts, field_ends)


def _relaid(
    data: bytes, layout: Layout
) -> tuple[bytes, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """A quoted block read with the csv module and laid out again with unit separators.

    Returns the new bytes (fitting rows only, one per line) and, per original line, whether it
    fits and whether it is blank. Account references are kept CSV-quoted where needed; a phone
    number holding a comma or a quote is emptied (and so rejected).
    """
    lines = data.split(b"\n") if data else []
    fits = np.zeros(len(lines), np.bool_)
    blank = np.zeros(len(lines), np.bool_)
    out: list[bytes] = []
    for i, line in enumerate(lines):
        if not line:
            blank[i] = True
            continue
        row = [c.replace("\x1f", " ") for c in next(csv.reader([line.decode("utf-8", "replace")]))]
        if len(row) != layout.width:
            continue
        fits[i] = True
        account, phone = row[layout.account], row[layout.phone]
        if any(c in account for c in ',"\r'):
            row[layout.account] = '"' + account.replace('"', '""') + '"'
        if "," in phone or '"' in phone:
            row[layout.phone] = ""
        out.append("\x1f".join(row).encode())
    return b"\n".join(out), fits, blank


def parse_days(values: list[bytes]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Day numbers of ``YYYY-MM-DD[Thh:mm...]`` values, and which values are valid."""
    lengths = np.fromiter(map(len, values), np.int64, len(values))
    starts = np.cumsum(lengths) - lengths
    return days_at(np.frombuffer(b"".join(values) or b"\0", np.uint8), starts, lengths)


def days_at(
    source: npt.NDArray[np.uint8], start: npt.NDArray[np.int64], length: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """As :func:`parse_days`, for the slices of *source*."""
    n = len(start)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.bool_)
    b = padded(source, start, length, 16).view(np.uint8).reshape(n, 16)
    digit = (b - 48) <= 9
    ok = (length <= MAX_DATE) & digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
    ok &= (b[:, 4] == 45) & (b[:, 7] == 45)
    timed = (
        (length >= 16)
        & ((b[:, 10] == ord("T")) | (b[:, 10] == ord(" ")))
        & digit[:, [11, 12, 14, 15]].all(axis=1)
        & (b[:, 13] == ord(":"))
    )
    ok &= (length == 10) | timed
    d = b[:, :10].astype(np.int64) - 48
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 5] * 10 + d[:, 6]
    day = d[:, 8] * 10 + d[:, 9]
    ok &= (year >= 1900) & (year <= 2999) & (month >= 1) & (month <= 12) & (day >= 1)
    year, month, day = np.where(ok, year, 1970), np.where(ok, month, 1), np.where(ok, day, 1)
    months = (year - 1970) * 12 + month - 1
    first = (np.datetime64("1970-01", "M") + months).astype("datetime64[D]")
    following = (np.datetime64("1970-01", "M") + months + 1).astype("datetime64[D]")
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
    source: npt.NDArray[np.uint8],
    bounds: _Bounds,
    numbers: npt.NDArray[np.int64],
    layout: Layout,
    *,
    as_of_day: int,
    rejects: list[Reject],
) -> BindingsBlock:
    """Check the fields of the fitting rows (numbered *numbers*)."""
    starts, ends = bounds
    n = len(numbers)

    def column(index: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        return starts[:, index], ends[:, index] - starts[:, index]

    account_start, account_length = column(layout.account)
    phone_start, phone_length = column(layout.phone)
    bound_start, bound_length = column(layout.bound)
    last_start, last_length = column(layout.last)
    category_start, category_length = column(layout.category)
    category = _codes(
        padded(source, category_start, category_length, MAX_CATEGORY + 1).tolist(), category_code
    )
    bound, bound_ok = days_at(source, bound_start, bound_length)
    last, last_ok = days_at(source, last_start, last_length)
    if layout.factors is not None and n:
        factor_start, factor_length = column(layout.factors)
        width = min(int(factor_length.max()), MAX_FACTORS) + 1
        factors = _codes(
            padded(source, factor_start, factor_length, width).tolist(), factor_set_mask
        )
    else:
        factors = np.zeros(n, np.int16)
    failed = np.stack(
        [
            account_length == 0,
            (phone_length == 0) | (phone_length > MAX_PHONE),
            category < 0,
            ~bound_ok,
            bound_ok & (bound > as_of_day),
            (last_length > 0) & ~last_ok,
            factors < 0,
        ]
    ).reshape(len(_CHECKS), n)
    bad: npt.NDArray[np.bool_] = np.asarray(failed.any(axis=0), np.bool_)
    if bad.any():
        first_failure = failed.argmax(axis=0)
        data = source.tobytes()
        for i in np.flatnonzero(bad).tolist():
            code, message = _CHECKS[int(first_failure[i])]
            a, p = int(account_start[i]), int(phone_start[i])
            account = data[a : a + int(account_length[i])]
            phone = data[p : p + int(phone_length[i])]
            rejects.append(Reject(int(numbers[i]), account, phone, code, message))
        rejects.sort(key=lambda r: r.line)
    keep = ~bad
    return BindingsBlock(
        source=source,
        lines=numbers[keep],
        account_start=account_start[keep],
        account_length=account_length[keep],
        phone_start=phone_start[keep],
        phone_length=phone_length[keep],
        date_start=bound_start[keep],
        category=category[keep].astype(np.int8),
        bound=bound[keep],
        last=np.where(last_length[keep] > 0, last[keep], bound[keep]),
        factors=factors[keep].astype(np.uint8),
        rejects=rejects,
    )
