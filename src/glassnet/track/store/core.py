"""The :class:`Store`: a folder holding the database and the blobs, and what it does itself.

Its writes and queries are in writes.py and queries.py, tags, notes and aliases in
annotations.py, archive, delete and garbage collection in removal.py; the database
behind them is a backend (backend.py states the interface; sqlite.py and postgresql.py
implement it).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from glassnet.track import heartbeat
from glassnet.track.blobs import BlobStore
from glassnet.track.errors import StoreError
from glassnet.track.store.annotations import Annotations
from glassnet.track.store.postgresql_connection import is_postgres_url
from glassnet.track.store.queries import Queries
from glassnet.track.store.removal import Removals
from glassnet.track.store.schema import COLUMNS, WRITTEN_ONCE, migrate
from glassnet.track.store.sqlite import DB_NAME, SQLiteBackend
from glassnet.track.store.writes import Writes
from glassnet.track.writer import BufferedWriter


class Store(Writes, Queries, Annotations, Removals):
    """A folder holding ``glassnet.db`` and ``blobs/``, or a PostgreSQL database (a
    ``postgresql://`` URL) and a blob folder; get one with :func:`open_store`.

    ``root`` names the store in messages: the folder, or the URL without its password.
    ``location`` reopens it (in another process, say). ``files`` is the local folder
    for what is made from it (reports): the store's folder, or one per database under
    ``~/.local/share/glassnet/files/`` (postgresql_connection.py).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        text = root if isinstance(root, str) else os.fspath(root)
        if is_postgres_url(text):
            from glassnet.track.store.postgresql import PostgresBackend

            self.backend = PostgresBackend(text)
            self.root = self.backend.label
            self.location = text
            self.db_path = None
            blobs = self.backend.location.blobs
            self.files = self.backend.location.files
        else:
            self.root = Path(text).resolve()
            try:
                if not self.root.is_dir():
                    self.root.mkdir(parents=True, exist_ok=True)
                self.backend = SQLiteBackend(self.root)
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(f"cannot open store {self.root / DB_NAME}: {exc}") from exc
            self.location = str(self.root)
            self.db_path = self.backend.path
            blobs = self.root / "blobs"
            self.files = self.root
        self.read_only = self.backend.read_only
        self._inserts = {table: self.backend.upsert(table, ignore=table in WRITTEN_ONCE)
                         for table in COLUMNS}
        self._json = self.backend.json_text
        self.blobs = BlobStore(blobs, inline=self._inline_blob)
        self._pid = os.getpid()
        self._live: set[str] = set()  # runs this process has open: it beats for them
        try:
            migrate(self.backend, self.root)
        except BaseException:
            self.backend.close()
            raise
        self.writer = BufferedWriter(self._flush, beat_fn=self._beat,
                                     beat_interval=heartbeat.BEAT_S)
        self.mark_crashed()

    @property
    def _conn(self) -> sqlite3.Connection:
        """The SQLite connection (tests reach it to make the disk look full)."""
        return self.backend.conn

    @property
    def _key(self) -> str:
        """What :func:`open_store` files this store under in a process."""
        return self.location

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

    def _inline_blob(self, sha: str) -> bytes | None:
        """The bytes of a blob the database keeps (a small snapshot), else None: what
        ``blobs.get_bytes`` looks at before the files."""
        row = self._read("SELECT data FROM inline_blobs WHERE sha = ?", (sha,))
        return bytes(row[0][0]) if row else None

    def integrity_check(self) -> str:
        """``"ok"`` when the database finds itself sound."""
        return self.backend.integrity_check()

    # -- search and frames: the filter language of query/ ----------------------------
    def search_runs(self, filter=None, order_by=None, limit=None, offset=0, as_records=False,
                    archived=False):
        """Runs matching a filter, as a DataFrame (records without pandas): docs/search.md.

        Archived runs only with ``archived=True`` (or a filter naming ``archived_at``)."""
        from glassnet.track.store.query import search_runs

        return search_runs(self, filter, order_by, limit, offset, as_records, archived)

    def metrics_frame(self, run_ids, keys=None, as_records=False):
        """Metrics in long form: ``run_id, key, step, value`` (track/store/query/frames.py)."""
        from glassnet.track.store.query import metrics_frame

        return metrics_frame(self, run_ids, keys, as_records)

    def param_stats_frame(self, run_id, path=None, as_records=False):
        """Weight statistics in long form: ``run_id, path, step, stat, value``."""
        from glassnet.track.store.query import param_stats_frame

        return param_stats_frame(self, run_id, path, as_records)

    # -- counting and grouping for a runs list (track/store/query/groups.py) ----------
    def count_runs(self, filter=None) -> int:
        """How many runs match ``filter`` (docs/search.md)."""
        from glassnet.track.store.query.groups import count_runs

        return count_runs(self, filter)

    def search_groups(self, by="sweep", filter=None, score=None, order_by=None, limit=None,
                      offset=0):
        """One row per sweep (or project) of the runs matching ``filter``, with its best
        score (the best trial mean); runs of no sweep as rows of their own."""
        from glassnet.track.store.query.groups import search_groups

        return search_groups(self, by, filter, score, order_by, limit, offset)

    def runs_page(self, filter=None, order_by=None, limit=50, offset=0):
        """``(records, total)``: a page of ``search_runs`` and how many runs match."""
        from glassnet.track.store.query.groups import runs_page

        return runs_page(self, filter, order_by, limit, offset)

    def groups_page(self, by="sweep", filter=None, score=None, order_by=None, limit=50,
                    offset=0):
        """``(rows, total)``: a page of ``search_groups`` and how many rows there are."""
        from glassnet.track.store.query.groups import groups_page

        return groups_page(self, by, filter, score, order_by, limit, offset)

    def count_groups(self, by="sweep", filter=None) -> int:
        """How many rows ``search_groups(by, filter)`` has without a limit."""
        from glassnet.track.store.query.groups import count_groups

        return count_groups(self, by, filter)

    def run_keys(self) -> dict:
        """The config and summary keys the runs have: ``{"config": {key: [runs, distinct
        values]}, "summary": {key: [runs]}}``."""
        from glassnet.track.store.query.groups import run_keys

        return run_keys(self)
