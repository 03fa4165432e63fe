"""The run store: a database plus content-addressed blobs, in one folder.

``track/store`` owns the schema and every SQL statement of glassnet; report/, cli
and ui read recorded runs only through the query methods of :class:`Store`. Its
modules, one concern each:

* ``schema.py``: the tables (SQL templates, written once for every database), their
  migrations and :func:`~glassnet.track.store.schema.migrate`, safe when several
  processes open a new store at once;
* ``writes.py``: runs, metrics, parameter and layer statistics, snapshots, model
  configs and registry rows; the batched flush the writer thread calls;
* ``queries.py``: the read side (runs, metrics, statistics, snapshots, registry);
* ``records.py``: a run's columns, :class:`RunRecord`, JSON in and out;
* ``core.py``: :class:`Store`, which is the writes and the queries over one backend;
* ``opening.py``: where a store lives (``$GLASSNET_STORE``...) and one Store per
  folder per process (:func:`open_store`), flushed at exit, forgotten after fork;
* ``backend.py``: the interface a database backend implements (transactions that
  queue writers, reads, the few spellings that differ between databases);
* ``sqlite.py`` + ``sqlite_connection.py``: the SQLite backend (WAL, PRAGMAs,
  ``BEGIN IMMEDIATE``, busy waits, read-only opening, disk-full and read-only errors).

A PostgreSQL backend would be one more module beside sqlite.py implementing
backend.py's interface, chosen in opening.py for a ``postgresql://`` URL; the schema,
writes and queries stay as they are (docs/store-internals.md).

Concurrency: each process keeps one connection per store (shared by its threads under
a lock), waits up to 30 s on a busy database, and starts every write with
``BEGIN IMMEDIATE`` so that writers queue for the lock instead of failing. Rows logged
during training go through a :class:`~glassnet.track.writer.BufferedWriter`, flushed
four times a second and at ``finish()`` / interpreter exit. Each flush also stamps the
runs this process has open with a heartbeat (see track/heartbeat.py); a full disk or a
read-only folder gives a StoreError naming the store and the cause.
"""

from __future__ import annotations

from glassnet.track.store.core import Store
from glassnet.track.store.opening import DEFAULT_STORE, open_store, resolve_store_path
from glassnet.track.store.queries import thin_indices
from glassnet.track.store.records import RunRecord, to_json
from glassnet.track.store.schema import LAYER_COLUMNS, SCHEMA_VERSION, STATUSES
from glassnet.track.store.sqlite import DB_NAME, MIGRATIONS

__all__ = [
    "DB_NAME", "DEFAULT_STORE", "LAYER_COLUMNS", "MIGRATIONS", "SCHEMA_VERSION", "STATUSES",
    "RunRecord", "Store", "open_store", "resolve_store_path", "thin_indices", "to_json",
]
