"""The append-only audit log: every check and every report, with who asked and what was answered.

Phone numbers appear only as a keyed hash (BLAKE2b with a server key). Single checks are queued
and written in batches by a background thread (``flush`` runs at shutdown and on demand), so the
check path makes no database round trip; reports are written in the report's own transaction
path right after it commits. A bulk check is one entry whose ``items`` field holds every
(number hash, date, answer) of the request in a compact binary form (:func:`encode_items`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger("numguard.audit")

ITEM_DTYPE = np.dtype([("number_hash", "S16"), ("day", "<i4"), ("answer", "u1")])
"""One bulk item: keyed number hash, the date asked (days since 1970), the reason code."""


MAX_CORRELATOR = 256
"""The width of ``audit_log.correlator``: CAMARA allows x-correlator up to 256 characters."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit record."""

    at: datetime
    kind: str
    client_id: str | None
    correlator: str | None = None
    number_hash: str | None = None
    specified_date: date | None = None
    answer: str | None = None
    detail: Mapping[str, Any] | str | None = None
    """A JSON object, or its text already serialised (the hot path passes a constant)."""
    items: bytes | None = None

    def row(self) -> tuple[Any, ...]:
        """The row stored for this entry, in the order of :data:`COLUMNS`."""
        detail = self.detail
        if detail is not None and not isinstance(detail, str):
            detail = json.dumps(detail, sort_keys=True, ensure_ascii=False)
        # never refuse an entry over the correlator's length: cut it to the column
        correlator = self.correlator[:MAX_CORRELATOR] if self.correlator is not None else None
        return (
            self.at,
            self.kind,
            self.client_id,
            correlator,
            self.number_hash,
            self.specified_date,
            self.answer,
            detail,
            self.items,
        )


COLUMNS = (
    "at",
    "kind",
    "client_id",
    "correlator",
    "number_hash",
    "specified_date",
    "answer",
    "detail",
    "items",
)
"""The audit_log columns an entry fills, in :meth:`AuditEntry.row` order."""


class AuditStore(Protocol):
    """Where audit entries end up."""

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries in one transaction."""
        ...


class NumberHasher:
    """Keyed hash of phone numbers for the audit log."""

    def __init__(self, key: bytes) -> None:
        self._key = key[:64]

    def hex(self, e164: str) -> str:
        """32 hex characters."""
        return hashlib.blake2b(e164.encode(), key=self._key, digest_size=16).hexdigest()

    def raw(self, e164: str) -> bytes:
        """16 bytes."""
        return hashlib.blake2b(e164.encode(), key=self._key, digest_size=16).digest()


def encode_items(
    hashes: Sequence[bytes], days: npt.NDArray[np.int32], answers: npt.NDArray[np.uint8]
) -> bytes:
    """Pack a bulk request's items (zlib-compressed structured array)."""
    items = np.empty(len(hashes), ITEM_DTYPE)
    items["number_hash"] = np.array(hashes, dtype="S16") if len(hashes) else []
    items["day"] = days
    items["answer"] = answers
    return zlib.compress(items.tobytes(), 1)


def decode_items(blob: bytes) -> npt.NDArray[Any]:
    """Unpack what :func:`encode_items` packed."""
    return np.frombuffer(zlib.decompress(blob), dtype=ITEM_DTYPE)


class AuditTrail:
    """Queues entries and writes them in batches from a background thread."""

    def __init__(self, store: AuditStore, *, flush_seconds: float = 0.2, max_queue: int = 100_000):
        self.store = store
        self.flush_seconds = flush_seconds
        self.max_queue = max_queue
        self._queue: list[AuditEntry] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0

    def record(self, entry: AuditEntry) -> None:
        """Queue an entry; writes synchronously when the queue is full (back-pressure)."""
        with self._lock:
            self._queue.append(entry)
            full = len(self._queue) >= self.max_queue
        if full or self._thread is None:
            self.flush()

    def write_now(self, entries: Sequence[AuditEntry]) -> None:
        """Write entries at once (reports and bulk checks)."""
        self.store.append(entries)
        self.written += len(entries)

    def flush(self) -> None:
        """Write everything queued."""
        with self._lock:
            batch, self._queue = self._queue, []
        if not batch:
            return
        try:
            self.store.append(batch)
        except Exception:
            with self._lock:  # nothing is lost: the entries go back to the head of the queue
                self._queue[:0] = batch
            raise
        self.written += len(batch)

    def start(self) -> None:
        """Start the background writer."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="numguard-audit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the writer and flush what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:  # keep the thread alive; entries stay queued
                log.exception("audit flush failed; retrying")
