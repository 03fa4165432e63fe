"""The store's read side: every query the dashboard, the reports and the command line use.

Each returns plain Python and NumPy values (records, dicts, arrays), never rows of the
database. A process reads its own rows, flushed or not: :meth:`Queries._read` flushes
the writer first. A ``running`` run whose process is gone, or whose heartbeat stopped,
reads ``crashed`` (track/heartbeat.py).

:class:`Queries` is a part of :class:`~glassnet.track.store.Store`: it uses the
store's ``backend``, ``writer``, ``blobs``, ``root``, ``read_only`` and ``_live``.
"""

from __future__ import annotations

import json
import numbers
import time

import numpy as np

from glassnet.track import heartbeat
from glassnet.track.errors import ConfigError, NotFoundError, StoreError
from glassnet.track.paramstats import COLUMNS, HIST_BINS, uniform_edges
from glassnet.track.store.records import PID_START, RUN_FIELDS, RunRecord, float_or_nan, run_record
from glassnet.track.store.schema import LAYER_COLUMNS, STATUSES
from glassnet.track.thinning import thin_indices


class Queries:
    """Reading runs and their rows (a part of Store)."""

    def _read(self, sql: str, params=()) -> list[tuple]:
        if self.writer.pending and self.writer.failure is None:
            try:  # a process reads its own rows, flushed or not
                self.writer.flush()
            except StoreError:  # the disk is full: read what is there; the writer retries
                pass
        return self.backend.read(sql, params)

    def resolve_run_id(self, run_id: str) -> str:
        """The full id of the run named by ``run_id`` or by a unique prefix of it."""
        if not isinstance(run_id, str) or not run_id:
            raise NotFoundError(f"run id must be a non-empty string, got {run_id!r}")
        rows = self._read("SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
                          (run_id, run_id + "\uffff"))
        if len(rows) == 1:
            return rows[0][0]
        if not rows:
            raise NotFoundError(f"no run with id {run_id!r} in store {self.root}")
        exact = self._read("SELECT id FROM runs WHERE id = ?", (run_id,))
        if exact:
            return exact[0][0]
        listed = ", ".join(r[0] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise NotFoundError(f"run id prefix {run_id!r} matches several runs in {self.root} "
                            f"({listed}); give more characters")

    def run(self, run_id: str) -> RunRecord:
        """One run by id (or unique id prefix)."""
        run_id = self.resolve_run_id(run_id)
        row = self._read(f"SELECT {', '.join(RUN_FIELDS)} FROM runs WHERE id = ?", (run_id,))
        return self._judged(row)[0]

    def runs(self, project=None, status=None, tag=None, group_id=None, archived=False
             ) -> list[RunRecord]:
        """Runs, newest first, optionally only of one project, status, tag or group;
        archived runs (``store.archive_run``) only with ``archived=True``."""
        where, params = [], []
        if not archived:
            where.append("archived_at IS NULL")
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
        sql = f"SELECT {', '.join(RUN_FIELDS)} FROM runs"
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
            record = run_record(row)
            records.append(record)
            if record["status"] == "running" and record["id"] not in self._live:
                if heartbeat.judge(record, row[PID_START], now,
                                   self.backend.crash_by_heartbeat) == "dead":
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

        With ``max_points``, at most that many points: each stretch's minimum and
        maximum, NaNs, the first and the last (:func:`glassnet.track.thinning.thin_indices`).
        """
        run_id = self.resolve_run_id(run_id)
        rows = self._read(
            "SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step",
            (run_id, key),
        )
        steps = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        values = np.fromiter((float_or_nan(r[1]) for r in rows), dtype=np.float64, count=len(rows))
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
            keep = thin_indices(values, max_points)
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
        from safetensors.numpy import load

        run_id = self.resolve_run_id(run_id)
        # the blob's bytes with its row when the database keeps them (inline_blobs)
        query = ("SELECT s.sha, b.data FROM snapshots s LEFT JOIN inline_blobs b"
                 " ON b.sha = s.sha WHERE s.run_id = ?")
        if step in ("end", "last"):
            row = self._read(query + " ORDER BY s.step DESC LIMIT 1", (run_id,))
        else:
            if (isinstance(step, bool) or not isinstance(step, numbers.Integral)
                    or not -1 <= step < 2 ** 63):
                raise ConfigError(f"step must be 'end' or a step number from -1 to 2**63 - 1 "
                                  f"(a snapshot's step), got {step!r}")
            row = self._read(query + " AND s.step = ?", (run_id, int(step)))
        if not row:
            raise NotFoundError(
                f"run {run_id!r} has no snapshot at step {step!r}; "
                f"snapshots at steps {self.snapshots(run_id)}"
            )
        sha, data = row[0]
        return self.blobs.get_arrays(sha) if data is None else load(bytes(data))

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


def _histogram(counts, edges, i: int, lo: float, hi: float):
    if counts is None:
        return None
    e = uniform_edges(lo, hi) if edges is None else edges[i].copy()
    return counts[i].astype(np.int64), e
