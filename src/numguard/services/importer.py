"""Importing an events file of any size: ``numguard import FILE``.

The file is CSV (header exactly :data:`~numguard.services.events.CSV_COLUMNS`) or NDJSON (one
event record a line, holder nested), told apart by the extension (``.csv``, ``.ndjson``,
``.jsonl``) or else by the first non-blank character. One record per line; the line number
(1-based, counting the header and blank lines) is the record's index everywhere.

The work, in three steps that keep memory bounded whatever the file size:

1. **parse**: every line is validated with :func:`~numguard.services.events.parse_record`, which
   replaces the raw ID number by its keyed hash at once. Bad lines go to the reject file. The
   good ones collect in sorted in-memory runs that are spilled to temporary files (tuples
   of the parsed event in :mod:`marshal` form: holder hashes and masked form only; no raw ID
   ever reaches the disk). Big files are parsed by worker processes, one run buffer each.
2. **merge**: the runs are merged (``heapq.merge``) into one stream ordered by
   (phone number, effective date, line), so each number's events arrive together, oldest first.
3. **apply**: the stream goes through a :class:`~numguard.services.registry.BatchPipeline` in
   large chunks (one transaction each; a number's events never straddle two chunks): each
   chunk's lookups and lifecycle are computed while the previous chunk is written, with the
   outcome :meth:`RegistryService.apply` would give. Lifecycle rejections go to the reject
   file too.

Importing the same file again changes nothing: every event is then a duplicate.
"""

from __future__ import annotations

import csv
import gc
import heapq
import io
import marshal
import multiprocessing
import os
import queue
import re
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import orjson

from numguard.domain.identity import HolderRef, IdType, holder_from_id
from numguard.domain.lifecycle import EventType, LifecycleEvent
from numguard.domain.phone import is_fast_valid_e164
from numguard.errors import InvalidInput, NumguardError
from numguard.services.events import (
    CSV_COLUMNS,
    EventResult,
    Outcome,
    ParsedEvent,
    fingerprint_of,
    parse_record,
)
from numguard.services.registry import EventKey, RegistryService

FileFormat = Literal["csv", "ndjson"]
"""The two file formats."""

ProgressCallback = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: phase ``"read"`` counts bytes of the file, ``"apply"``
counts the well-formed rows applied so far out of all of them."""

REJECT_HEADER = ("line", "eventId", "reason", "message")
"""The header of a reject file."""

DEFAULT_CHUNK = 50_000
"""Events per apply transaction (20k-100k all do well; fewer commits, bigger joins)."""

DEFAULT_RUN = 500_000
"""Parsed events held in memory before a sorted run is spilled (about 750 bytes each)."""

PARALLEL_FROM_BYTES = 8 * 1024 * 1024
"""Files at least this big are parsed by worker processes (when there is more than one CPU)."""

_TAPER = 8
"""The first and the last chunks of an import are this much smaller than the others."""
_BLOCK_BYTES = 2 * 1024 * 1024
_SPILL_BATCH = 10_000
_EXTENSIONS: dict[str, FileFormat] = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: rows read, and how many were accepted, duplicates or rejected."""

    path: Path
    format: FileFormat
    rows: int
    accepted: int
    duplicates: int
    rejected: int
    seconds: float
    reject_file: Path | None

    @property
    def rows_per_second(self) -> float:
        """Throughput of the whole import, parse to commit."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------------------------
# Parsed events as plain tuples: cheap to marshal, sorted by their first three fields.

EventTuple = tuple[str, int, int, str, str, str, tuple[str, str, str, str] | None, str | None, str]
"""(phone, effective date ordinal, line, event id, type, carrier, holder, to carrier, fingerprint);
the holder is (id type, id hash, suffix hash, masked) and never the raw ID number."""

_EVENT_TYPES = {t.value: t for t in EventType}
_ID_TYPES = {t.value: t for t in IdType}


def to_tuple(parsed: ParsedEvent) -> EventTuple:
    """The compact, sortable form of a parsed event (what the temporary files hold)."""
    e, h = parsed.event, parsed.event.holder
    return (
        e.phone_number,
        e.effective_date.toordinal(),
        parsed.index,
        e.event_id,
        str(e.type),  # StrEnum: str() is the value, and cheaper than .value
        e.carrier,
        (str(h.id_type), h.id_hash, h.suffix_hash, h.masked) if h is not None else None,
        e.to_carrier,
        parsed.fingerprint,
    )


def from_tuple(item: EventTuple) -> ParsedEvent:
    """Inverse of :func:`to_tuple`."""
    phone, day, line, event_id, kind, carrier, holder, to_carrier, fingerprint = item
    ref = (
        HolderRef(_ID_TYPES[holder[0]], holder[1], holder[2], holder[3])
        if holder is not None
        else None
    )
    event = LifecycleEvent(
        event_id, phone, _EVENT_TYPES[kind], date.fromordinal(day), carrier, ref, to_carrier
    )
    return ParsedEvent(line, event, fingerprint)


# --------------------------------------------------------------------------------------------
# Reading lines


def detect_format(path: Path) -> FileFormat:
    """CSV or NDJSON, by extension, else by the first non-blank character (``{``: NDJSON)."""
    by_name = _EXTENSIONS.get(path.suffix.lower())
    if by_name is not None:
        return by_name
    with path.open("rb") as handle:
        while block := handle.read(65_536):
            text = block.lstrip(b"\xef\xbb\xbf \t\r\n")
            if text:
                return "ndjson" if text[:1] == b"{" else "csv"
    return "csv"


def check_csv_header(line: str) -> None:
    """Raise :class:`InvalidInput` unless *line* is exactly the events CSV header."""
    fields = [f.strip() for f in line.lstrip("\ufeff").rstrip("\r\n").split(",")]
    if tuple(fields) != CSV_COLUMNS:
        raise InvalidInput(
            f"the CSV header must be exactly {','.join(CSV_COLUMNS)} (found {line.strip()[:120]!r})"
        )


RejectRow = tuple[int, str, str, str]
"""One row of the reject file: line, event id (may be empty), reason code, message."""


_ID_CHARS = r"[\x21\x23-\x2b\x2d-\x7e]"
"""Printable ASCII but the quote and the comma: an event id that needs no CSV quoting."""
_CODE = r"[A-Z0-9][A-Z0-9_-]{1,31}"
_CLEAN_CSV_LINE = re.compile(
    f"({_ID_CHARS}{{1,128}}),(\\+[1-9][0-9]{{4,14}}),"
    f"({'|'.join(t.value for t in EventType)}),([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}),({_CODE}),"
    f"((?:{'|'.join(t.value for t in IdType)})?),([0-9A-Z]*),((?:{_CODE})?)\\r?"
)
"""A CSV line already in canonical form: no quotes or blanks, upper case, E.164 number, ISO
date. Such a line is read by :meth:`_BlockParser.clean_line` without building a record; any
other line (and a clean one the fast checks cannot vouch for) goes through
:func:`~numguard.services.events.parse_record`, which gives the same result the long way and
the reason when it is refused."""
_NEEDS_HOLDER = frozenset({EventType.ASSIGNED.value, EventType.TRANSFERRED.value})


class _BlockParser:
    """Turns blocks of lines into sorted-ready tuples and reject rows."""

    def __init__(self, fmt: FileFormat, holder_key: bytes, default_region: str) -> None:
        self.fmt = fmt
        self.holder_key = holder_key
        self.default_region = default_region
        self._ordinals: dict[str, int] = {}

    def clean_line(self, fields: tuple[str, ...], line: int) -> EventTuple | None:
        """The event of a line that matched :data:`_CLEAN_CSV_LINE`, or None to read it with
        :func:`parse_record` (an invalid number, date or ID, or a missing holder)."""
        event_id, phone, kind, day, carrier, id_type, id_number, to_carrier = fields
        if not is_fast_valid_e164(phone):
            return None
        ordinal = self._ordinals.get(day)
        if ordinal is None:
            try:
                ordinal = date.fromisoformat(day).toordinal()
            except ValueError:
                return None
            self._ordinals[day] = ordinal
        holder: tuple[str, str, str, str] | None = None
        holder_hash = ""
        if id_number:
            try:
                ref = holder_from_id(self.holder_key, id_type or "CN_RESIDENT", id_number)
            except NumguardError:
                return None
            holder_hash = ref.id_hash
            holder = (str(ref.id_type), holder_hash, ref.suffix_hash, ref.masked)
        elif kind in _NEEDS_HOLDER:
            return None
        fp = fingerprint_of(kind, phone, day, holder_hash, to_carrier)
        return (phone, ordinal, line, event_id, kind, carrier, holder, to_carrier or None, fp)

    def parse(self, block: bytes, first_line: int) -> tuple[list[EventTuple], list[RejectRow], int]:
        """Parse the lines of *block* (numbered from *first_line*): events, rejects, row count."""
        events: list[EventTuple] = []
        rejects: list[RejectRow] = []
        rows = 0
        key, region = self.holder_key, self.default_region
        csv_format = self.fmt == "csv"
        record_of = self._csv_record if csv_format else self._json_record
        clean = _CLEAN_CSV_LINE.fullmatch
        text = block.decode("utf-8", errors="replace")
        for offset, line in enumerate(text.split("\n")):
            if csv_format and (match := clean(line)) is not None:
                fast = self.clean_line(match.groups(), first_line + offset)
                if fast is not None:
                    rows += 1
                    events.append(fast)
                    continue
            if not line.strip():
                continue
            rows += 1
            number = first_line + offset
            record = record_of(line)
            if isinstance(record, tuple):
                rejects.append((number, "", record[0], record[1]))
                continue
            item = parse_record(number, record, holder_key=key, default_region=region)
            if isinstance(item, ParsedEvent):
                events.append(to_tuple(item))
            else:
                rejects.append((number, item.event_id or "", item.reason or "", item.message or ""))
        return events, rejects, rows

    @staticmethod
    def _csv_record(line: str) -> dict[str, Any] | tuple[str, str]:
        line = line.rstrip("\r")
        if '"' in line:
            try:
                fields = next(csv.reader([line], strict=True))
            except (csv.Error, StopIteration):
                return ("INVALID_ROW", "the line is not a well-formed CSV record")
        else:
            fields = line.split(",")
        if len(fields) != len(CSV_COLUMNS):
            return ("INVALID_ROW", f"expected {len(CSV_COLUMNS)} columns, found {len(fields)}")
        return dict(zip(CSV_COLUMNS, fields, strict=True))

    @staticmethod
    def _json_record(line: str) -> dict[str, Any] | tuple[str, str]:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return ("INVALID_JSON", "the line is not a JSON object")
        if not isinstance(value, dict):
            return ("INVALID_FIELD", "not an object")
        return value


def _blocks(handle: io.BufferedReader, first_line: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield (block of whole lines, number of its first line, bytes it covers)."""
    line = first_line
    rest = b""
    while True:
        data = handle.read(_BLOCK_BYTES)
        if not data:
            if rest:
                yield rest, line, len(rest)
            return
        data = rest + data
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        block, rest = data[: cut + 1], data[cut + 1 :]
        yield block, line, len(block)
        line += block.count(b"\n")


# --------------------------------------------------------------------------------------------
# Sorted runs on disk


class _RunWriter:
    """Collects event tuples; spills each full buffer as a sorted run file."""

    def __init__(self, directory: str, run_size: int, tag: str) -> None:
        self.directory = directory
        self.run_size = run_size
        self.tag = tag
        self.buffer: list[EventTuple] = []
        self.paths: list[str] = []

    def add(self, items: list[EventTuple]) -> None:
        """Buffer *items*; spill a run each time the buffer holds ``run_size`` of them."""
        self.buffer.extend(items)
        while len(self.buffer) >= self.run_size:
            head, self.buffer = self.buffer[: self.run_size], self.buffer[self.run_size :]
            self._write(head)

    def spill(self) -> None:
        """Write what is buffered as a last run."""
        if self.buffer:
            self._write(self.buffer)
            self.buffer = []

    def _write(self, items: list[EventTuple]) -> None:
        """Sort *items* and write them as one run of length-prefixed :mod:`marshal` batches
        (several times faster to write than pickle, and only this import reads them)."""
        items.sort()
        path = os.path.join(self.directory, f"run-{self.tag}-{len(self.paths):05d}.marshal")
        with open(path, "wb") as out:
            for start in range(0, len(items), _SPILL_BATCH):
                blob = marshal.dumps(items[start : start + _SPILL_BATCH])
                out.write(len(blob).to_bytes(8, "little"))
                out.write(blob)
        self.paths.append(path)
        _collect()


def _read_run(path: str) -> Iterator[EventTuple]:
    """The tuples of one run file, in order."""
    with open(path, "rb") as handle:
        while size := handle.read(8):
            blob = handle.read(int.from_bytes(size, "little"))
            batch: list[EventTuple] = marshal.loads(blob)  # noqa: S302  our own temporary file
            yield from batch


# --------------------------------------------------------------------------------------------
# Worker processes (big files): each parses blocks, keeps its own run buffer, spills runs.


@dataclass(frozen=True)
class _WorkerSetup:
    fmt: FileFormat
    holder_key: bytes
    default_region: str
    directory: str
    run_size: int
    tag: str


def _worker_main(tasks: Any, results: Any, setup: _WorkerSetup) -> None:
    """Parse blocks from *tasks* until ``None``; report rejects per block, runs at the end."""
    gc.disable()  # a short-lived process that makes no reference cycles worth collecting
    try:
        parser = _BlockParser(setup.fmt, setup.holder_key, setup.default_region)
        runs = _RunWriter(setup.directory, setup.run_size, setup.tag)
        rows = 0
        while (task := tasks.get()) is not None:
            block, first_line = task
            events, rejects, count = parser.parse(block, first_line)
            rows += count
            runs.add(events)
            results.put(("block", rejects))
        runs.spill()
        results.put(("done", runs.paths, rows))
    except BaseException as exc:  # report, never hang the parent
        results.put(("error", f"{type(exc).__name__}: {exc}"))


@dataclass
class _ParseOutcome:
    runs: list[str]
    rows: int
    rejected: int


class _Rejects:
    """The reject file, opened on the first reject."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._handle: io.TextIOWrapper | None = None
        self._writer: Any = None

    def add(self, rows: Iterable[RejectRow]) -> None:
        """Append reject rows."""
        for row in rows:
            if self._writer is None:
                self._handle = self.path.open("w", newline="", encoding="utf-8")
                self._writer = csv.writer(self._handle, lineterminator="\n")
                self._writer.writerow(REJECT_HEADER)
            self._writer.writerow(row)
            self.count += 1

    def close(self) -> None:
        """Close the file and put its rows in line order (when it fits in memory)."""
        if self._handle is None:
            return
        self._handle.close()
        self._handle = None
        if self.count <= 2_000_000:
            with self.path.open(newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                header = next(reader)
                rows = sorted(reader, key=lambda r: int(r[0]))
            with self.path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(rows)


# --------------------------------------------------------------------------------------------
# The import


def default_reject_path(path: Path) -> Path:
    """``events.csv`` → ``events.rejects.csv`` in the same folder."""
    return path.with_name(f"{path.stem}.rejects.csv")


def import_file(
    path: str | os.PathLike[str],
    registry: RegistryService,
    *,
    reject_path: str | os.PathLike[str] | None = None,
    allowed_carrier: str | None = None,
    source: str | None = None,
    progress: ProgressCallback | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    run_size: int = DEFAULT_RUN,
    workers: int | None = None,
    temp_dir: str | os.PathLike[str] | None = None,
) -> ImportReport:
    """Validate, sort and apply every event in the file at *path*; see the module docstring.

    ``allowed_carrier`` restricts the file to one carrier's events (others are rejected).
    ``workers`` is the number of parsing processes (``0``: parse in this process; default: one
    per CPU for files of :data:`PARALLEL_FROM_BYTES` or more). A malformed CSV header or a
    missing file raises :class:`~numguard.errors.InvalidInput` before anything is changed.
    """
    started = time.perf_counter()
    file = Path(path)
    if not file.is_file():
        raise InvalidInput(f"no such file: {file}")
    if chunk_size < 1 or run_size < 1:
        raise InvalidInput("chunk and run sizes must be positive")
    fmt = detect_format(file)
    rejects = _Rejects(Path(reject_path) if reject_path is not None else default_reject_path(file))
    size = file.stat().st_size
    if workers is None:
        cpus = os.cpu_count() or 1
        workers = min(cpus, 4) if cpus > 1 and size >= PARALLEL_FROM_BYTES else 0
    report = progress or _no_progress
    source = source or f"import:{file.name}"[:64]
    spill = tempfile.TemporaryDirectory(prefix="numguard-import-", dir=temp_dir)
    with _collector_paused(), spill as directory:
        try:
            with file.open("rb") as handle:
                first_line = _skip_header(handle, fmt)
                offset = handle.tell()
                parser = _BlockParser(fmt, registry.holder_key, registry.default_region)
                blocks = _blocks(handle, first_line)
                if workers > 0:
                    parsed = _parse_parallel(
                        blocks,
                        parser=parser,
                        workers=workers,
                        directory=directory,
                        run_size=run_size,
                        rejects=rejects,
                        report=report,
                        size=size,
                        offset=offset,
                    )
                else:
                    parsed = _parse_here(
                        blocks,
                        parser=parser,
                        directory=directory,
                        run_size=run_size,
                        rejects=rejects,
                        report=report,
                        size=size,
                        offset=offset,
                    )
            counts = _apply_runs(
                parsed.runs,
                registry,
                total=parsed.rows - parsed.rejected,
                chunk_size=chunk_size,
                source=source,
                allowed_carrier=allowed_carrier,
                rejects=rejects,
                report=report,
            )
        finally:
            rejects.close()
    return ImportReport(
        path=file,
        format=fmt,
        rows=parsed.rows,
        accepted=counts[Outcome.ACCEPTED],
        duplicates=counts[Outcome.DUPLICATE],
        rejected=rejects.count,
        seconds=time.perf_counter() - started,
        reject_file=rejects.path if rejects.count else None,
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while millions of small objects come and go.

    With the collector on, every few hundred allocations start a collection, and the older
    generations are walked again and again over the live run buffers: that tripled the cost
    of turning tuples back into events. The import collects by hand after each run it spills
    (see :func:`_collect`; applying chunks makes next to no cycles: a few dozen objects per
    200,000 events) and restores the collector's state at the end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _collect() -> None:
    """Collect young garbage cycles while the automatic collector is paused.

    Only generations 0 and 1: what survives moves to the oldest generation and is not walked
    again (a full collection cost ~0.2 s per chunk); the collector's own schedule resumes after
    the import.
    """
    if not gc.isenabled():
        gc.collect(1)


def _no_progress(phase: str, done: int, total: int) -> None:
    """The default progress callback: nothing."""


def _skip_header(handle: io.BufferedReader, fmt: FileFormat) -> int:
    """Check a CSV header (skipping blank lines before it); the line number that follows it."""
    if fmt != "csv":
        return 1
    line_number = 0
    while True:
        raw = handle.readline()
        line_number += 1
        if not raw:
            raise InvalidInput("the CSV file is empty: it needs a header line")
        text = raw.decode("utf-8", errors="replace")
        if text.strip():
            check_csv_header(text)
            return line_number + 1


def _parse_here(
    blocks: Iterator[tuple[bytes, int, int]],
    *,
    parser: _BlockParser,
    directory: str,
    run_size: int,
    rejects: _Rejects,
    report: ProgressCallback,
    size: int,
    offset: int,
) -> _ParseOutcome:
    runs = _RunWriter(directory, run_size, "main")
    rows = 0
    done = offset
    for block, first_line, length in blocks:
        events, bad, count = parser.parse(block, first_line)
        rows += count
        runs.add(events)
        rejects.add(bad)
        done += length
        report("read", done, size)
    runs.spill()
    return _ParseOutcome(runs.paths, rows, rejects.count)


def _parse_parallel(
    blocks: Iterator[tuple[bytes, int, int]],
    *,
    parser: _BlockParser,
    workers: int,
    directory: str,
    run_size: int,
    rejects: _Rejects,
    report: ProgressCallback,
    size: int,
    offset: int,
) -> _ParseOutcome:
    context = multiprocessing.get_context("forkserver")
    results: Any = context.Queue()
    inboxes: list[Any] = [context.Queue(maxsize=2) for _ in range(workers)]
    procs = [
        context.Process(
            target=_worker_main,
            args=(
                inboxes[i],
                results,
                _WorkerSetup(
                    parser.fmt,
                    parser.holder_key,
                    parser.default_region,
                    directory,
                    max(run_size // workers, 1),
                    f"w{i}",
                ),
            ),
            daemon=True,
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    runs: list[str] = []
    rows = 0
    finished = 0

    def drain(block: bool) -> None:
        nonlocal rows, finished
        while True:
            try:
                message = results.get(timeout=1.0) if block else results.get_nowait()
            except queue.Empty:
                if block and not all(p.is_alive() for p in procs) and finished < workers:
                    dead = [p for p in procs if not p.is_alive() and p.exitcode]
                    if dead:
                        raise RuntimeError("an import worker died") from None
                if block:
                    continue
                return
            if message[0] == "block":
                rejects.add(message[1])
            elif message[0] == "done":
                runs.extend(message[1])
                rows += message[2]
                finished += 1
                if block and finished == workers:
                    return
            else:
                raise RuntimeError(f"an import worker failed: {message[1]}")

    try:
        done = offset
        for n, (block, first_line, length) in enumerate(blocks):
            inboxes[n % workers].put((block, first_line))
            done += length
            report("read", done, size)
            drain(block=False)
        for inbox in inboxes:
            inbox.put(None)
        drain(block=True)
        for proc in procs:
            proc.join()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join()
        results.close()
        for inbox in inboxes:
            inbox.close()
    return _ParseOutcome(runs, rows, rejects.count)


def _apply_runs(
    runs: Sequence[str],
    registry: RegistryService,
    *,
    total: int,
    chunk_size: int,
    source: str,
    allowed_carrier: str | None,
    rejects: _Rejects,
    report: ProgressCallback,
) -> dict[Outcome, int]:
    """Apply the merged runs chunk by chunk through a :class:`BatchPipeline` (one chunk is
    computed while the one before it is written).

    While chunks are mostly events stored already (a file imported again), each chunk's
    stored event ids are first looked up outside a transaction
    (:meth:`RegistryService.settled`): those events are duplicates or reused ids whatever else
    happens, and only the rest go to the pipeline. A first import looks up its first chunk
    only.
    """
    counts = dict.fromkeys(Outcome, 0)
    done = 0
    screen = True
    report("apply", 0, total)

    def tally(results: Collection[EventResult]) -> int:
        """Count *results* and file their rejects; how many were repeats (a stored id)."""
        nonlocal done
        bad: list[RejectRow] = []
        repeated = 0
        for result in results:
            counts[result.outcome] += 1
            if result.outcome is Outcome.DUPLICATE:
                repeated += 1
            elif result.outcome is Outcome.REJECTED:
                if result.reason == "EVENT_ID_REUSED":
                    repeated += 1
                bad.append(_reject_row(result))
        rejects.add(bad)
        if results:
            done += len(results)
            report("apply", done, total)
        return repeated

    with registry.pipeline(source=source, allowed_carrier=allowed_carrier) as pipeline:
        for items in _chunks(heapq.merge(*(_read_run(p) for p in runs)), chunk_size, total):
            settled: dict[int, EventResult] = {}
            if screen:
                settled = registry.settled(
                    [EventKey(t[2], t[5], t[3], t[7], t[8]) for t in items],
                    allowed_carrier=allowed_carrier,
                )
                screen = tally(settled.values()) * 2 >= len(items)
            chunk = [from_tuple(t) for t in items if t[2] not in settled]
            if chunk:
                written = pipeline.put(chunk, in_order=True)
                if tally(written) * 2 >= len(written) > 0:
                    screen = True  # mostly repeats that went unscreened: screen again
        tally(pipeline.close())
    return counts


def _reject_row(result: EventResult) -> RejectRow:
    return (result.index, result.event_id or "", result.reason or "", result.message or "")


def _chunks(items: Iterator[EventTuple], size: int, total: int) -> Iterator[list[EventTuple]]:
    """Chunks of about *size* events, never splitting one number's events, out of *total*.

    The pipeline computes one chunk while it writes the one before, so the first chunk's
    computing and the last chunk's write overlap nothing: the first chunk is an eighth of
    *size*, and the chunks taper off to that size towards the end (each at most half of what
    is left), which keeps both ends short.
    """
    least = max(size // _TAPER, 1)
    target = least
    left = total
    chunk: list[EventTuple] = []
    last = ""
    for item in items:
        if len(chunk) >= target and item[0] != last:
            yield chunk
            left -= len(chunk)
            target = max(least, min(size, left // 2))
            chunk = []
        chunk.append(item)
        last = item[0]
    if chunk:
        yield chunk
