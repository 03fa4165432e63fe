"""Where a store lives, and one :class:`Store` per folder (or URL) per process.

A store is a folder (SQLite) or a ``postgresql://`` URL (a team's server; blobs in the
folder its ``?blobs=`` parameter or ``$GLASSNET_BLOBS`` names: postgresql.py).

Within one process the same folder always gives the same Store (one connection, one
writer thread). At interpreter exit every store this process opened is flushed; a
forked child forgets its parent's stores (their connections and threads are not its).
"""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path

from glassnet.track.errors import StoreError
from glassnet.track.store.core import Store
from glassnet.track.store.postgresql_connection import is_postgres_url
from glassnet.track.store.sqlite import DB_NAME

DEFAULT_STORE = "glassnet-runs"

_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def resolve_store_path(store: str | os.PathLike | None = None) -> Path | str:
    """The folder a store lives in: ``store``, else ``$GLASSNET_STORE``, else
    ./glassnet-runs; a ``postgresql://`` URL comes back as it is (a str)."""
    if store is None:
        store = os.environ.get("GLASSNET_STORE") or DEFAULT_STORE
    text = os.fspath(store)
    if is_postgres_url(text):
        return text
    if "://" in text:
        raise StoreError(f"store {text!r}: a store is a folder or a postgresql:// URL")
    path = Path(text).expanduser()
    if path.name == DB_NAME or (path.is_file() and path.suffix == ".db"):
        path = path.parent  # accept the database file itself
    return path.resolve()


def open_store(store: str | os.PathLike | Store | None = None) -> Store:
    """Open (creating if needed) the store at ``store`` / ``$GLASSNET_STORE`` / ./glassnet-runs.

    Opening marks ``crashed`` the runs whose process has died. Within one process the
    same folder (or URL) always gives the same :class:`Store` (one writer thread).
    """
    if isinstance(store, Store):
        return store
    where = resolve_store_path(store)
    key = str(where)
    with _stores_lock:
        existing = _stores.get(key)
        if existing is not None and existing._pid == os.getpid():
            existing.mark_crashed()
            return existing
        opened = _stores[key] = Store(where)
        return opened


def store_exists(store: str | os.PathLike | None = None) -> bool:
    """Whether a store is already there (reading commands never create one): the
    folder holds a glassnet.db, or the database holds glassnet's tables."""
    where = resolve_store_path(store)
    if isinstance(where, Path):
        return (where / DB_NAME).is_file()
    with _stores_lock:
        if where in _stores:
            return True
    from glassnet.track.store.postgresql_connection import Connections, parse_url

    location = parse_url(where)
    pool = Connections(location.conninfo, location.label, size=1)
    try:
        with pool.get() as conn:
            return bool(conn.execute("SELECT to_regclass('glassnet_schema') IS NOT NULL")
                        .fetchone()[0])
    finally:
        pool.close()


def forget(store: Store) -> None:
    """Drop a closed store: the next :func:`open_store` of its folder opens it anew."""
    with _stores_lock:
        if _stores.get(store._key) is store:
            del _stores[store._key]


def _flush_all() -> None:
    for store in list(_stores.values()):
        if store._pid == os.getpid():
            try:
                store.writer.close()
            except Exception:
                pass


def _after_fork_in_child() -> None:
    _stores.clear()  # the parent's connections and writer threads are not ours


atexit.register(_flush_all)
os.register_at_fork(after_in_child=_after_fork_in_child)
