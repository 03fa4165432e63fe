"""Where a store lives, and one :class:`Store` per folder per process.

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
from glassnet.track.store.sqlite import DB_NAME

DEFAULT_STORE = "glassnet-runs"

_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def resolve_store_path(store: str | os.PathLike | None = None) -> Path:
    """The folder a store lives in: ``store``, else ``$GLASSNET_STORE``, else ./glassnet-runs."""
    if store is None:
        store = os.environ.get("GLASSNET_STORE") or DEFAULT_STORE
    text = os.fspath(store)
    if "://" in text:  # a postgresql:// URL would choose that backend here
        raise StoreError(f"store {text!r}: only local folders are supported so far, not URLs")
    path = Path(text).expanduser()
    if path.name == DB_NAME or (path.is_file() and path.suffix == ".db"):
        path = path.parent  # accept the database file itself
    return path.resolve()


def open_store(store: str | os.PathLike | Store | None = None) -> Store:
    """Open (creating if needed) the store at ``store`` / ``$GLASSNET_STORE`` / ./glassnet-runs.

    Opening marks ``crashed`` the runs whose process has died. Within one process the
    same folder always gives the same :class:`Store` (one connection, one writer).
    """
    if isinstance(store, Store):
        return store
    path = resolve_store_path(store)
    with _stores_lock:
        existing = _stores.get(path)
        if existing is not None and existing._pid == os.getpid():
            existing.mark_crashed()
            return existing
        opened = _stores[path] = Store(path)
        return opened


def forget(store: Store) -> None:
    """Drop a closed store: the next :func:`open_store` of its folder opens it anew."""
    with _stores_lock:
        if _stores.get(store.root) is store:
            del _stores[store.root]


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
