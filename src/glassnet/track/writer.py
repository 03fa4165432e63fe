"""A buffered writer: rows wait in memory and a daemon thread flushes them 4 times a second.

The training loop only appends tuples to lists (no SQL, no waiting on other processes);
the thread hands whole batches to the store in one transaction. A process killed with
SIGKILL loses the rows logged since the last flush that committed: at most one
interval (0.25 s) plus the time one flush takes (it computes the watch's statistics and
writes snapshots), so about half a second at worst. Measured with
``benchmarks/bench_kill_loss.py --kills 20`` (SIGKILL at random moments, half of them
during a watched ``fit``, on a busy 2-core machine): 0.01-0.51 s of rows lost, median
0.17 s (with the former 0.5 s interval: up to 0.68 s, median 0.25 s). The interval was
halved for that: a small flush (a few rows) takes about 0.2 ms here, so four a second
cost training well under 0.1% of its time.

When a flush fails (the disk is full, the store went read-only), the rows stay in
memory, in order, and the thread retries with a growing pause (up to
:data:`MAX_RETRY_S`); one warning says so, and another when writing works again. At
most ``max_held`` entries, and rows declaring ``max_held_bytes`` in all (snapshots
declare the size of their arrays), are held while writes fail: past that, newer rows
are dropped and counted
(:attr:`BufferedWriter.dropped`), so memory stays bounded and what is kept is a
prefix of what was logged, never a torn middle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable

logger = logging.getLogger("glassnet.track")

FlushFn = Callable[[dict[str, list[tuple]], dict[tuple, object]], None]

MAX_RETRY_S = 5.0
MAX_HELD = 200_000
MAX_HELD_BYTES = 256 << 20
# Rows holding this many bytes (a watch logging every step: ~1.4 KB of statistics and
# histograms per step) are written at once rather than at the next tick, so that a
# fast fit does not leave all of them for finish() to write while the user waits.
WAKE_BYTES = 1 << 20


class BufferedWriter:
    """Collect rows per table and hand them to ``flush_fn`` from a background thread.

    ``flush_fn(rows, updates)`` gets ``{table: [row, ...]}`` and ``{key: value}`` (the
    latest value for each key, for things like a run's summary) and must write them in
    one transaction. Flushes are serialised, so rows reach the store in the order given.
    ``beat_fn()``, when given, is called by the thread when nothing was written for
    ``beat_interval`` seconds (a heartbeat: readers tell a live writer from a dead one).
    """

    def __init__(self, flush_fn: FlushFn, interval: float = 0.25, max_rows: int = 50_000,
                 beat_fn: Callable[[], None] | None = None, beat_interval: float = 2.0,
                 max_held: int = MAX_HELD, max_held_bytes: int = MAX_HELD_BYTES) -> None:
        self._flush_fn = flush_fn
        self._beat_fn = beat_fn
        self.interval = interval
        self.beat_interval = beat_interval
        self._max_rows = max_rows
        self._max_held = max_held
        self._max_held_bytes = max_held_bytes
        self._bytes = 0  # what the waiting rows declared with add(..., nbytes=)
        self._rows: dict[str, list[tuple]] = defaultdict(list)
        self._updates: dict[tuple, object] = {}
        self._pending = 0
        self.dropped = 0  # rows refused because max_held were already waiting
        self.failure: BaseException | None = None  # why the last flush failed, until one works
        self._lock = threading.Lock()  # guards the buffers; held only to append or swap
        self._flush_lock = threading.Lock()  # one flush at a time, in order
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._last_write = time.monotonic()
        self._retry_at = 0.0
        self._retry_pause = interval

    def add(self, table: str, row: tuple, nbytes: int = 0) -> None:
        """Queue ``row``; ``nbytes``: the memory it holds, when large (a snapshot's arrays)."""
        with self._lock:
            if self.failure is not None and (  # held, not just waiting for the next tick
                    self._pending >= self._max_held
                    or (nbytes and self._bytes + nbytes > self._max_held_bytes)):
                self.dropped += 1
                return
            self._rows[table].append(row)
            self._bytes += nbytes
            self._pending += 1
            pending = self._pending
            heavy = self._bytes >= WAKE_BYTES
        self._after_add(pending)
        if heavy and self.failure is None:
            self._wake.set()  # many bytes waiting: write them now, not all at finish()

    def extend(self, table: str, rows: list[tuple]) -> None:
        with self._lock:
            if self.failure is not None and self._pending + len(rows) > self._max_held:
                self.dropped += len(rows)
                return
            self._rows[table].extend(rows)
            self._pending += len(rows)
            pending = self._pending
        self._after_add(pending)

    def update(self, key: tuple, value: object) -> None:
        """Queue a keyed value; a later update to the same key replaces it."""
        with self._lock:
            if key not in self._updates:
                self._pending += 1
            self._updates[key] = value
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
            self.start()
        if pending >= self._max_rows and self.failure is None:
            self._wake.set()

    def start(self) -> None:
        """Start the background thread (it starts by itself at the first row)."""
        with self._lock:
            if self._thread is not None or self._closed:
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
                nbytes, self._bytes = self._bytes, 0
            try:
                self._flush_fn(dict(rows), updates)
            except BaseException as exc:
                self._requeue(rows, updates, nbytes)
                self.failure = exc
                raise
            self._written()

    def beat(self) -> None:
        """Call the heartbeat now (the thread does it when idle)."""
        if self._beat_fn is not None:
            with self._flush_lock:
                self._beat_fn()
                self._last_write = time.monotonic()

    def _written(self) -> None:
        self._last_write = time.monotonic()
        if self.failure is not None:
            logger.warning("glassnet.track: writing rows works again; nothing held is lost")
            self.failure = None
            self._retry_pause = self.interval

    def _requeue(self, rows: dict[str, list[tuple]], updates: dict[tuple, object],
                 nbytes: int) -> None:
        with self._lock:
            self._bytes += nbytes
            for table, old in rows.items():
                self._rows[table][:0] = old
                self._pending += len(old)
            for key, value in updates.items():
                if key not in self._updates:
                    self._updates[key] = value
                    self._pending += 1

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._closed or time.monotonic() < self._retry_at:
                continue
            first = self.failure is None
            try:
                if self._pending:
                    self.flush()
                elif time.monotonic() - self._last_write >= self.beat_interval:
                    self.beat()
            except Exception as exc:
                self._retry_pause = min(self._retry_pause * 2, MAX_RETRY_S)
                self._retry_at = time.monotonic() + self._retry_pause
                self.failure = exc
                if first:  # one warning per outage, not a traceback per retry
                    logger.warning("glassnet.track: %s; rows are kept in memory (up to "
                                   "%d) and retried", exc, self._max_held)
                else:
                    logger.debug("glassnet.track: retry failed", exc_info=True)

    def close(self) -> None:
        """Flush what is left and stop the thread."""
        self._closed = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()
