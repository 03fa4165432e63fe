"""The store's write side: runs, the rows logged during training, the registry's rows.

Rows logged during training go through a :class:`~glassnet.track.writer.BufferedWriter`,
flushed four times a second and at ``finish()`` / interpreter exit, each flush in one
transaction (:meth:`Writes._flush`); runs, model configs and registry entries are
written at once. Each flush also stamps the runs this process has open with a
heartbeat (track/heartbeat.py). A snapshot's blob of at most ``blobs.INLINE_MAX`` bytes
(every snapshot of a small network) goes in the table ``inline_blobs``, in the
transaction of its row; a bigger one is a file written before its row and removed
again if the row cannot be written: no row names a missing blob, no blob stays unnamed.

:class:`Writes` is a part of :class:`~glassnet.track.store.Store`: it uses the store's
``backend`` (backend.py), ``writer``, ``blobs``, ``root``, ``read_only``, ``_inserts``
(the backend's insert statements by table), ``_json`` (the backend's JSON text) and
``_live`` (the ids of the runs this process has open, which it beats for).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from glassnet.track.blobs import INLINE_MAX, encode_arrays
from glassnet.track.env import hostname, process_alive
from glassnet.track.errors import ConfigError, StoreError
from glassnet.track.store.schema import STATUSES
from glassnet.track.store.sqlite_connection import store_error

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


class Writes:
    """Writing runs and their rows (a part of Store)."""

    def _flush(self, rows: dict[str, list[tuple]], updates: dict[tuple, object]) -> None:
        now = time.time()
        rows = dict(rows)
        snapshots = rows.pop("snapshot", [])
        created: list[Path] = []  # new blob files: deleted again if their rows cannot be
        try:                      # written
            if snapshots:
                rows["snapshots"], inline = self._snapshot_rows(snapshots, created)
                if inline:
                    rows["inline_blobs"] = inline
            self._flush_rows(rows, updates, now)
        except BaseException as exc:
            self._discard_unnamed(created)
            error = store_error(self.root, exc) if isinstance(exc, OSError) else None
            if error is None or isinstance(exc, StoreError):
                raise
            raise error from exc

    def _snapshot_rows(self, snapshots: list[tuple], created: list[Path]
                       ) -> tuple[list[tuple], list[tuple]]:
        """The snapshots' rows, and the rows of those small enough to be kept in the
        database (blobs.INLINE_MAX), written in the same transaction. Bigger ones are
        written as files now, before the transaction: rows never name a missing blob."""
        rows, inline = [], {}
        for run_id, step, label, arrays, t in snapshots:
            sha, data = encode_arrays(arrays)
            if len(data) <= INLINE_MAX:
                inline[sha] = (sha, len(data), data)
            else:
                self.blobs.put_encoded(sha, data, created)
            rows.append((run_id, step, label, sha, t))
        return rows, list(inline.values())

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
        with self.backend.transaction() as c:
            for table, batch in rows.items():
                self.backend.write_rows(c, table, batch, self._inserts[table])
            for (kind, run_id), value in updates.items():
                if kind == "summary":
                    c.execute(
                        "UPDATE runs SET summary = ?, heartbeat_at = ? WHERE id = ?",
                        (self._json(dict(value)), now, run_id),
                    )
            self._stamp(c, now)

    def _stamp(self, c, now: float) -> None:
        """The heartbeat: every run this process has open is alive at ``now``."""
        c.executemany("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'",
                      [(now, run_id) for run_id in list(self._live)])

    def _beat(self) -> None:
        if self._live:
            with self.backend.transaction() as c:
                self._stamp(c, time.time())

    def _discard_unnamed(self, created: list[Path]) -> None:
        """Delete new blobs that no row names (another process may have named the same)."""
        if not created:
            return
        named = set()
        for path in created:
            sha = path.name
            if self.backend.read(
                    "SELECT 1 FROM snapshots WHERE sha = ? UNION ALL SELECT 1 FROM"
                    " artifacts WHERE sha = ? LIMIT 1", (sha, sha)):
                named.add(path)
        self.blobs.discard([p for p in created if p not in named])

    # -- runs ---------------------------------------------------------------------
    def create_run(self, project, name, config, tags, group_id, env, pid_start) -> tuple[str, str]:
        """Insert a new run in status ``running``; return ``(id, name)``."""
        import uuid

        now = time.time()
        with self.backend.transaction() as c:
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
                (run_id, project, name, self._json(config or {}),
                 self._json(list(tags or [])), group_id, now, now, env.get("host"),
                 env.get("pid"), pid_start, self._json(env), seq),
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
        with self.backend.transaction() as c:
            c.execute(
                "UPDATE runs SET status = ?, summary = ?, finished_at = ?, heartbeat_at = ?,"
                " error = ? WHERE id = ?",
                (status, self._json(summary), now, now, error, run_id),
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
            with self.backend.transaction() as c:
                c.execute("UPDATE runs SET status = 'failed', summary = ?, finished_at = ?,"
                          " heartbeat_at = ?, error = ? WHERE id = ?",
                          (self._json(summary), now, now, cause, run_id))
            outcome = "the run is recorded as failed with this cause"
        except StoreError:
            outcome = "it could not be recorded as failed either, so it will read crashed"
        raise StoreError(f"run {run_id}: {cause}; {outcome}. The rows stay in memory and "
                         "store.flush() retries them") from exc

    def update_run(self, run_id: str, *, tags=None, group_id=None, config=None) -> None:
        """Change a run's tags, group or config (e.g. a sweep tagging its trials)."""
        with self.backend.transaction() as c:
            if tags is not None:
                c.execute("UPDATE runs SET tags = ? WHERE id = ?",
                          (self._json(list(tags)), run_id))
            if group_id is not None:
                c.execute("UPDATE runs SET group_id = ? WHERE id = ?", (group_id, run_id))
            if config is not None:
                c.execute("UPDATE runs SET config = ? WHERE id = ?", (self._json(config), run_id))

    def mark_crashed(self) -> list[str]:
        """Mark ``crashed`` every run left ``running`` by a process of this host that is gone.

        Not on a store of many hosts (PostgreSQL): there a silent run reads crashed by
        its heartbeat, and nothing is recorded (track/heartbeat.py)."""
        if self.read_only is not None or self.backend.crash_by_heartbeat:
            return []  # readers still see them crashed (see _judged); by heartbeat alone
        rows = self._read(
            "SELECT id, pid, pid_start FROM runs WHERE status = 'running' AND host = ?",
            (hostname(),),
        )
        dead = [run_id for run_id, pid, start in rows
                if pid is None or not process_alive(pid, start)]
        if dead:
            try:
                with self.backend.transaction() as c:
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

    def set_run_env(self, run_id: str, env: dict) -> None:
        """Replace the run's environment record (a watcher adds the framework it watches:
        ``env["framework"] = {"name": "PyTorch", "version": "2.13.0"}``). Written at once."""
        if not isinstance(env, dict):
            raise ConfigError(f"env of run {run_id!r} must be a dict, got {type(env).__name__}")
        with self.backend.transaction() as c:
            c.execute("UPDATE runs SET env = ? WHERE id = ?", (self._json(env), run_id))

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
        text = self._json(config)
        compiled = None if compile_config is None else self._json(compile_config)
        # rewrite only when it changed: a second fit keeps its row
        with self.backend.transaction() as c:
            c.execute("INSERT INTO model_configs VALUES (?, ?, ?, ?) ON CONFLICT (run_id)"
                      " DO UPDATE SET config = excluded.config,"
                      " compile_config = excluded.compile_config, time = excluded.time"
                      " WHERE model_configs.config != excluded.config OR model_configs"
                      f".compile_config {self.backend.distinct} excluded.compile_config",
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
        nbytes = sum(a.nbytes for a in (stats, counts, edges) if a is not None)
        self.writer.add("param_block", (run_id, steps, paths, stats, counts, edges, times),
                        nbytes=nbytes)

    def log_metric_series(self, run_id: str, key: str, steps, values, t: float) -> None:
        """Queue many steps of one metric as one row: ``steps`` an int range or sequence,
        ``values`` a sequence of floats (the watch's per-step loss). Neither may change."""
        self.writer.add("metric_block", (run_id, key, steps, values, t))

    def log_layer_block(self, run_id: str, steps: list[int], layers: list[str],
                        data: np.ndarray, times: list[float]) -> None:
        """Queue per-layer measurements of many steps: ``data`` (n_steps, n_layers, 4) in
        :data:`LAYER_COLUMNS` order (seconds, seconds, shares; NaN where not measured)."""
        self.writer.add("layer_block", (run_id, steps, layers, data, times))

    def log_snapshot(self, run_id: str, step: int, label: str, arrays: dict) -> None:
        """Queue ``{path: ndarray}`` (copies the caller will not touch again) as a snapshot;
        the writer thread saves the safetensors blob, then its row."""
        self.writer.add("snapshot", (run_id, int(step), label, arrays, time.time()),
                        nbytes=sum(np.asarray(a).nbytes for a in arrays.values()))

    # -- registry: datasets, models, artifacts --------------------------------------
    def register_dataset(self, name, content_hash, sha, meta, run_id, size) -> int:
        """Version of dataset ``name`` with this content (a new one if unseen); link the run."""
        now = time.time()
        with self.backend.transaction() as c:
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
                    (name, version, content_hash, sha, self._json(meta), run_id, now),
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
        with self.backend.transaction() as c:
            version = c.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?", (name,)
            ).fetchone()[0]
            c.execute(
                "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?)",
                (name, version, sha, self._json(meta), run_id, now),
            )
            for alias in aliases:
                c.execute(self._inserts["model_aliases"], (name, alias, version))
            c.execute(
                "INSERT INTO artifacts (run_id, kind, name, version, sha, size, created_at)"
                " VALUES (?, 'model', ?, ?, ?, ?, ?)",
                (run_id, name, version, sha, size, now),
            )
        return version

    def add_artifact(self, run_id, kind, name, sha, size) -> None:
        with self.backend.transaction() as c:
            c.execute(
                "INSERT INTO artifacts (run_id, kind, name, version, sha, size, created_at)"
                " VALUES (?, ?, ?, NULL, ?, ?, ?)",
                (run_id, kind, name, sha, size, time.time()),
            )


def _run_name(seq: int) -> str:
    """``adjective-noun-<seq>``, as W&B names runs; seq makes it unique in the store."""
    return f"{_ADJECTIVES[seq * 7 % len(_ADJECTIVES)]}-{_NOUNS[seq * 13 % len(_NOUNS)]}-{seq}"


def _series_row(run_id, key, steps, values, t) -> tuple:
    values = np.asarray(values, dtype=np.float64)
    if isinstance(steps, range) and steps.step == 1:
        return (run_id, key, steps.start, None, values.tobytes(), t)
    steps = np.asarray(steps, dtype=np.int64)
    first = int(steps[0]) if steps.size else 0
    consecutive = steps.size and steps[-1] - first == steps.size - 1 and np.all(np.diff(steps) == 1)
    return (run_id, key, first, None if consecutive else steps.tobytes(), values.tobytes(), t)


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
