"""A store of five hand-built runs whose every field the search tests know by heart,
and a copy of a store's runs table on a PostgreSQL server (for the dialect's tests)."""

from __future__ import annotations

import json
import math

import glassnet as gn
from glassnet.track.store.records import RUN_FIELDS

PG_RUNS_TABLE = """CREATE TABLE runs (
    id TEXT PRIMARY KEY, project TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    config TEXT NOT NULL, summary TEXT NOT NULL, tags TEXT NOT NULL, group_id TEXT,
    created_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION,
    heartbeat_at DOUBLE PRECISION, error TEXT, host TEXT, pid BIGINT, pid_start TEXT,
    env TEXT NOT NULL, seq BIGINT NOT NULL, note TEXT NOT NULL DEFAULT '',
    archived_at DOUBLE PRECISION)"""


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def postgres_url_or_skip(request) -> str:
    """The throwaway server's URL (the ``postgres_url`` fixture), or a skip saying why."""
    import pytest

    pytest.importorskip("psycopg")
    try:
        return request.getfixturevalue("postgres_url")
    except pytest.FixtureLookupError:
        pytest.skip("needs the postgres_url fixture (tests/pg_server.py: a throwaway server)")


def runs_on_postgres(url: str, rows):
    """A connection to ``url`` whose ``runs`` table holds ``rows`` (RUN_FIELDS + seq, as
    SQLite's store has them), typed as a PostgreSQL store would: text JSON, NaN as null
    (jsonb has no NaN). Every statement of query/ reads only this table."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("DROP TABLE IF EXISTS runs")
    conn.execute(PG_RUNS_TABLE)
    columns = (*RUN_FIELDS, "seq")
    json_columns = {columns.index(c) for c in ("config", "summary", "tags", "env")}
    with conn.cursor() as cur:
        for row in rows:
            row = [json.dumps(_finite(json.loads(v))) if i in json_columns else v
                   for i, v in enumerate(row)]
            cur.execute(f"INSERT INTO runs ({', '.join(columns)})"
                        f" VALUES ({', '.join(['%s'] * len(row))})", row)
    return conn


def store_rows(store) -> list[tuple]:
    """A store's runs as :func:`runs_on_postgres` takes them."""
    return store._read(f"SELECT {', '.join(RUN_FIELDS)}, seq FROM runs")

# created_at of each run, set by hand (Unix seconds, UTC): A oldest, E newest
CREATED = {"A": 1_780_000_000.0,   # 2026-05-28 20:26:40 UTC
           "B": 1_780_086_400.0,   # 2026-05-29 20:26:40
           "C": 1_780_172_800.0,   # 2026-05-30 20:26:40
           "D": 1_780_259_200.0,   # 2026-05-31 20:26:40
           "E": 1_780_345_600.0}   # 2026-06-01 20:26:40
HOSTILE_TAG = "'; DROP TABLE runs; --"

RUNS = {
    "A": dict(project="digits", name="base-a", group="sweep1", tags=["baseline"],
              config={"learning_rate": 0.001, "hidden": [25, 15], "activation": "relu",
                      "optimizer": "adam", "net": {"depth": 2}},
              summary={"accuracy": 0.95, "loss": 0.1, "epoch/val_accuracy": 0.93}),
    "B": dict(project="digits", name="base-b", group="sweep1", tags=["baseline", "old"],
              config={"learning_rate": 0.005, "activation": "tanh", "optimizer": "sgd",
                      "net": {"depth": 3}},
              summary={"accuracy": 0.85, "loss": 0.3}),
    "C": dict(project="digits", name="Fast-c", group=None, tags=[], status="failed",
              config={"learning_rate": 0.1, "activation": "relu", "optimizer": "adam"},
              summary={"accuracy": 0.92, "epoch/val_accuracy": 0.9}),
    "D": dict(project="coffee", name="it's \"quoted\"", group=None, tags=[HOSTILE_TAG],
              config={"learning_rate": "auto", "activation": "SELECT", "optimizer": "adam"},
              summary={"accuracy": float("nan"), "loss": float("inf")}),
    "E": dict(project="coffee", name="größe-e", group="sweep2", tags=["ünïcode"],
              status="running",
              config={"learning_rate": 0.01, "select": 1, "flag": True, "optimizer": None},
              summary={}),
}


def build(folder) -> tuple[object, dict[str, str]]:  # a folder or a postgresql:// URL
    """The store and ``{letter: run id}``; E is left running (this process is alive)."""
    store = gn.track.open_store(folder)
    ids = {}
    for letter, spec in RUNS.items():
        run = gn.track.init(spec["project"], name=spec["name"], config=spec["config"],
                            store=store, tags=spec["tags"], group=spec["group"])
        if spec["summary"]:
            run.log(spec["summary"], step=0)
        if spec.get("status", "finished") != "running":
            run.finish(spec.get("status", "finished"))
        ids[letter] = run.id
    store.flush()
    with store.backend.transaction() as c:  # fixed creation times
        c.executemany("UPDATE runs SET created_at = ? WHERE id = ?",
                      [(CREATED[k], ids[k]) for k in ids])
    return store, ids


def letters(found, ids: dict[str, str]) -> list[str]:
    """The letters of the runs found (records or a DataFrame), in their order."""
    back = {v: k for k, v in ids.items()}
    run_ids = list(found["id"]) if hasattr(found, "columns") else [r["id"] for r in found]
    return [back[i] for i in run_ids]
