"""Opening a store's SQLite database, and saying in plain words why SQLite failed.

A store is opened for writing when it can be; on a read-only folder or file system it
is opened read-only instead (``mode=ro``), and where SQLite cannot even create the
WAL index beside the database, as *immutable* (no locking: fine for a store nobody
writes, which is what a read-only folder holds). Writing to such a store raises
:class:`~glassnet.errors.StoreError` naming the path and saying it is read-only.

:func:`store_error` turns SQLite's "database or disk is full", "attempt to write a
readonly database" and "unable to open database file" into a StoreError that names
the store and the cause.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

BUSY_TIMEOUT_S = 30.0


def connect(db_path: Path) -> tuple[sqlite3.Connection, str | None]:
    """``(connection, None)`` read-write, or ``(connection, why)`` when only reading works."""
    why = _read_only_reason(db_path)
    if why is None:
        try:
            return _connect_rw(db_path), None
        except sqlite3.OperationalError as exc:
            if _code(exc) not in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
                raise
            if not db_path.is_file():
                raise
            why = str(exc)
    return _connect_ro(db_path), why


def _read_only_reason(db_path: Path) -> str | None:
    """Why ``db_path`` can only be read (None when it looks writable)."""
    folder = db_path.parent
    if not db_path.is_file():
        return None  # a new store: creating it must fail loudly, not open read-only
    if not os.access(folder, os.W_OK):
        return f"no write permission on {folder}"
    if not os.access(db_path, os.W_OK):
        return f"no write permission on {db_path}"
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only file system"
    except (OSError, AttributeError):
        pass
    return None  # root passes os.access: a failed open tells the rest


def _connect_rw(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:  # switching to WAL takes a brief exclusive lock; a new store's openers race
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(0.01)
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives a killed process
    return conn


def _connect_ro(db_path: Path) -> sqlite3.Connection:
    """Read-only; immutable when the WAL index (``-shm``) cannot be made or read."""
    uri = "file:" + quote(str(db_path))
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        conn = sqlite3.connect(uri + query, uri=True, timeout=BUSY_TIMEOUT_S,
                               isolation_level=None, check_same_thread=False)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            if query.endswith("immutable=1"):
                raise
    raise AssertionError("unreachable")


def _code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF  # the primary code, without extended bits


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return _code(exc) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def is_read_only(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return _code(exc) == sqlite3.SQLITE_READONLY
    return isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)


def store_error(root: Path, exc: BaseException):
    """A StoreError saying why writing to the store at ``root`` failed, or None if unknown."""
    from glassnet.errors import StoreError

    if is_disk_full(exc):
        return StoreError(f"the disk holding {root} is full ({exc})")
    if is_read_only(exc):
        return StoreError(f"store {root} is read-only ({exc}); cannot write to it")
    return None


def read_only_error(root: Path, why: str):
    from glassnet.errors import StoreError

    return StoreError(f"store {root} is read-only ({why}); it can be read, not written: "
                      "record runs in a writable folder (--store DIR or $GLASSNET_STORE)")
