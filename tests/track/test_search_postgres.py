"""The PostgreSQL dialect's SQL on a real server finds the same runs as SQLite's.

The runs of search_fixtures are copied into a ``runs`` table on the throwaway server of
the ``postgres_url`` fixture (tests/pg_server.py, where the store's PostgreSQL tests get
it); then every filter of test_search.CASES runs through the PostgreSQL dialect. The
table holds only the columns a search reads, typed as a PostgreSQL store would (text
JSON; the writer stores NaN as null, which jsonb requires).
"""

from __future__ import annotations

import pytest
from search_fixtures import build, letters, postgres_url_or_skip, runs_on_postgres, store_rows
from test_search import CASES

from glassnet.track.store.query import build_query
from glassnet.track.store.query.dialects import POSTGRESQL


@pytest.fixture(scope="module")
def pg(request, tmp_path_factory):
    url = postgres_url_or_skip(request)
    store, ids = build(tmp_path_factory.mktemp("pg-search") / "store")
    rows = store_rows(store)
    store.close()
    conn = runs_on_postgres(url, rows)
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
