"""Runs, metrics and weight statistics as tables: pandas DataFrames, or lists of dicts.

A DataFrame when pandas is installed (it is imported here, lazily), else plain records
with the same columns, so code that only iterates works either way. Wide for runs (one
row per run, config and summary flattened to ``config.KEY`` / ``summary.KEY`` columns),
long for series (one row per value), which is what groupby / pivot / seaborn expect.
"""

from __future__ import annotations

import importlib.util

from glassnet.track.paramstats import COLUMNS as PARAM_STATS

RUN_COLUMNS = ("id", "name", "project", "status", "created_at", "finished_at", "group",
               "tags", "note")


def have_pandas() -> bool:
    return importlib.util.find_spec("pandas") is not None


def flatten(prefix: str, value, out: dict) -> dict:
    """``{"a": {"b": 1}}`` under ``config`` as ``{"config.a.b": 1}``; lists stay lists."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            flatten(f"{prefix}.{key}", inner, out)
    else:
        out[prefix] = value
    return out


def run_rows(records) -> list[dict]:
    """One flat dict per run: RUN_COLUMNS, then config.* and summary.* (times: Unix s)."""
    rows = []
    for r in records:
        row = {"id": r["id"], "name": r["name"], "project": r["project"],
               "status": r["status"], "created_at": r["created_at"],
               "finished_at": r["finished_at"], "group": r["group_id"],
               "tags": list(r["tags"]), "note": r.get("note", "")}
        for key, value in r["config"].items():
            flatten(f"config.{key}", value, row)
        for key, value in r["summary"].items():
            row[f"summary.{key}"] = value
        rows.append(row)
    return rows


def runs_frame(records):
    """A DataFrame of runs (created_at / finished_at as UTC datetimes), or flat records."""
    rows = run_rows(records)
    if not have_pandas():
        return rows
    import pandas as pd

    extra = sorted({k for row in rows for k in row} - set(RUN_COLUMNS),
                   key=lambda k: (not k.startswith("config."), k))
    frame = pd.DataFrame(rows, columns=[*RUN_COLUMNS, *extra])
    for column in ("created_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame


def metrics_frame(store, run_ids, keys=None, as_records: bool = False):
    """Metrics in long form: columns ``run_id, key, step, value``, by run, key and step.

    ``run_ids`` a run id (or unique prefix) or a list of them; ``keys`` a key, a list of
    keys or None for every key each run logged. A run lacking a key adds no rows for it."""
    if isinstance(run_ids, str):
        run_ids = [run_ids]
    if isinstance(keys, str):
        keys = [keys]
    rows = []
    for given in run_ids:
        run_id = store.resolve_run_id(given)
        logged = store.metric_keys(run_id)
        for key in (logged if keys is None else [k for k in keys if k in logged]):
            steps, values = store.metrics(run_id, key)
            rows.extend({"run_id": run_id, "key": key, "step": s, "value": v}
                        for s, v in zip(steps.tolist(), values.tolist()))
    return _frame(rows, ("run_id", "key", "step", "value"), as_records)


def param_stats_frame(store, run_id: str, path: str | None = None, as_records: bool = False):
    """Weight and bias statistics in long form: ``run_id, path, step, stat, value``.

    ``stat`` is each of paramstats.COLUMNS (count, mean, std, min, max, l2, neg_share,
    grad_*, update_ratio); histograms are left out (``store.histograms`` has them)."""
    run_id = store.resolve_run_id(run_id)
    rows = [{"run_id": run_id, "path": r["path"], "step": r["step"], "stat": stat,
             "value": float(r[stat])}
            for r in store.param_stats(run_id, path) for stat in PARAM_STATS]
    return _frame(rows, ("run_id", "path", "step", "stat", "value"), as_records)


def _frame(rows: list[dict], columns: tuple, as_records: bool):
    if as_records or not have_pandas():
        return rows
    import pandas as pd

    return pd.DataFrame(rows, columns=list(columns))
