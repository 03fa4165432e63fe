"""The SQLite backend: one ``glassnet.db`` file in WAL mode, for one machine.

Opening (the PRAGMAs, WAL, read-only and immutable fallbacks) is in
sqlite_connection.py. Each process keeps one connection per store, shared by its
threads under a lock; it waits up to 30 s on a busy database, and starts every write
with ``BEGIN IMMEDIATE`` so that writers queue for the lock instead of failing.
SQLite's "database or disk is full" and "readonly database" come out as StoreError
naming the store and the cause.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from glassnet.track.store.backend import Dialect
from glassnet.track.store.schema import COLUMNS, migrations
from glassnet.track.store.sqlite_connection import connect, read_only_error, store_error

DB_NAME = "glassnet.db"
TYPES = {"int": "INTEGER", "real": "REAL", "blob": "BLOB", "row_id": "INTEGER PRIMARY KEY",
         "compact": " WITHOUT ROWID", "bytewise": "", "uncompressed_blobs": ""}
MIGRATIONS = migrations(TYPES)  # what a glassnet.db holds, version by version


class SQLiteBackend(Dialect):
    """The database ``root/glassnet.db``: see :class:`~glassnet.track.store.backend.Backend`."""

    types = TYPES
    migrations = MIGRATIONS
    distinct = "IS NOT"  # SQLite's NULL-safe comparison (IS DISTINCT FROM only since 3.39)

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / DB_NAME
        self.conn, self.read_only = connect(self.path)
        self.lock = threading.RLock()

    def upsert(self, table: str, ignore: bool = False) -> str:
        verb = "IGNORE" if ignore else "REPLACE"
        marks = ", ".join("?" * len(COLUMNS[table]))
        return f"INSERT OR {verb} INTO {table} VALUES ({marks})"

    @contextmanager
    def transaction(self, schema: bool = False):
        """BEGIN IMMEDIATE takes the write lock up front (waiting for it): a schema change
        needs nothing more, since SQLite has one write lock for the whole database."""
        with self.lock:
            if self.read_only is not None:
                raise read_only_error(self.root, self.read_only)
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                    self.conn.execute("COMMIT")
                except BaseException:
                    if self.conn.in_transaction:  # after SQLITE_FULL SQLite has rolled back
                        self.conn.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError) as exc:
                error = store_error(self.root, exc)
                if error is None:
                    raise
                raise error from exc

    def read(self, sql: str, params=()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def schema_version(self, c=None) -> int:
        if c is not None:
            return c.execute("PRAGMA user_version").fetchone()[0]
        return self.read("PRAGMA user_version")[0][0]

    def set_schema_version(self, c, version: int) -> None:
        c.execute(f"PRAGMA user_version = {int(version)}")

    def integrity_check(self) -> str:
        return self.read("PRAGMA integrity_check")[0][0]

    def close(self) -> None:
        with self.lock:
            self.conn.close()
