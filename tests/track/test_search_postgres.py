"""The PostgreSQL dialect's SQL on a real server finds the same runs as SQLite's.

The runs of search_fixtures are copied into a ``runs`` table on the throwaway server of
the ``postgres_url`` fixture (tests/pg_server.py, where the store's PostgreSQL tests get
it); then every filter of test_search.CASES runs through the PostgreSQL dialect. The
table holds only the columns a search reads, typed as a PostgreSQL store would (text
JSON; the writer stores NaN as null, which jsonb requires).
"""

from __future__ import annotations

import json
import math

import pytest
from search_fixtures import build, letters
from test_search import CASES

from glassnet.track.store.query import build_query
from glassnet.track.store.query.dialects import POSTGRESQL
from glassnet.track.store.query.search import RUN_FIELDS

CREATE = """CREATE TABLE runs (
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


@pytest.fixture(scope="module")
def pg(request, tmp_path_factory):
    psycopg = pytest.importorskip("psycopg")
    try:
        url = request.getfixturevalue("postgres_url")
    except pytest.FixtureLookupError:
        pytest.skip("needs the postgres_url fixture (tests/pg_server.py: a throwaway server)")
    store, ids = build(tmp_path_factory.mktemp("pg-search") / "store")
    rows = store._read(f"SELECT {', '.join(RUN_FIELDS)}, seq FROM runs")
    store.close()
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("DROP TABLE IF EXISTS runs")
    conn.execute(CREATE)
    json_columns = {RUN_FIELDS.index(c) for c in ("config", "summary", "tags", "env")}
    with conn.cursor() as cur:
        for row in rows:
            row = [json.dumps(_finite(json.loads(v))) if i in json_columns else v
                   for i, v in enumerate(row)]
            cur.execute(f"INSERT INTO runs ({', '.join(RUN_FIELDS)}, seq)"
                        f" VALUES ({', '.join(['%s'] * len(row))})", row)
    yield conn, ids
    conn.execute("DROP TABLE runs")
    conn.close()


def search(conn, text, order_by=None, limit=None, offset=0):
    sql, params = build_query(text, order_by, limit, offset, dialect=POSTGRESQL)
    assert "%" not in sql  # the backend's ? -> %s rewrite is then safe
    rows = conn.execute(sql.replace("?", "%s"), params).fetchall()
    return [{"id": r[0]} for r in rows]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_every_filter_finds_the_same_runs_on_postgresql(pg, text, expected):
    conn, ids = pg
    assert "".join(letters(search(conn, text), ids)) == expected


@pytest.mark.parametrize(("order", "expected"), [
    ("summary.accuracy desc", "ACBED"),
    ("config.learning_rate", "ABECD"),  # as in SQLite: numbers, then text (not jsonb's)
    ("status, created_at desc", "CDBAE"),
])
def test_order_by_on_postgresql(pg, order, expected):
    conn, ids = pg
    assert "".join(letters(search(conn, "", order), ids)) == expected


def test_paging_on_postgresql(pg):
    conn, ids = pg
    assert letters(search(conn, "", None, None, 3), ids) == ["B", "A"]
    assert letters(search(conn, "", None, 2, 1), ids) == ["D", "C"]
