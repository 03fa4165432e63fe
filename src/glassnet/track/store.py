"""The run store: one SQLite database (WAL mode) plus content-addressed blobs, in one folder.

Every SQL statement of glassnet lives in this module (the opening PRAGMAs: connection.py).
report/, cli and ui read recorded runs only through the query methods of :class:`Store`.

Concurrency: each process keeps one connection per store (shared by its threads under
a lock), waits up to 30 s on a busy database, and starts every write with
``BEGIN IMMEDIATE`` so that writers queue for the lock instead of failing. Rows logged
during training go through a :class:`~glassnet.track.writer.BufferedWriter`, flushed
four times a second and at ``finish()`` / interpreter exit. Each flush also stamps the
runs this process has open with a heartbeat (see track/heartbeat.py); a full disk or a
read-only folder gives a StoreError naming the store and the cause (track/connection.py).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import numbers
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from glassnet.track import heartbeat
from glassnet.track.blobs import BlobStore
from glassnet.track.connection import connect, read_only_error, store_error
from glassnet.track.env import hostname, process_alive
from glassnet.track.errors import ConfigError, NotFoundError, StoreError
from glassnet.track.paramstats import COLUMNS, HIST_BINS, uniform_edges
from glassnet.track.writer import BufferedWriter, logger

DB_NAME = "glassnet.db"
DEFAULT_STORE = "glassnet-runs"
STATUSES = ("running", "finished", "failed", "crashed")
LAYER_COLUMNS = ("backward_time", "update_time", "dead_share", "saturated_share")

# Each migration takes the schema from version i to i + 1. Append, never edit.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY, project TEXT NOT NULL, name TEXT NOT NULL,
            status TEXT NOT NULL, config TEXT NOT NULL DEFAULT '{}',
            summary TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',
            group_id TEXT, created_at REAL NOT NULL, finished_at REAL, heartbeat_at REAL,
            error TEXT, host TEXT, pid INTEGER, pid_start TEXT,
            env TEXT NOT NULL DEFAULT '{}', seq INTEGER NOT NULL)""",
        "CREATE INDEX runs_by_project ON runs (project, created_at)",
        "CREATE INDEX runs_by_status ON runs (status)",
        """CREATE TABLE metrics (
            run_id TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL,
            value REAL, time REAL NOT NULL,
            PRIMARY KEY (run_id, key, step)) WITHOUT ROWID""",
        # Many steps of one metric in one row (the watch's per-step loss): steps as int64
        # bytes, or NULL when they run first_step, first_step + 1, ...; values as float64.
        """CREATE TABLE metric_series (
            run_id TEXT NOT NULL, key TEXT NOT NULL, first_step INTEGER NOT NULL,
            steps BLOB, "values" BLOB NOT NULL, time REAL NOT NULL,
            PRIMARY KEY (run_id, key, first_step)) WITHOUT ROWID""",
        # The watch's statistics come in batches of steps; one row holds a batch, as
        # arrays: ``steps`` int64 (m,); param_stats ``stats`` float64 (m, k, 14) in
        # paramstats.COLUMNS order for the k Variables named by its layout,
        # ``hist_counts`` uint16/int32 (m, k, 64) and ``hist_edges`` float64 (m, k, 65)
        # or NULL (64 equal bins over each [min, max]); layer_stats ``data`` float64
        # (m, n_layers, 4) in LAYER_COLUMNS order for the layers named (JSON) in ``layers``.
        """CREATE TABLE param_layouts (
            run_id TEXT NOT NULL, layout TEXT NOT NULL, paths TEXT NOT NULL,
            PRIMARY KEY (run_id, layout)) WITHOUT ROWID""",
        """CREATE TABLE param_stats (
            run_id TEXT NOT NULL, first_step INTEGER NOT NULL, layout TEXT NOT NULL,
            steps BLOB NOT NULL, stats BLOB NOT NULL, hist_counts BLOB, hist_edges BLOB,
            time REAL NOT NULL, PRIMARY KEY (run_id, first_step, layout))""",
        """CREATE TABLE layer_stats (
            run_id TEXT NOT NULL, first_step INTEGER NOT NULL, layers TEXT NOT NULL,
            steps BLOB NOT NULL, data BLOB NOT NULL, time REAL NOT NULL,
            PRIMARY KEY (run_id, first_step, layers)) WITHOUT ROWID""",
        """CREATE TABLE snapshots (
            run_id TEXT NOT NULL, step INTEGER NOT NULL, label TEXT NOT NULL,
            sha TEXT NOT NULL, time REAL NOT NULL,
            PRIMARY KEY (run_id, step)) WITHOUT ROWID""",
        """CREATE TABLE datasets (
            name TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL, sha TEXT,
            meta TEXT NOT NULL DEFAULT '{}', run_id TEXT, created_at REAL NOT NULL,
            PRIMARY KEY (name, version), UNIQUE (name, hash))""",
        """CREATE TABLE models (
            name TEXT NOT NULL, version INTEGER NOT NULL, sha TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}', run_id TEXT, created_at REAL NOT NULL,
            PRIMARY KEY (name, version))""",
        """CREATE TABLE model_aliases (
            name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL,
            PRIMARY KEY (name, alias))""",
        """CREATE TABLE artifacts (
            id INTEGER PRIMARY KEY, run_id TEXT, kind TEXT NOT NULL, name TEXT NOT NULL,
            version INTEGER, sha TEXT, size INTEGER, created_at REAL NOT NULL)""",
        "CREATE INDEX artifacts_by_run ON artifacts (run_id)",
    ],
    [
        # The architecture of a run's model: ``model.get_config()`` as JSON (layer order,
        # class names, units, activations), so readers need not guess it from names; and
        # ``model.get_compile_config()`` (loss, optimizer, metrics) or NULL, to rebuild it.
        """CREATE TABLE model_configs (
            run_id TEXT PRIMARY KEY, config TEXT NOT NULL, compile_config TEXT,
            time REAL NOT NULL) WITHOUT ROWID""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)

_INSERTS = {
    "metrics": "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?)",
    "metric_series": "INSERT OR REPLACE INTO metric_series VALUES (?, ?, ?, ?, ?, ?)",
    "param_layouts": "INSERT OR IGNORE INTO param_layouts VALUES (?, ?, ?)",
    "param_stats": "INSERT OR REPLACE INTO param_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "layer_stats": "INSERT OR REPLACE INTO layer_stats VALUES (?, ?, ?, ?, ?, ?)",
    "snapshots": "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?)",
}
_RUN_FIELDS = (
    "id", "project", "name", "status", "config", "summary", "tags", "group_id", "created_at",
    "finished_at", "heartbeat_at", "error", "host", "pid", "pid_start", "env",
)
_PID_START = _RUN_FIELDS.index("pid_start")
_ADJECTIVES = (
    "amber", "brisk", "calm", "clever", "crisp", "dapper", "eager", "fancy", "gentle", "glad",
    "hardy", "jolly", "keen", "lively", "lucky", "mellow", "misty", "nimble", "proud", "quiet",
    "rapid", "rosy", "sleek", "snowy", "sunny", "swift", "tidy", "vivid", "warm", "witty",
)
_NOUNS = (
    "badger", "bison", "crane", "dawn", "dune", "falcon", "fern", "forest", "frost", "glade",
    "heron", "lake", "lynx", "meadow", "moon", "otter", "pine", "planet", "river", "sky",
    "sparrow", "star", "stone", "sun", "thunder", "tide", "valley", "wave", "willow", "wind",
)


def to_json(value) -> str:
    return json.dumps(value, default=_json_default, sort_keys=True)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _float_or_nan(value) -> float:
    return float("nan") if value is None else value


class RunRecord(dict):
    """One run as read from the store: a dict whose keys also read as attributes.

    Keys: ``id, project, name, status, config, summary, tags, group_id, created_at,
    finished_at, heartbeat_at, error, host, pid, env`` (``config``, ``summary`` and
    ``env`` are dicts, ``tags`` a list, times are Unix seconds).
    """

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Store:
    """A folder holding ``glassnet.db`` and ``blobs/``; get one with :func:`open_store`."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()
        self.db_path = self.root / DB_NAME
        try:
            if not self.root.is_dir():
                self.root.mkdir(parents=True, exist_ok=True)
            self._conn, self.read_only = connect(self.db_path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store {self.db_path}: {exc}") from exc
        self.blobs = BlobStore(self.root / "blobs")
        self._pid = os.getpid()
        self._db_lock = threading.RLock()
        self._live: set[str] = set()  # runs this process has open: it beats for them
        self._migrate()
        self.writer = BufferedWriter(self._flush, beat_fn=self._beat,
                                     beat_interval=heartbeat.BEAT_S)
        self.mark_crashed()

    # -- connection and schema ------------------------------------------------------
    def _migrate(self) -> None:
        version = self._user_version()
        if version == SCHEMA_VERSION:
            return
        if self.read_only is not None and version < SCHEMA_VERSION:
            raise StoreError(f"store {self.root} has schema version {version}, older than "
                             f"this glassnet's ({SCHEMA_VERSION}), and is read-only "
                             f"({self.read_only}), so it cannot be upgraded; copy it to a "
                             "writable folder to read it")
        with self._write() as c:  # re-read under the write lock: another process may have won
            version = c.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"store {self.root} has schema version {version}, newer than this "
                    f"glassnet understands ({SCHEMA_VERSION}); upgrade glassnet"
                )
            for statements in MIGRATIONS[version:]:
                for sql in statements:
                    c.execute(sql)
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _user_version(self) -> int:
        with self._db_lock:
            return self._conn.execute("PRAGMA user_version").fetchone()[0]

    @property
    def schema_version(self) -> int:
        return self._user_version()

    @contextmanager
    def _write(self):
        """A write transaction: BEGIN IMMEDIATE takes the write lock up front (waiting for it)."""
        with self._db_lock:
            if self.read_only is not None:
                raise read_only_error(self.root, self.read_only)
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:  # after SQLITE_FULL SQLite has rolled back
                        self._conn.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError) as exc:
                error = store_error(self.root, exc)
                if error is None:
                    raise
                raise error from exc

    def _read(self, sql: str, params=()) -> list[tuple]:
        if self.writer.pending and self.writer.failure is None:
            try:  # a process reads its own rows, flushed or not
                self.writer.flush()
            except StoreError:  # the disk is full: read what is there; the writer retries
                pass
        with self._db_lock:
            return self._conn.execute(sql, params).fetchall()

    def _flush(self, rows: dict[str, list[tuple]], updates: dict[tuple, object]) -> None:
        now = time.time()
        rows = dict(rows)
        for job in rows.pop("deferred", []):  # e.g. the watch's statistics, computed here
            try:
                for kind, item in job():
                    rows.setdefault(kind, []).append(item)
            except Exception:
                logger.exception("glassnet.track: a deferred summary failed; its rows are lost")
        snapshots = rows.pop("snapshot", [])
        created: list[Path] = []  # new blobs: deleted again if their rows cannot be written
        try:
            if snapshots:  # blobs first, outside the transaction: rows never name a missing blob
                rows["snapshots"] = [(run_id, step, label, self.blobs.put_arrays(arrays, created),
                                      t) for run_id, step, label, arrays, t in snapshots]
            self._flush_rows(rows, updates, now)
        except BaseException as exc:
            self._discard_unnamed(created)
            error = store_error(self.root, exc) if isinstance(exc, OSError) else None
            if error is None or isinstance(exc, StoreError):
                raise
            raise error from exc

    def _flush_rows(self, rows: dict[str, list[tuple]], updates: dict[tuple, object],
                    now: float) -> None:
        blocks = rows.pop("param_block", [])
        if blocks:
            layouts, stats = _param_rows(blocks)
            rows["param_layouts"] = layouts
            rows["param_stats"] = stats
        layer_blocks = rows.pop("layer_block", [])
        if layer_blocks:
            rows["layer_stats"] = [
                (run_id, int(steps[0]), json.dumps(list(layers)),
                 np.asarray(steps, dtype=np.int64).tobytes(),
                 np.ascontiguousarray(data, dtype=np.float64).tobytes(), times[-1])
                for run_id, steps, layers, data, times in layer_blocks if len(steps)]
        series = rows.pop("metric_block", [])
        if series:
            rows["metric_series"] = [_series_row(*block) for block in series]
        with self._write() as c:
            for table, batch in rows.items():
                c.executemany(_INSERTS[table], batch)
            for (kind, run_id), value in updates.items():
                if kind == "summary":
                    c.execute(
                        "UPDATE runs SET summary = ?, heartbeat_at = ? WHERE id = ?",
                        (to_json(dict(value)), now, run_id),
                    )
            self._stamp(c, now)

    def _stamp(self, c, now: float) -> None:
        """The heartbeat: every run this process has open is alive at ``now``."""
        c.executemany("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'",
                      [(now, run_id) for run_id in list(self._live)])

    def _beat(self) -> None:
        if self._live:
            with self._write() as c:
                self._stamp(c, time.time())

    def _discard_unnamed(self, created: list[Path]) -> None:
        """Delete new blobs that no row names (another process may have named the same)."""
        if not created:
            return
        named = set()
        with self._db_lock:
            for path in created:
                sha = path.name
                if self._conn.execute(
                        "SELECT 1 FROM snapshots WHERE sha = ? UNION ALL SELECT 1 FROM"
                        " artifacts WHERE sha = ? LIMIT 1", (sha, sha)).fetchone():
                    named.add(path)
        self.blobs.discard([p for p in created if p not in named])

    def flush(self) -> None:
        """Write every buffered row now."""
        self.writer.flush()

    def close(self) -> None:
        """Flush, stop the writer thread and close the connection.

        StoreError if rows could not be written (a full disk): they are lost then."""
        try:
            self.writer.close()
        finally:
            with self._db_lock:
                self._conn.close()
            _forget(self)

    def integrity_check(self) -> str:
        """``"ok"`` when SQLite finds the database sound."""
        return self._read("PRAGMA integrity_check")[0][0]

    # -- runs: writes ---------------------------------------------------------------
    def create_run(self, project, name, config, tags, group_id, env, pid_start) -> tuple[str, str]:
        """Insert a new run in status ``running``; return ``(id, name)``."""
        import uuid

        now = time.time()
        with self._write() as c:
            seq = c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM runs").fetchone()[0]
            if name is None:
                name = _run_name(seq)
            while True:
                run_id = uuid.uuid4().hex[:8]
                if not c.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                    break
            c.execute(
                "INSERT INTO runs (id, project, name, status, config, summary, tags, group_id,"
                " created_at, heartbeat_at, host, pid, pid_start, env, seq)"
                " VALUES (?, ?, ?, 'running', ?, '{}', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, project, name, to_json(config or {}), to_json(list(tags or [])),
                 group_id, now, now, env.get("host"), env.get("pid"), pid_start, to_json(env), seq),
            )
        self._live.add(run_id)
        self.writer.start()  # it beats for the run even while nothing is logged
        return run_id, name

    def finish_run(self, run_id: str, status: str, summary: dict, error: str | None = None) -> None:
        if status not in STATUSES:
            raise ConfigError(f"run status must be one of {sorted(STATUSES)}, got {status!r}")
        try:
            self.writer.flush()
        except StoreError as exc:
            self._live.discard(run_id)
            self._fail_unwritten(run_id, summary, exc)
        now = time.time()
        with self._write() as c:
            c.execute(
                "UPDATE runs SET status = ?, summary = ?, finished_at = ?, heartbeat_at = ?,"
                " error = ? WHERE id = ?",
                (status, to_json(summary), now, now, error, run_id),
            )
        self._live.discard(run_id)

    def _fail_unwritten(self, run_id: str, summary: dict, exc: StoreError) -> None:
        """Close the run ``failed`` with why its rows could not be written; raise StoreError."""
        held, dropped = self.writer.pending, self.writer.dropped
        cause = f"{held} rows could not be written to the store: {exc}"
        if dropped:
            cause += f"; {dropped} more were dropped (past the bound on rows held in memory)"
        try:
            now = time.time()
            with self._write() as c:
                c.execute("UPDATE runs SET status = 'failed', summary = ?, finished_at = ?,"
                          " heartbeat_at = ?, error = ? WHERE id = ?",
                          (to_json(summary), now, now, cause, run_id))
            outcome = "the run is recorded as failed with this cause"
        except StoreError:
            outcome = "it could not be recorded as failed either, so it will read crashed"
        raise StoreError(f"run {run_id}: {cause}; {outcome}. The rows stay in memory and "
                         "store.flush() retries them") from exc

    def update_run(self, run_id: str, *, tags=None, group_id=None, config=None) -> None:
        """Change a run's tags, group or config (e.g. a sweep tagging its trials)."""
        with self._write() as c:
            if tags is not None:
                c.execute("UPDATE runs SET tags = ? WHERE id = ?", (to_json(list(tags)), run_id))
            if group_id is not None:
                c.execute("UPDATE runs SET group_id = ? WHERE id = ?", (group_id, run_id))
            if config is not None:
                c.execute("UPDATE runs SET config = ? WHERE id = ?", (to_json(config), run_id))

    def mark_crashed(self) -> list[str]:
        """Mark ``crashed`` every run left ``running`` by a process of this host that is gone."""
        if self.read_only is not None:
            return []  # readers still see them crashed: see _judged
        rows = self._read(
            "SELECT id, pid, pid_start FROM runs WHERE status = 'running' AND host = ?",
            (hostname(),),
        )
        dead = [run_id for run_id, pid, start in rows
                if pid is None or not process_alive(pid, start)]
        if dead:
            try:
                with self._write() as c:
                    for run_id in dead:
                        c.execute(
                            "UPDATE runs SET status = 'crashed', finished_at = heartbeat_at,"
                            " error = 'process ' || pid || ' on ' || host || ' ended without"
                            " finishing the run' WHERE id = ? AND status = 'running'",
                            (run_id,),
                        )
            except StoreError:
                pass  # a full disk: opening still works, and readers see them crashed
        return dead

    def set_model_config(self, run_id: str, config: dict, compile_config: dict | None = None
                         ) -> None:
        """Record the run's model architecture (``model.get_config()``) and, optionally, its
        ``model.get_compile_config()``, replacing different ones recorded before.

        Written at once, not buffered: readers may rebuild the model from it any time."""
        if not isinstance(config, dict):
            raise ConfigError(f"model config of run {run_id!r} must be a dict "
                              f"(model.get_config()), got {type(config).__name__}")
        if compile_config is not None and not isinstance(compile_config, dict):
            raise ConfigError(f"compile config of run {run_id!r} must be a dict "
                              f"(model.get_compile_config()) or None, got "
                              f"{type(compile_config).__name__}")
        text = to_json(config)
        compiled = None if compile_config is None else to_json(compile_config)
        with self._write() as c:  # rewrite only when it changed: a second fit keeps its row
            c.execute("INSERT INTO model_configs VALUES (?, ?, ?, ?) ON CONFLICT (run_id)"
                      " DO UPDATE SET config = excluded.config,"
                      " compile_config = excluded.compile_config, time = excluded.time"
                      " WHERE config != excluded.config"
                      " OR compile_config IS NOT excluded.compile_config",
                      (run_id, text, compiled, time.time()))

    # -- rows written during training (buffered) -----------------------------------
    def log_metrics(self, run_id: str, step: int, values: dict[str, float], t: float) -> None:
        self.writer.extend("metrics", [(run_id, k, step, v, t) for k, v in values.items()])

    def log_summary(self, run_id: str, summary: dict) -> None:
        """Queue the run's summary dict; it is serialised when the writer flushes."""
        self.writer.update(("summary", run_id), summary)

    def log_param_block(self, run_id: str, steps: list[int], paths: list[str],
                        stats: np.ndarray, counts: np.ndarray | None, edges: np.ndarray | None,
                        times: list[float]) -> None:
        """Queue the statistics of every Variable at many steps, as arrays.

        ``paths`` (k,) names the Variables; ``stats`` (n_steps, k, 14) in
        :data:`glassnet.track.paramstats.COLUMNS` order; ``counts`` (n_steps, k, 64)
        histogram counts or None; ``edges`` (n_steps, k, 65), or None when each histogram
        spans its Variable's [min, max] in 64 equal bins. The arrays must not change
        afterwards: rows are made from them in the writer thread.
        """
        self.writer.add("param_block", (run_id, steps, paths, stats, counts, edges, times))

    def log_metric_series(self, run_id: str, key: str, steps, values, t: float) -> None:
        """Queue many steps of one metric as one row: ``steps`` an int range or sequence,
        ``values`` a sequence of floats (the watch's per-step loss). Neither may change."""
        self.writer.add("metric_block", (run_id, key, steps, values, t))

    def log_layer_block(self, run_id: str, steps: list[int], layers: list[str],
                        data: np.ndarray, times: list[float]) -> None:
        """Queue per-layer measurements of many steps: ``data`` (n_steps, n_layers, 4) in
        :data:`LAYER_COLUMNS` order (seconds, seconds, shares; NaN where not measured)."""
        self.writer.add("layer_block", (run_id, steps, layers, data, times))

    def defer(self, job) -> None:
        """Queue ``job()``, run by the writer thread before it writes; it returns
        ``[(kind, item)]`` with kind ``"param_block"``, ``"layer_block"`` or
        ``"metric_block"`` and item the arguments of the matching ``log_*`` method."""
        self.writer.add("deferred", job)

    def log_snapshot(self, run_id: str, step: int, label: str, arrays: dict) -> None:
        """Queue ``{path: ndarray}`` (copies the caller will not touch again) as a snapshot;
        the writer thread saves the safetensors blob, then its row."""
        self.writer.add("snapshot", (run_id, int(step), label, arrays, time.time()),
                        nbytes=sum(np.asarray(a).nbytes for a in arrays.values()))

    # -- registry: datasets, models, artifacts --------------------------------------
    def register_dataset(self, name, content_hash, sha, meta, run_id, size) -> int:
        """Version of dataset ``name`` with this content (a new one if unseen); link the run."""
        now = time.time()
        with self._write() as c:
            row = c.execute(
                "SELECT version FROM datasets WHERE name = ? AND hash = ?", (name, content_hash)
            ).fetchone()
            if row:
                version = row[0]
            else:
                version = c.execute(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM datasets WHERE name = ?", (name,)
                ).fetchone()[0]
                c.execute(
                    "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, version, content_hash, sha, to_json(meta), run_id, now),
                )
            if run_id is not None:
                c.execute(
                    "INSERT INTO artifacts (run_id, kind, name, version, sha, size, created_at)"
                    " VALUES (?, 'dataset', ?, ?, ?, ?, ?)",
                    (run_id, name, version, sha, size, now),
                )
        return version

    def register_model(self, name, sha, meta, run_id, aliases, size) -> int:
        """Add a new version of model ``name`` and point ``aliases`` at it; return the version."""
        now = time.time()
        with self._write() as c:
            version = c.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?", (name,)
            ).fetchone()[0]
            c.execute(
                "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?)",
                (name, version, sha, to_json(meta), run_id, now),
            )
            for alias in aliases:
                c.execute(
                    "INSERT OR REPLACE INTO model_aliases VALUES (?, ?, ?)", (name, alias, version)
                )
            c.execute(
                "INSERT INTO artifacts (run_id, kind, name, version, sha, size, created_at)"
                " VALUES (?, 'model', ?, ?, ?, ?, ?)",
                (run_id, name, version, sha, size, now),
            )
        return version

    def add_artifact(self, run_id, kind, name, sha, size) -> None:
        with self._write() as c:
            c.execute(
                "INSERT INTO artifacts (run_id, kind, name, version, sha, size, created_at)"
                " VALUES (?, ?, ?, NULL, ?, ?, ?)",
                (run_id, kind, name, sha, size, time.time()),
            )

    # -- queries ---------------------------------------------------------------------
    def resolve_run_id(self, run_id: str) -> str:
        """The full id of the run named by ``run_id`` or by a unique prefix of it."""
        if not isinstance(run_id, str) or not run_id:
            raise NotFoundError(f"run id must be a non-empty string, got {run_id!r}")
        rows = self._read(
            "SELECT id FROM runs WHERE id >= ? AND id < ? LIMIT 2", (run_id, run_id + "\uffff")
        )
        if len(rows) == 1:
            return rows[0][0]
        if not rows:
            raise NotFoundError(f"no run with id {run_id!r} in store {self.root}")
        exact = self._read("SELECT id FROM runs WHERE id = ?", (run_id,))
        if exact:
            return exact[0][0]
        raise NotFoundError(f"run id prefix {run_id!r} matches several runs in {self.root}")

    def run(self, run_id: str) -> RunRecord:
        """One run by id (or unique id prefix)."""
        run_id = self.resolve_run_id(run_id)
        row = self._read(f"SELECT {', '.join(_RUN_FIELDS)} FROM runs WHERE id = ?", (run_id,))
        return self._judged(row)[0]

    def runs(self, project=None, status=None, tag=None, group_id=None) -> list[RunRecord]:
        """Runs, newest first, optionally only of one project, status, tag or group."""
        where, params = [], []
        if project is not None:
            where.append("project = ?")
            params.append(project)
        if status is not None:
            if status not in STATUSES:
                raise ConfigError(f"status must be one of {sorted(STATUSES)}, got {status!r}")
            if status in ("running", "crashed"):  # a running run may read crashed now
                where.append("status IN ('running', 'crashed')")
            else:
                where.append("status = ?")
                params.append(status)
        if group_id is not None:
            where.append("group_id = ?")
            params.append(group_id)
        sql = f"SELECT {', '.join(_RUN_FIELDS)} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._read(sql + " ORDER BY created_at DESC, seq DESC", params)
        records = self._judged(rows)
        if status is not None:
            records = [r for r in records if r["status"] == status]
        if tag is not None:
            records = [r for r in records if tag in r["tags"]]
        return records

    def _judged(self, rows: list[tuple]) -> list[RunRecord]:
        """Records of ``rows``, a dead or silent ``running`` run read ``crashed`` (heartbeat.py)."""
        records, dead, now = [], [], time.time()
        for row in rows:
            record = _run_record(row)
            records.append(record)
            if record["status"] == "running" and record["id"] not in self._live:
                if heartbeat.judge(record, row[_PID_START], now) == "dead":
                    dead.append(record["id"])
        if dead and self.read_only is None:
            self.mark_crashed()  # record what is certain: a process of this host that is gone
        return records

    def projects(self) -> list[str]:
        return [r[0] for r in self._read("SELECT DISTINCT project FROM runs ORDER BY project")]

    def metric_keys(self, run_id: str) -> list[str]:
        run_id = self.resolve_run_id(run_id)
        rows = self._read("SELECT key FROM metrics WHERE run_id = ? UNION"
                          " SELECT key FROM metric_series WHERE run_id = ?", (run_id, run_id))
        return sorted(r[0] for r in rows)

    def metrics(self, run_id: str, key: str, max_points: int | None = None):
        """``(steps, values)`` of one metric, steps ascending (int64 and float64 arrays).

        With ``max_points``, at most that many points, chosen evenly over the recorded
        ones and always keeping the first and the last.
        """
        run_id = self.resolve_run_id(run_id)
        rows = self._read(
            "SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step",
            (run_id, key),
        )
        steps = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        values = np.fromiter((_float_or_nan(r[1]) for r in rows), dtype=np.float64, count=len(rows))
        series = self._read(
            'SELECT first_step, steps, "values" FROM metric_series WHERE run_id = ? AND key = ?'
            " ORDER BY first_step", (run_id, key))
        if series:
            parts_s, parts_v = [steps], [values]
            for first, blob_steps, blob_values in series:
                v = np.frombuffer(blob_values, dtype=np.float64)
                parts_v.append(v)
                parts_s.append(first + np.arange(len(v), dtype=np.int64) if blob_steps is None
                               else np.frombuffer(blob_steps, dtype=np.int64))
            steps, values = np.concatenate(parts_s), np.concatenate(parts_v)
            order = np.argsort(steps, kind="stable")
            steps, values = steps[order], values[order]
            if len(steps) > 1 and not np.all(np.diff(steps)):  # a step logged twice: keep the last
                last = np.append(steps[1:] != steps[:-1], True)
                steps, values = steps[last], values[last]
        if max_points is not None:
            keep = thin_indices(len(steps), max_points)
            steps, values = steps[keep], values[keep]
        return steps, values

    def param_paths(self, run_id: str) -> list[str]:
        """Paths of the Variables with recorded statistics (``"dense/kernel"``...), sorted."""
        run_id = self.resolve_run_id(run_id)
        rows = self._read("SELECT paths FROM param_layouts WHERE run_id = ?", (run_id,))
        return sorted({p for (paths,) in rows for p in json.loads(paths)})

    def _param_blocks(self, run_id: str, with_histograms: bool):
        """Yield ``(step, paths, stats (k, 14), counts (k, 64) | None, edges | None)`` by step."""
        layouts = {layout: json.loads(paths) for layout, paths in self._read(
            "SELECT layout, paths FROM param_layouts WHERE run_id = ?", (run_id,))}
        columns = "hist_counts, hist_edges" if with_histograms else "NULL, NULL"
        rows = self._read(f"SELECT layout, steps, stats, {columns} FROM param_stats"
                          " WHERE run_id = ? ORDER BY first_step", (run_id,))
        for layout, steps, stats, counts, edges in rows:
            paths = layouts[layout]
            k = len(paths)
            steps = np.frombuffer(steps, dtype=np.int64)
            m = len(steps)
            stats = np.frombuffer(stats, dtype=np.float64).reshape(m, k, len(COLUMNS))
            if counts is not None:
                dtype = np.uint16 if len(counts) == 2 * HIST_BINS * k * m else np.int32
                counts = np.frombuffer(counts, dtype=dtype).reshape(m, k, HIST_BINS)
            if edges is not None:
                edges = np.frombuffer(edges, dtype=np.float64).reshape(m, k, HIST_BINS + 1)
            for i, step in enumerate(steps.tolist()):
                yield (step, paths, stats[i], None if counts is None else counts[i],
                       None if edges is None else edges[i])

    def param_stats(self, run_id: str, path: str | None = None) -> list[dict]:
        """Statistics of each Variable at each recorded step: a list of dicts, by path then step.

        Each dict: ``step, path, count, mean, std, min, max, l2, neg_share`` (of the
        value), ``grad_mean, grad_std, grad_min, grad_max, grad_l2, grad_neg_share`` (of
        its gradient), ``update_ratio`` (‖ΔW‖/‖W‖ of that step's update; NaN when not
        measured) and ``histogram``: ``(counts int64 (64,), edges float64 (65,))`` of the
        value, or None.
        """
        run_id = self.resolve_run_id(run_id)
        out = []
        for step, paths, stats, counts, edges in self._param_blocks(run_id, True):
            for i, p in enumerate(paths):
                if path is not None and p != path:
                    continue
                record = dict(zip(COLUMNS, stats[i].tolist(), strict=True))
                record["count"] = int(record["count"])
                record["step"], record["path"] = step, p
                record["histogram"] = _histogram(counts, edges, i, record["min"], record["max"])
                out.append(record)
        out.sort(key=lambda r: r["path"])  # stable: steps stay ascending within a path
        return out

    def param_series(self, run_id: str, path: str, field: str):
        """``(steps, values)`` of one statistic of one Variable, e.g. ``("dense/kernel", "l2")``."""
        if field not in COLUMNS:
            raise ConfigError(f"field must be one of {sorted(COLUMNS)}, got {field!r}")
        run_id = self.resolve_run_id(run_id)
        column = COLUMNS.index(field)
        steps, values = [], []
        for step, paths, stats, _, _ in self._param_blocks(run_id, False):
            if path in paths:
                steps.append(step)
                values.append(stats[paths.index(path), column])
        return np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64)

    def histograms(self, run_id: str, path: str):
        """``(steps (n,), edges (n, 65), counts (n, 64))`` of one Variable's value histogram."""
        run_id = self.resolve_run_id(run_id)
        steps, all_edges, all_counts = [], [], []
        for step, paths, stats, counts, edges in self._param_blocks(run_id, True):
            if counts is None or path not in paths:
                continue
            i = paths.index(path)
            c, e = _histogram(counts, edges, i, stats[i, 3], stats[i, 4])
            steps.append(step)
            all_counts.append(c)
            all_edges.append(e)
        return (np.array(steps, dtype=np.int64),
                np.array(all_edges, dtype=np.float64).reshape(-1, HIST_BINS + 1),
                np.array(all_counts, dtype=np.int64).reshape(-1, HIST_BINS))

    def layer_stats(self, run_id: str, layer: str | None = None) -> list[dict]:
        """Per layer and recorded step, by layer then step: dicts of ``step, layer,
        backward_time`` (seconds in its backward pass), ``update_time`` (the optimizer's
        seconds for the step, shared among layers by parameter count), ``dead_share``
        (share of ReLU units that output 0 for the whole batch) and ``saturated_share``
        (share of sigmoid/tanh units in their flat region for the whole batch); NaN
        where not measured (e.g. dead_share of a sigmoid layer)."""
        run_id = self.resolve_run_id(run_id)
        rows = self._read("SELECT layers, steps, data FROM layer_stats WHERE run_id = ?"
                          " ORDER BY first_step", (run_id,))
        out = []
        for layers, steps, data in rows:
            names = json.loads(layers)
            steps = np.frombuffer(steps, dtype=np.int64).tolist()
            values = np.frombuffer(data, dtype=np.float64).reshape(
                len(steps), len(names), len(LAYER_COLUMNS)).tolist()
            for step, per_layer in zip(steps, values, strict=True):
                for name, row in zip(names, per_layer, strict=True):
                    if layer is None or name == layer:
                        out.append({"step": step, "layer": name,
                                    **dict(zip(LAYER_COLUMNS, row, strict=True))})
        out.sort(key=lambda r: r["layer"])  # stable: steps stay ascending
        return out

    def model_config(self, run_id: str) -> dict | None:
        """The run's model architecture as ``model.get_config()`` gave it, or None if unrecorded."""
        return self._model_configs(run_id)[0]

    def model_compile_config(self, run_id: str) -> dict | None:
        """The run's ``model.get_compile_config()`` (loss, optimizer, metrics), or None."""
        return self._model_configs(run_id)[1]

    def _model_configs(self, run_id: str) -> tuple[dict | None, dict | None]:
        run_id = self.resolve_run_id(run_id)
        row = self._read("SELECT config, compile_config FROM model_configs WHERE run_id = ?",
                         (run_id,))
        if not row:
            return None, None
        config, compiled = row[0]
        return json.loads(config), None if compiled is None else json.loads(compiled)

    def snapshots(self, run_id: str) -> list[int]:
        """Steps at which the run saved a snapshot of every Variable, ascending."""
        run_id = self.resolve_run_id(run_id)
        rows = self._read("SELECT step FROM snapshots WHERE run_id = ? ORDER BY step", (run_id,))
        return [r[0] for r in rows]

    def snapshot_info(self, run_id: str) -> list[dict]:
        """``[{step, label, sha, time}]``: label is ``"epoch"``, ``"step"`` or ``"end"``."""
        run_id = self.resolve_run_id(run_id)
        rows = self._read(
            "SELECT step, label, sha, time FROM snapshots WHERE run_id = ? ORDER BY step", (run_id,)
        )
        return [dict(zip(("step", "label", "sha", "time"), r)) for r in rows]

    def snapshot(self, run_id: str, step: int | str = "end") -> dict[str, np.ndarray]:
        """Every Variable of the run at ``step`` as ``{path: ndarray}``.

        ``step`` may be a step number or ``"end"`` / ``"last"`` for the latest snapshot.
        """
        run_id = self.resolve_run_id(run_id)
        if step in ("end", "last"):
            row = self._read(
                "SELECT sha FROM snapshots WHERE run_id = ? ORDER BY step DESC LIMIT 1", (run_id,)
            )
        else:
            if (isinstance(step, bool) or not isinstance(step, numbers.Integral)
                    or not -1 <= step < 2 ** 63):
                raise ConfigError(f"step must be 'end' or a step number from -1 to 2**63 - 1 "
                                  f"(a snapshot's step), got {step!r}")
            row = self._read(
                "SELECT sha FROM snapshots WHERE run_id = ? AND step = ?", (run_id, int(step))
            )
        if not row:
            raise NotFoundError(
                f"run {run_id!r} has no snapshot at step {step!r}; "
                f"snapshots at steps {self.snapshots(run_id)}"
            )
        return self.blobs.get_arrays(row[0][0])

    def artifacts(self, run_id: str | None = None) -> list[dict]:
        """Datasets, models and files logged (by one run, or all), oldest first.

        Each dict: ``run_id, kind ("dataset" | "model" | "file"), name, version, sha,
        size, created_at``; the blob lives at ``store.blobs.path(sha)``."""
        sql = "SELECT run_id, kind, name, version, sha, size, created_at FROM artifacts"
        params: tuple = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            params = (self.resolve_run_id(run_id),)
        keys = ("run_id", "kind", "name", "version", "sha", "size", "created_at")
        return [dict(zip(keys, r)) for r in self._read(sql + " ORDER BY id", params)]

    def datasets(self, name: str | None = None) -> list[dict]:
        """Dataset versions: ``name, version, hash, sha, meta, run_id, created_at``."""
        sql = "SELECT name, version, hash, sha, meta, run_id, created_at FROM datasets"
        params: tuple = () if name is None else (name,)
        if name is not None:
            sql += " WHERE name = ?"
        keys = ("name", "version", "hash", "sha", "meta", "run_id", "created_at")
        out = [dict(zip(keys, r)) for r in self._read(sql + " ORDER BY name, version", params)]
        for d in out:
            d["meta"] = json.loads(d["meta"])
        return out

    def run_datasets(self, run_id: str) -> list[tuple[str, int]]:
        """``[(name, version)]`` of the datasets a run logged."""
        run_id = self.resolve_run_id(run_id)
        rows = self._read(
            "SELECT DISTINCT name, version FROM artifacts WHERE run_id = ? AND kind = 'dataset'"
            " ORDER BY name, version",
            (run_id,),
        )
        return [tuple(r) for r in rows]

    def models(self, name: str | None = None) -> list[dict]:
        """Model versions: ``name, version, sha, aliases, meta, run_id, created_at``."""
        sql = "SELECT name, version, sha, meta, run_id, created_at FROM models"
        params: tuple = () if name is None else (name,)
        if name is not None:
            sql += " WHERE name = ?"
        aliases: dict[tuple, list[str]] = {}
        for n, alias, version in self._read("SELECT name, alias, version FROM model_aliases"):
            aliases.setdefault((n, version), []).append(alias)
        out = []
        rows = self._read(sql + " ORDER BY name, version", params)
        for n, version, sha, meta, run_id, created in rows:
            out.append({"name": n, "version": version, "sha": sha,
                        "aliases": sorted(aliases.get((n, version), [])),
                        "meta": json.loads(meta), "run_id": run_id, "created_at": created})
        return out

    def model_version(self, name: str, ref: str | int | None = None) -> dict:
        """The registry entry of ``name`` at ``ref``: ``"v3"``, ``3``, an alias or None.

        None means the version aliased ``latest``, else the highest version."""
        versions = {m["version"]: m for m in self.models(name)}
        if not versions:
            known = sorted({m["name"] for m in self.models()})
            raise NotFoundError(f"no model named {name!r} in the registry; models: {known}")
        if ref is None:
            aliased = any("latest" in m["aliases"] for m in versions.values())
            ref = "latest" if aliased else max(versions)
        if isinstance(ref, str) and ref[:1] in "vV" and ref[1:].isdigit():
            ref = int(ref[1:])
        elif isinstance(ref, str) and ref.isdigit():
            ref = int(ref)
        if isinstance(ref, int):
            if ref not in versions:
                raise NotFoundError(f"model {name!r} has no version v{ref}; versions: "
                                    f"{[f'v{v}' for v in sorted(versions)]}")
            return versions[ref]
        for m in versions.values():
            if ref in m["aliases"]:
                return m
        aliases = sorted({a for m in versions.values() for a in m["aliases"]})
        raise NotFoundError(f"model {name!r} has no alias {ref!r}; aliases: {aliases}")


def _run_name(seq: int) -> str:
    """``adjective-noun-<seq>``, as W&B names runs; seq makes it unique in the store."""
    return f"{_ADJECTIVES[seq * 7 % len(_ADJECTIVES)]}-{_NOUNS[seq * 13 % len(_NOUNS)]}-{seq}"


def thin_indices(n: int, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` of ``n`` points, evenly spread, first and last kept."""
    if max_points < 2:
        raise ConfigError(f"max_points must be at least 2 (first and last), got {max_points}")
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(np.int64))


def _series_row(run_id, key, steps, values, t) -> tuple:
    values = np.asarray(values, dtype=np.float64)
    if isinstance(steps, range) and steps.step == 1:
        return (run_id, key, steps.start, None, values.tobytes(), t)
    steps = np.asarray(steps, dtype=np.int64)
    first = int(steps[0]) if steps.size else 0
    consecutive = steps.size and steps[-1] - first == steps.size - 1 and np.all(np.diff(steps) == 1)
    return (run_id, key, first, None if consecutive else steps.tobytes(), values.tobytes(), t)


def _histogram(counts, edges, i: int, lo: float, hi: float):
    if counts is None:
        return None
    e = uniform_edges(lo, hi) if edges is None else edges[i].copy()
    return counts[i].astype(np.int64), e


def _param_rows(blocks) -> tuple[list[tuple], list[tuple]]:
    """Rows for param_layouts and param_stats from the watch's arrays (a row per block)."""
    layouts: dict[tuple, tuple] = {}
    rows = []
    for run_id, steps, paths, stats, counts, edges, times in blocks:
        if not len(steps):
            continue
        key = (run_id, tuple(paths))
        if key not in layouts:
            text = json.dumps(list(paths))
            layouts[key] = (run_id, hashlib.sha1(text.encode()).hexdigest()[:12], text)
        if counts is not None:
            counts = counts.astype(np.uint16 if counts.max(initial=0) <= 0xFFFF else np.int32)
            counts = counts.tobytes()
        if edges is not None:
            edges = np.ascontiguousarray(edges, dtype=np.float64).tobytes()
        rows.append((run_id, int(steps[0]), layouts[key][1],
                     np.asarray(steps, dtype=np.int64).tobytes(),
                     np.ascontiguousarray(stats, dtype=np.float64).tobytes(), counts, edges,
                     times[-1]))
    return list(layouts.values()), rows


def _run_record(row: tuple) -> RunRecord:
    record = RunRecord(zip(_RUN_FIELDS, row))
    for key in ("config", "summary", "tags", "env"):
        record[key] = json.loads(record[key]) if record[key] else ({} if key != "tags" else [])
    for key in ("summary",):
        record[key] = {k: _float_or_nan(v) for k, v in record[key].items()}
    del record["pid_start"]
    return record


# -- one Store per folder per process ----------------------------------------------
_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def resolve_store_path(store: str | os.PathLike | None = None) -> Path:
    """The folder a store lives in: ``store``, else ``$GLASSNET_STORE``, else ./glassnet-runs."""
    if store is None:
        store = os.environ.get("GLASSNET_STORE") or DEFAULT_STORE
    text = os.fspath(store)
    if "://" in text:
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


def _forget(store: Store) -> None:
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
