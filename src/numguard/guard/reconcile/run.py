"""The reconciliation pipeline: read blocks, check them in bulk, decide, write, summarise.

Blocks of the bindings file are parsed in the calling thread while earlier blocks are being
checked by the registry on worker threads (``in_flight`` requests at once), so reading, checking
and deciding overlap. The actions file, the rejects file and the summary are written to
``*.part`` files and renamed at the end: a run that fails leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from numguard.domain.guard import GuardRules, Policy
from numguard.guard.reconcile.bindings import (
    BLOCK_BYTES,
    BindingsBlock,
    Reject,
    day_number,
    gather,
    iter_blocks,
)
from numguard.guard.reconcile.registry import BulkChecker, BulkReply, RegistryUnreachable
from numguard.guard.reconcile.table import (
    ACTIONS,
    CATEGORIES,
    CELLS,
    OUTCOMES,
    UNREACHABLE,
    DecisionTable,
    cell_index,
    cell_parts,
)

ACTIONS_COLUMNS = (
    "line",
    "accountRef",
    "phoneNumber",
    "category",
    "answer",
    "action",
    "reasons",
    "factors",
)
"""Columns of the actions file."""
REJECTS_COLUMNS = ("line", "accountRef", "phoneNumber", "errorCode", "errorMessage")
"""Columns of the rejects file."""

Progress = Callable[[int, int, int], None]
"""``progress(bytes_read, total_bytes, rows_decided)``."""


class OnUnreachable(StrEnum):
    """What to do when the registry stops answering."""

    FAIL = "fail"  # stop: no output, the caller reports the error
    DECIDE = "decide"  # decide the rest without it, by the rules' fail-open/closed choice


@dataclass
class ReconcileReport:
    """What a reconciliation did; ``counts[cell]`` counts decided bindings per table cell."""

    bindings: Path
    actions: Path
    rejects: Path | None
    summary: Path | None
    table: DecisionTable
    counts: npt.NDArray[np.int64]
    rejected: int
    reject_codes: dict[str, int]
    seconds: float

    @property
    def decided(self) -> int:
        """Bindings that got an action."""
        return int(self.counts.sum())

    @property
    def rows(self) -> int:
        """Rows read (decided or rejected; blank lines are not rows)."""
        return self.decided + self.rejected

    @property
    def rows_per_second(self) -> float:
        """Reading speed over the whole run."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def _tally(self, key: Callable[[int], str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for cell in np.flatnonzero(self.counts).tolist():
            name = key(cell)
            out[name] = out.get(name, 0) + int(self.counts[cell])
        return out

    def by_action(self) -> dict[str, int]:
        """Bindings per action, every action listed."""
        tally = self._tally(lambda c: ACTIONS[int(self.table.action[c])].value)
        return {a.value: tally.get(a.value, 0) for a in ACTIONS}

    def by_category(self) -> dict[str, dict[str, int]]:
        """Bindings per category and action, every category and action listed."""
        out = {c.value: {a.value: 0 for a in ACTIONS} for c in CATEGORIES}
        for cell in np.flatnonzero(self.counts).tolist():
            category = CATEGORIES[cell_parts(cell)[0]].value
            out[category][ACTIONS[int(self.table.action[cell])].value] += int(self.counts[cell])
        return out

    def by_answer(self) -> dict[str, int]:
        """Bindings per registry outcome (yes, no, unknown, unreachable)."""
        tally = self._tally(lambda c: OUTCOMES[cell_parts(c)[1]].value)
        return {o.value: tally.get(o.value, 0) for o in OUTCOMES}

    def by_reason(self) -> dict[str, int]:
        """Bindings per reason code (a binding counts once under each of its codes)."""
        out: dict[str, int] = {}
        for cell in np.flatnonzero(self.counts).tolist():
            for code in self.table.cells[cell].reasons:
                out[code] = out.get(code, 0) + int(self.counts[cell])
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        """The summary written next to the actions file."""
        return {
            "bindings": str(self.bindings),
            "asOf": self.table.as_of.isoformat(),
            "rows": self.rows,
            "decided": self.decided,
            "rejected": self.rejected,
            "rejectedByCode": dict(sorted(self.reject_codes.items())),
            "actions": self.by_action(),
            "byCategory": self.by_category(),
            "answers": self.by_answer(),
            "reasons": self.by_reason(),
            "seconds": round(self.seconds, 3),
            "rowsPerSecond": round(self.rows_per_second),
            "files": {
                "actions": str(self.actions),
                "rejects": str(self.rejects) if self.rejects is not None else None,
            },
        }


@dataclass(frozen=True)
class Suffixes:
    """Per cell, the end of an actions row (``,category,answer,action,reasons,factors\\n``):
    ``data[start[cell] : start[cell] + length[cell]]``."""

    data: npt.NDArray[np.uint8]
    start: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]

    @classmethod
    def of(cls, table: DecisionTable) -> Suffixes:
        """The endings of every cell of *table*."""
        texts = [
            (
                f",{cell.category.value},{cell.outcome.value},{cell.action.value},"
                f"{';'.join(cell.reasons)},{'|'.join(f.value for f in cell.login.factors)}\n"
            ).encode()
            for cell in table.cells
        ]
        length = np.array([len(t) for t in texts], np.int64)
        return cls(np.frombuffer(b"".join(texts), np.uint8), np.cumsum(length) - length, length)


def decide_block(
    table: DecisionTable, block: BindingsBlock, outcome: npt.NDArray[np.int8]
) -> npt.NDArray[np.intp]:
    """The table cell of every binding of *block* given the registry's *outcome* per row."""
    idle_days = np.maximum(day_number(table.as_of) - block.last, 0)
    dormant = idle_days * 86400.0 > table.dormant_seconds[block.category]
    return cell_index(block.category, outcome, dormant, block.factors)


def render_actions(block: BindingsBlock, cells: npt.NDArray[np.intp], suffixes: Suffixes) -> bytes:
    """The actions rows of *block*, gathered from its bytes and the per-cell endings."""
    n = len(block)
    if n == 0:
        return b""
    numbers = block.lines.astype("S20")
    number_length = (numbers.view(np.uint8).reshape(n, 20) != 0).sum(axis=1)
    numbers_at = len(block.source)
    comma_at = numbers_at + 20 * n
    suffixes_at = comma_at + 1
    source = np.concatenate(
        [block.source, numbers.view(np.uint8), np.frombuffer(b",", np.uint8), suffixes.data]
    )
    comma = np.full(n, comma_at)
    one = np.ones(n, np.int64)
    starts = np.stack(
        [
            numbers_at + 20 * np.arange(n),
            comma,
            block.account_start,
            comma,
            block.phone_start,
            suffixes_at + suffixes.start[cells],
        ],
        axis=1,
    )
    lengths = np.stack(
        [number_length, one, block.account_length, one, block.phone_length, suffixes.length[cells]],
        axis=1,
    )
    return gather(source, starts, lengths)


@contextmanager
def _written(path: Path) -> Iterator[IO[bytes]]:
    """A ``.part`` file renamed to *path* when the block ends without an error."""
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("wb") as handle:
            yield handle
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _reject_rows(rejects: list[Reject]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for r in rejects:
        writer.writerow(
            [
                r.line,
                r.account.decode("utf-8", "replace"),
                r.phone.decode("utf-8", "replace"),
                r.code,
                r.message,
            ]
        )
    return buffer.getvalue().encode()


@dataclass
class _Sink:
    """Decides blocks and writes their actions and rejects; keeps the counts."""

    table: DecisionTable
    out: IO[bytes]
    bad: IO[bytes]
    total: int
    progress: Progress | None
    suffixes: Suffixes = field(init=False)
    counts: npt.NDArray[np.int64] = field(init=False)
    reject_codes: dict[str, int] = field(default_factory=dict)
    done_bytes: int = 0

    def __post_init__(self) -> None:
        self.suffixes = Suffixes.of(self.table)
        self.counts = np.zeros(CELLS, np.int64)
        self.out.write((",".join(ACTIONS_COLUMNS) + "\n").encode())
        self.bad.write((",".join(REJECTS_COLUMNS) + "\n").encode())

    def write(self, block: BindingsBlock, reply: BulkReply | None) -> None:
        """Decide *block* with the registry's *reply* (``None``: unreachable) and write it."""
        rejected = list(block.rejects)
        if reply is None:
            outcome = np.full(len(block), UNREACHABLE, np.int8)
        elif reply.errors:
            rejected.extend(
                Reject(int(block.lines[i]), *block.row(i), code, message)
                for i, (code, message) in reply.errors.items()
            )
            keep = reply.outcome >= 0
            block = block.take(keep)
            outcome = reply.outcome[keep]
        else:
            outcome = reply.outcome
        if len(block):
            cells = decide_block(self.table, block, outcome)
            self.counts += np.bincount(cells, minlength=CELLS)
            self.out.write(render_actions(block, cells, self.suffixes))
        if rejected:
            rejected.sort(key=lambda r: r.line)
            self.bad.write(_reject_rows(rejected))
            for r in rejected:
                self.reject_codes[r.code] = self.reject_codes.get(r.code, 0) + 1
        self.done_bytes += block.consumed
        if self.progress is not None:
            self.progress(self.done_bytes, self.total, int(self.counts.sum()))


def reconcile(
    bindings: Path,
    checker: BulkChecker,
    actions: Path,
    *,
    as_of: date,
    rules: GuardRules | None = None,
    policy: Policy | None = None,
    rejects: Path | None = None,
    summary: Path | None = None,
    on_unreachable: OnUnreachable = OnUnreachable.FAIL,
    progress: Progress | None = None,
    block_bytes: int = BLOCK_BYTES,
    in_flight: int = 3,
) -> ReconcileReport:
    """Reconcile the bindings file *bindings* and write the actions file *actions*.

    Every binding is checked with *checker* for its binding date and decided by the guard's
    policy (*policy*, default :func:`~numguard.domain.guard.default_policy` of *rules*) as of the
    start of day *as_of*. Rejected rows go to *rejects* (default ``<actions>.rejects.csv``,
    written only when there are some) and the summary to *summary* (default
    ``<actions>.summary.json``). Raises
    :class:`~numguard.guard.reconcile.bindings.NotABindingsFile` for a file that is not one,
    and :class:`RegistryUnreachable` when the registry stops answering and *on_unreachable* is
    FAIL; nothing is written then. With DECIDE, the block that found the registry gone and every
    later one are decided as ``unreachable`` by the rules' fail-open/closed choice.
    """
    started = time.perf_counter()
    table = DecisionTable.build(as_of, rules, policy)
    rejects_path = rejects or actions.with_name(actions.stem + ".rejects.csv")
    summary_path = summary or actions.with_name(actions.stem + ".summary.json")
    down = threading.Event()

    def check(block: BindingsBlock) -> BulkReply | None:
        if down.is_set():
            return None
        if not len(block):
            return BulkReply(np.zeros(0, np.int8), {})
        try:
            return checker.check(block.check_pairs(), len(block))
        except RegistryUnreachable:
            if on_unreachable is OnUnreachable.FAIL:
                raise
            down.set()
            return None

    with ExitStack() as stack:
        source = stack.enter_context(bindings.open("rb"))
        sink = _Sink(
            table,
            stack.enter_context(_written(actions)),
            stack.enter_context(_written(rejects_path)),
            bindings.stat().st_size,
            progress,
        )
        pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="reconcile")
        stack.callback(pool.shutdown, wait=False, cancel_futures=True)
        pending: deque[tuple[BindingsBlock, Future[BulkReply | None]]] = deque()
        for block in iter_blocks(source, as_of, block_bytes=block_bytes):
            pending.append((block, pool.submit(check, block)))
            while len(pending) > in_flight:
                done, future = pending.popleft()
                sink.write(done, future.result())
        while pending:
            done, future = pending.popleft()
            sink.write(done, future.result())
    rejected = sum(sink.reject_codes.values())
    if not rejected:
        rejects_path.unlink(missing_ok=True)
    report = ReconcileReport(
        bindings=bindings,
        actions=actions,
        rejects=rejects_path if rejected else None,
        summary=summary_path,
        table=table,
        counts=sink.counts,
        rejected=rejected,
        reject_codes=sink.reject_codes,
        seconds=time.perf_counter() - started,
    )
    with _written(summary_path) as handle:
        handle.write((json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n").encode())
    return report
