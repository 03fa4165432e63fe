"""What the store asks of a database: the small interface each backend module implements.

The store's modules (schema, writes, queries) hold every SQL statement once, written
with ``?`` placeholders and standard SQL that SQLite and PostgreSQL both read. The few
things databases spell differently are asked of the backend:

* :attr:`Backend.types`: the column types the schema's templates name (schema.py);
* :meth:`Dialect.upsert`: "insert, or replace the row with this key" and "insert
  unless the key exists" (SQLite ``INSERT OR REPLACE`` / ``INSERT OR IGNORE``;
  elsewhere ``INSERT ... ON CONFLICT (key) DO UPDATE / DO NOTHING``);
* :attr:`Dialect.distinct`: a NULL-safe "differs from" (``IS NOT`` /
  ``IS DISTINCT FROM``);
* :meth:`Backend.schema_version` / :meth:`Backend.set_schema_version`: where the
  version lives (SQLite ``PRAGMA user_version``; elsewhere a one-row table);
* :meth:`Backend.integrity_check`: the database's own consistency check;
* :meth:`Backend.json_text`: a JSON column's text (PostgreSQL's jsonb has no NaN);
* :attr:`Backend.crash_by_heartbeat`: a store shared by many hosts judges a silent
  ``running`` run by its heartbeat alone (track/heartbeat.py), never by a pid.

A backend runs statements with ``?`` placeholders; one whose driver wants another
style (psycopg: ``%s``) translates them in its ``execute``, once per statement text.

postgresql.py is the second backend: what it spells differently is listed there.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from glassnet.track.store.records import to_json
from glassnet.track.store.schema import COLUMNS, KEYS


class Cursor(Protocol):
    """What a transaction hands out: ``execute`` (returns something with ``fetchone``
    and ``fetchall``) and ``executemany``, both with ``?`` placeholders."""

    def execute(self, sql: str, params: Any = ...) -> Any: ...

    def executemany(self, sql: str, rows: Any) -> Any: ...


class Backend(Protocol):
    """One database a store keeps its rows in (sqlite.py is one)."""

    read_only: str | None  # why only reading works, or None
    types: dict[str, str]  # the schema templates' ``${...}`` words
    migrations: list[list[str]]  # the schema spelled for this database
    distinct: str
    crash_by_heartbeat: bool  # judge every run by its heartbeat, none by its pid

    def json_text(self, value) -> str:
        """``value`` as the text of a JSON column (config, summary, tags, meta)."""

    def transaction(self, schema: bool = False) -> AbstractContextManager[Cursor]:
        """A write transaction that holds the write lock from its start (writers queue,
        they do not fail); commits on success, rolls back on error. Database errors come
        out as StoreError naming the store and the cause (a full disk, read-only)."""

    def read(self, sql: str, params: Any = ()) -> list[tuple]:
        """The rows of one query, outside any write transaction."""

    def upsert(self, table: str, ignore: bool = False) -> str:
        """The statement inserting one whole row of ``table`` (``?`` per column)."""

    def write_rows(self, c: Cursor, table: str, rows: list[tuple], statement: str) -> None:
        """Upsert the rows (a flush's batch) with ``statement``; later rows win."""

    def schema_version(self, c: Cursor | None = None) -> int: ...

    def set_schema_version(self, c: Cursor, version: int) -> None: ...

    def integrity_check(self) -> str:
        """``"ok"`` when the database finds itself sound."""

    def close(self) -> None: ...


class Dialect:
    """The standard SQL spellings; a backend overrides those its database says otherwise."""

    distinct = "IS DISTINCT FROM"
    crash_by_heartbeat = False  # one machine: this host's pids tell a dead run at once
    json_text = staticmethod(to_json)

    def upsert(self, table: str, ignore: bool = False) -> str:
        marks = ", ".join("?" * len(COLUMNS[table]))
        return f"INSERT INTO {table} VALUES ({marks}) {self.on_conflict(table, ignore)}"

    def on_conflict(self, table: str, ignore: bool = False) -> str:
        key = ", ".join(KEYS[table])
        if ignore:
            return f"ON CONFLICT ({key}) DO NOTHING"
        update = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[table]
                           if c not in KEYS[table])
        return f"ON CONFLICT ({key}) DO UPDATE SET {update}"

    def write_rows(self, c, table: str, rows: list[tuple], statement: str) -> None:
        """Upsert many rows of ``table`` (``statement``: its :meth:`upsert`), in order:
        a later row with the same key wins. A backend may load big batches faster."""
        c.executemany(statement, rows)
