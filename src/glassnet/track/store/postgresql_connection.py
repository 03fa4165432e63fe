"""Reaching a PostgreSQL server: the store's URL, a few connections per process, errors.

A store URL is libpq's (``postgresql://user:password@host:port/dbname?sslmode=...``)
plus one parameter of ours, ``blobs=FOLDER``: where the content-addressed blobs of the
store live (:func:`parse_url`). The password, if the URL has one, never appears in a
message: :attr:`Location.label` leaves it out (``PGPASSWORD`` / ``~/.pgpass`` work too).

:class:`Connections` holds at most ``size`` connections per store and process, opened
when first needed: the writer thread and a reader each get their own, so a reader does
not wait for a flush; a dashboard's many threads share the few there are. Connections
run in autocommit mode (a read is one statement); a write opens a transaction on one.
A connection the server dropped is closed and a fresh one opened at the next use.

A forked child must not use, or close, its parent's connections: closing one sends the
server a "terminate" on the socket both processes share, ending the parent's session.
After a fork each inherited connection's socket is pointed at /dev/null in the child
(``dup2``), so that the child's copy can be dropped without a word to the server.
"""

from __future__ import annotations

import os
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

CONNECT_TIMEOUT_S = 10
POOL_SIZE = 4  # per store and process: the writer thread, readers, a dashboard's threads
WAIT_S = 60.0  # for a free connection when all POOL_SIZE are busy
SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(text: str) -> bool:
    return isinstance(text, str) and text.lower().startswith(SCHEMES)


@dataclass(frozen=True)
class Location:
    conninfo: str  # what libpq connects with (our ``blobs`` parameter taken out)
    label: str  # the URL without its password: for messages
    blobs: Path  # the blob folder
    files: Path  # a local folder for what is made from the store here (HTML reports)
    key: str  # the URL as given: one Store per key per process


def parse_url(url: str) -> Location:
    """The parts of a store URL; ``blobs`` from the URL, else ``$GLASSNET_BLOBS``, else
    a local folder named after the server and database (:func:`local_folder`)."""
    from glassnet.track.errors import StoreError

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    blobs = [v for k, v in query if k == "blobs"]
    rest = urlencode([(k, v) for k, v in query if k != "blobs"], quote_via=quote)
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
    host = parts.hostname or "localhost"
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise StoreError(f"store URL {url!r}: the port is not a number ({exc})") from None
    database = parts.path.lstrip("/") or (parts.username or "postgres")
    user = f"{parts.username}@" if parts.username else ""
    netloc = f"{user}{host}" + (f":{parts.port}" if parts.port else "")
    label = urlunsplit((parts.scheme, netloc, parts.path, rest, ""))
    folder = blobs[-1] if blobs else os.environ.get("GLASSNET_BLOBS")
    if folder and "://" in folder:
        raise StoreError(f"store {label}: blobs={folder!r} names an object store; only a "
                         "folder (a shared file system path) is supported so far "
                         "(docs/store-internals.md says how one would slot in)")
    path = (Path(folder).expanduser().resolve() if folder
            else local_folder("blobs", host, port, database))
    return Location(conninfo, label, path, local_folder("files", host, port, database), url)


def local_folder(kind: str, host: str, port: int, database: str) -> Path:
    """``$XDG_DATA_HOME/glassnet/KIND/HOST-PORT-DB`` (``~/.local/share/...``): local to
    this machine. The default blob folder is one: name a shared folder (``?blobs=`` or
    ``$GLASSNET_BLOBS``) for a team, or other machines will not find this one's blobs."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{host}-{port}-{database}")
    return base / "glassnet" / kind / safe


def require_psycopg():
    from glassnet.track.errors import StoreError

    try:
        import psycopg
    except ImportError:
        raise StoreError("a postgresql:// store needs psycopg 3: "
                         "pip install 'glassnet[postgres]'") from None
    return psycopg


_all_connections: weakref.WeakSet = weakref.WeakSet()


class Connections:
    """At most ``size`` autocommit connections to one server, opened on demand."""

    def __init__(self, conninfo: str, label: str, size: int = POOL_SIZE) -> None:
        self.conninfo = conninfo
        self.label = label
        self._idle: list = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    def connect(self):
        psycopg = require_psycopg()
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True,
                                   connect_timeout=CONNECT_TIMEOUT_S,
                                   application_name="glassnet")
        except psycopg.Error as exc:
            raise connection_error(self.label, exc) from exc
        _all_connections.add(conn)
        return conn

    @contextmanager
    def get(self):
        """A connection for this thread's use until the ``with`` ends."""
        from glassnet.track.errors import StoreError

        if not self._slots.acquire(timeout=WAIT_S):
            raise StoreError(f"store {self.label}: no free connection after {WAIT_S:.0f} s "
                             f"({POOL_SIZE} per process are all busy)")
        conn = None
        try:
            with self._lock:
                if self._closed:
                    raise StoreError(f"store {self.label} is closed")
                while self._idle and conn is None:
                    conn = self._idle.pop()
                    if conn.closed or conn.broken:
                        conn = None
            if conn is None:
                conn = self.connect()
            yield conn
        finally:
            if conn is not None:
                self._give_back(conn)
            self._slots.release()

    def _give_back(self, conn) -> None:
        from psycopg import pq

        healthy = (not conn.closed and not conn.broken
                   and conn.info.transaction_status == pq.TransactionStatus.IDLE)
        with self._lock:
            if healthy and not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _silence_inherited_connections() -> None:
    """In a forked child: the parent's sockets become /dev/null, then are forgotten."""
    devnull = None
    for conn in list(_all_connections):
        try:
            fd = conn.pgconn.socket
            if devnull is None:
                devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, fd)
        except Exception:  # closed already, or no socket: nothing of the parent's to guard
            pass
    if devnull is not None:
        os.close(devnull)


os.register_at_fork(after_in_child=_silence_inherited_connections)


def connection_error(label: str, exc: BaseException):
    """A StoreError saying that the server of ``label`` cannot be reached, and why."""
    from glassnet.track.errors import StoreError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = ""
    if 'database "' in text and "does not exist" in text:
        hint = "; create it first (createdb, or CREATE DATABASE as a user allowed to)"
    return StoreError(f"cannot open store {label}: {text}{hint}")


def store_error(label: str, exc: BaseException):
    """A StoreError for the psycopg errors a store's user can act on, or None."""
    import psycopg
    from psycopg import errors

    from glassnet.track.errors import StoreError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, errors.DiskFull):
        return StoreError(f"the disk of the PostgreSQL server of {label} is full ({text})")
    if isinstance(exc, errors.ReadOnlySqlTransaction):
        return StoreError(f"store {label} is read-only ({text}); cannot write to it")
    if isinstance(exc, errors.InsufficientPrivilege):
        return StoreError(f"store {label}: the database user may not do this ({text})")
    if isinstance(exc, psycopg.DataError):
        if "NUL" in text:
            return StoreError(f"store {label}: PostgreSQL text cannot hold a NUL character "
                              f"(\\x00), and a value given has one ({text})")
        return StoreError(f"store {label} refused a value ({text})")
    if isinstance(exc, psycopg.OperationalError):
        return StoreError(f"store {label}: lost the connection to the server ({text})")
    return None
