"""A buffered writer: rows wait in memory and a daemon thread flushes them twice a second.

The training loop only appends tuples to lists (no SQL, no waiting on other processes);
the thread hands whole batches to the store in one transaction. A process killed with
SIGKILL therefore loses at most the rows of its last half second or so.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable

logger = logging.getLogger("glassnet.track")

FlushFn = Callable[[dict[str, list[tuple]], dict[tuple, object]], None]


class BufferedWriter:
    """Collect rows per table and hand them to ``flush_fn`` from a background thread.

    ``flush_fn(rows, updates)`` gets ``{table: [row, ...]}`` and ``{key: value}`` (the
    latest value for each key, for things like a run's summary) and must write them in
    one transaction. Flushes are serialised, so rows reach the store in the order given.
    """

    def __init__(self, flush_fn: FlushFn, interval: float = 0.5, max_rows: int = 50_000) -> None:
        self._flush_fn = flush_fn
        self.interval = interval
        self._max_rows = max_rows
        self._rows: dict[str, list[tuple]] = defaultdict(list)
        self._updates: dict[tuple, object] = {}
        self._pending = 0
        self._lock = threading.Lock()  # guards the buffers; held only to append or swap
        self._flush_lock = threading.Lock()  # one flush at a time, in order
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, table: str, row: tuple) -> None:
        with self._lock:
            self._rows[table].append(row)
            self._pending += 1
            pending = self._pending
        self._after_add(pending)

    def extend(self, table: str, rows: list[tuple]) -> None:
        with self._lock:
            self._rows[table].extend(rows)
            self._pending += len(rows)
            pending = self._pending
        self._after_add(pending)

    def update(self, key: tuple, value: object) -> None:
        """Queue a keyed value; a later update to the same key replaces it."""
        with self._lock:
            self._updates[key] = value
            self._pending += 1
            pending = self._pending
        self._after_add(pending)

    def wake(self) -> None:
        """Flush now in the background thread instead of at the next tick."""
        self._wake.set()

    @property
    def pending(self) -> int:
        return self._pending

    def _after_add(self, pending: int) -> None:
        if self._thread is None and not self._closed:
            self._start()
        if pending >= self._max_rows:
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._loop, name="glassnet-track-writer", daemon=True
            )
            self._thread.start()

    def flush(self) -> None:
        """Write everything buffered so far; return when it is in the database."""
        with self._flush_lock:
            with self._lock:
                if not self._pending:
                    return
                rows, self._rows = self._rows, defaultdict(list)
                updates, self._updates = self._updates, {}
                self._pending = 0
            try:
                self._flush_fn(dict(rows), updates)
            except BaseException:
                self._requeue(rows, updates)
                raise

    def _requeue(self, rows: dict[str, list[tuple]], updates: dict[tuple, object]) -> None:
        with self._lock:
            for table, old in rows.items():
                self._rows[table][:0] = old
                self._pending += len(old)
            for key, value in updates.items():
                self._updates.setdefault(key, value)
                self._pending += 1

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                logger.exception("glassnet.track: flushing rows failed; will retry")

    def close(self) -> None:
        """Flush what is left and stop the thread."""
        self._closed = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()
