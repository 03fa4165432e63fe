"""Runs as files and text: CSV, JSON and Parquet (``glassnet runs --format``, ``export-runs``).

One row per run, the columns of frames.run_rows: id, name, project, status, created_at,
finished_at (ISO 8601, UTC), group, tags, note, then config.* and summary.*. In CSV a list or
dict cell is JSON text (``["baseline", "old"]``); in Parquet a column keeps its type
when every run agrees on it (numbers, text, booleans, lists of text) and is JSON text
otherwise. Files are written whole or not at all (a temporary file, then renamed).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from pathlib import Path

from glassnet.track.store.query.frames import RUN_COLUMNS, run_rows

TIME_COLUMNS = ("created_at", "finished_at")


def iso(seconds) -> str | None:
    """Unix seconds as ``2026-05-28T20:26:40Z``; None stays None."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def export_rows(records) -> tuple[list[str], list[dict]]:
    """``(columns, rows)``: flat rows with ISO times; columns in a fixed order."""
    rows = run_rows(records)
    for row in rows:
        for column in TIME_COLUMNS:
            row[column] = iso(row[column])
    extra = sorted({k for row in rows for k in row} - set(RUN_COLUMNS),
                   key=lambda k: (not k.startswith("config."), k))
    return [*RUN_COLUMNS, *extra], rows


def _cell(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def to_csv(records) -> str:
    columns, rows = export_rows(records)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _plain(value):
    """JSON-safe: NaN and infinities as null (JSON has no words for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_json(records) -> str:
    """The records as a JSON list, nested as store.run gives them (times ISO, NaN null)."""
    keep = ("id", "name", "project", "status", "created_at", "finished_at", "group_id",
            "tags", "note", "archived_at", "config", "summary", "error", "host")
    out = []
    for r in records:
        item = {k: r[k] for k in keep}
        for column in (*TIME_COLUMNS, "archived_at"):
            item[column] = iso(item[column])
        out.append(_plain(item))
    return json.dumps(out, indent=2, ensure_ascii=False, allow_nan=False)


def arrow_table(records):
    """A pyarrow Table of the runs (MissingDependencyError naming the extra without it)."""
    from glassnet.errors import require

    pa = require("pyarrow", "parquet")
    columns, rows = export_rows(records)
    arrays = {}
    for column in columns:
        values = [_plain(row.get(column)) for row in rows]
        arrays[column] = _arrow_column(pa, values)
    return pa.table(arrays)


def _arrow_column(pa, values: list):
    present = [v for v in values if v is not None]
    kinds = {_kind(v) for v in present}
    if kinds == {"bool"}:
        return pa.array(values, pa.bool_())
    if kinds <= {"int"} and kinds:
        return pa.array(values, pa.int64())
    if kinds <= {"int", "float"} and kinds:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if kinds == {"str"}:
        return pa.array(values, pa.string())
    if kinds == {"list_str"}:
        return pa.array(values, pa.list_(pa.string()))
    if not kinds:
        return pa.array(values, pa.null())
    return pa.array([None if v is None else json.dumps(v, ensure_ascii=False)
                     for v in values], pa.string())


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "list_str"
    return "other"


def write_runs(records, path: str | os.PathLike, format: str) -> Path:
    """Write the runs to ``path`` as ``csv``, ``json`` or ``parquet``; return the path."""
    from glassnet.errors import ConfigError

    if format not in ("csv", "json", "parquet"):
        raise ConfigError(f"export format must be one of csv, json, parquet, got {format!r}")
    path = Path(path)
    if format == "parquet":
        table = arrow_table(records)  # before any file is touched: a missing pyarrow says so
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if format == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
        else:
            text = to_csv(records) if format == "csv" else to_json(records) + "\n"
            tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
