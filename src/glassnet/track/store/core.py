"""The :class:`Store`: a folder holding the database and the blobs, and what it does itself.

Its writes and queries are in writes.py and queries.py; the database behind them is a
backend (backend.py states the interface; sqlite.py is the one there is).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from glassnet.track import heartbeat
from glassnet.track.blobs import BlobStore
from glassnet.track.errors import StoreError
from glassnet.track.store.queries import Queries
from glassnet.track.store.schema import COLUMNS, migrate
from glassnet.track.store.sqlite import DB_NAME, SQLiteBackend
from glassnet.track.store.writes import Writes
from glassnet.track.writer import BufferedWriter


class Store(Writes, Queries):
    """A folder holding ``glassnet.db`` and ``blobs/``; get one with :func:`open_store`."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()
        try:
            if not self.root.is_dir():
                self.root.mkdir(parents=True, exist_ok=True)
            self.backend = SQLiteBackend(self.root)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store {self.root / DB_NAME}: {exc}") from exc
        self.db_path = self.backend.path
        self.read_only = self.backend.read_only
        self._inserts = {table: self.backend.upsert(table, ignore=table == "param_layouts")
                         for table in COLUMNS}
        self.blobs = BlobStore(self.root / "blobs")
        self._pid = os.getpid()
        self._live: set[str] = set()  # runs this process has open: it beats for them
        migrate(self.backend, self.root)
        self.writer = BufferedWriter(self._flush, beat_fn=self._beat,
                                     beat_interval=heartbeat.BEAT_S)
        self.mark_crashed()

    @property
    def _conn(self) -> sqlite3.Connection:
        """The SQLite connection (tests reach it to make the disk look full)."""
        return self.backend.conn

    @property
    def schema_version(self) -> int:
        return self.backend.schema_version()

    def flush(self) -> None:
        """Write every buffered row now."""
        self.writer.flush()

    def close(self) -> None:
        """Flush, stop the writer thread and close the connection.

        StoreError if rows could not be written (a full disk): they are lost then."""
        from glassnet.track.store.opening import forget  # opening.py imports this module

        try:
            self.writer.close()
        finally:
            self.backend.close()
            forget(self)

    def integrity_check(self) -> str:
        """``"ok"`` when the database finds itself sound."""
        return self.backend.integrity_check()

    # -- search and frames: the filter language of query/ ----------------------------
    def search_runs(self, filter=None, order_by=None, limit=None, offset=0, as_records=False):
        """Runs matching a filter, as a DataFrame (records without pandas): docs/search.md."""
        from glassnet.track.store.query import search_runs

        return search_runs(self, filter, order_by, limit, offset, as_records)

    def metrics_frame(self, run_ids, keys=None, as_records=False):
        """Metrics in long form: ``run_id, key, step, value`` (track/store/query/frames.py)."""
        from glassnet.track.store.query import metrics_frame

        return metrics_frame(self, run_ids, keys, as_records)

    def param_stats_frame(self, run_id, path=None, as_records=False):
        """Weight statistics in long form: ``run_id, path, step, stat, value``."""
        from glassnet.track.store.query import param_stats_frame

        return param_stats_frame(self, run_id, path, as_records)
