"""A run's row and its record: the columns read, JSON in and out, :class:`RunRecord`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RUN_FIELDS = (
    "id", "project", "name", "status", "config", "summary", "tags", "group_id", "created_at",
    "finished_at", "heartbeat_at", "error", "host", "pid", "pid_start", "env", "note",
    "archived_at",
)
PID_START = RUN_FIELDS.index("pid_start")


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


def float_or_nan(value) -> float:
    return float("nan") if value is None else value


class RunRecord(dict):
    """One run as read from the store: a dict whose keys also read as attributes.

    Keys: ``id, project, name, status, config, summary, tags, group_id, created_at,
    finished_at, heartbeat_at, error, host, pid, env, note, archived_at`` (``config``,
    ``summary`` and ``env`` are dicts, ``tags`` a list, ``note`` markdown text, "" when
    there is none; times are Unix seconds, ``archived_at`` None unless archived).
    """

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def run_record(row: tuple) -> RunRecord:
    """The record of a row of ``SELECT <RUN_FIELDS> FROM runs``."""
    record = RunRecord(zip(RUN_FIELDS, row))
    for key in ("config", "summary", "tags", "env"):
        record[key] = json.loads(record[key]) if record[key] else ({} if key != "tags" else [])
    for key in ("summary",):
        record[key] = {k: float_or_nan(v) for k, v in record[key].items()}
    record["note"] = record["note"] or ""
    del record["pid_start"]
    return record
