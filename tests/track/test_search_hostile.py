"""Hostile filters never reach SQL as text: the SQL is ours, the user's text is parameters.

Each test looks at the statement build_query makes (for SQLite and PostgreSQL), then runs
it against a real store and checks the tables are all still there, whole.
"""

from __future__ import annotations

import sqlite3

import pytest
from search_fixtures import HOSTILE_TAG, build, letters

from glassnet.errors import FilterError, StoreError
from glassnet.track.store.query import build_query, parse_filter
from glassnet.track.store.query.dialects import POSTGRESQL, SQLITE, glob_to_like
from glassnet.track.store.query.grammar import MAX_CONDITIONS, MAX_DEPTH, MAX_FILTER_CHARS

NASTY = [
    HOSTILE_TAG,
    "' OR '1'='1",
    "\" OR 1=1 --",
    "x'); DELETE FROM metrics; --",
    "$.\"config\"",
    "%' ESCAPE '",
    "?",
    "%s",
    "Robert'); DROP TABLE runs;--",
    "\\",
    "ünïcødé 🙂 中文",
    "\x00nul",
    "a" * 4000,
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(request, tmp_path_factory):
    """The five runs in a store of each backend (PostgreSQL: a schema of the test server)."""
    folder = tmp_path_factory.mktemp("hostile")
    where = folder / "store"
    if request.param == "postgresql":
        pytest.importorskip("psycopg")
        import pg_server

        database = request.getfixturevalue("postgres_stores")
        where = pg_server.create_schema(database, "hostile_" + folder.name.replace("-", "_"),
                                        blobs=str(folder / "blobs"))
    store, ids = build(where)
    tables = _tables(store)
    yield store, ids, tables
    store.close()


def _tables(store) -> list[tuple]:
    """Every table and its definition (SQLite's sql, PostgreSQL's columns)."""
    if store.db_path is not None:
        with sqlite3.connect(store.db_path) as db:
            return db.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    return store.backend.read(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position")


def quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def assert_intact(store, tables):
    assert store.integrity_check() == "ok"
    assert _tables(store) == tables
    assert store.backend.read("SELECT COUNT(*) FROM runs")[0][0] == 5
    assert store.backend.read("SELECT COUNT(*) FROM metrics")[0][0] == 9  # 3 + 2 + 2 + 2


@pytest.mark.parametrize("value", NASTY)
@pytest.mark.parametrize("template", [
    "name = {v}", "config.activation = {v}", "tags contains {v}", "name like {v}",
    "name glob {v}", "config.optimizer in ({v}, {v})", "project != {v}", "summary.loss > {v}",
])
def test_nasty_values_are_bound_parameters(built, template, value):
    store, ids, tables = built
    text = template.format(v=quoted(value))
    for dialect in (SQLITE, POSTGRESQL):
        sql, params = build_query(text, dialect=dialect, now=0.0)
        if len(value) > 2:
            assert value not in sql  # the SQL never holds the user's text...
        assert value in params or (dialect is POSTGRESQL and glob_to_like(value) in params) or (
            value.replace("[", "[[]") in params)  # ...only its parameters do
        assert sql.count("?") == len(params)
    if "\x00" in value and store.db_path is None:  # PostgreSQL text cannot hold a NUL
        with pytest.raises(StoreError, match="NUL"):
            store.search_runs(text, as_records=True)
        assert_intact(store, tables)
        return
    found = store.search_runs(text, as_records=True)
    if value == HOSTILE_TAG and template == "tags contains {v}":
        assert letters(found, ids) == ["D"]
    elif template == "project != {v}":
        assert letters(found, ids) == list("EDCBA")
    else:
        assert found == []
    assert_intact(store, tables)


@pytest.mark.parametrize("key", ["select", "DROP", "union", "from", "where", "größe",
                                 "x-y", "epoch/val_nothing", "__proto__", "0"])
def test_keys_are_bound_json_paths(built, key):
    store, _, tables = built
    text = f"config.{key} = 1 or summary.{key} is null"
    sql, params = build_query(text, dialect=SQLITE, now=0.0)
    assert f'"{key}"' not in sql and f'$."{key}"' in params
    sql, params = build_query(text, dialect=POSTGRESQL, now=0.0)
    assert f"'{key}'" not in sql and [key] in params
    assert len(store.search_runs(text, as_records=True)) == 5  # no run has the key
    assert_intact(store, tables)


@pytest.mark.parametrize("text", [
    "config.x = 1 ; DROP TABLE runs", "config.x = 1 -- comment", "config.x = 1 /* */",
    "config.'x' = 1", "config.x\" = 1", "config.x = `1`", "config.x = 1 union select 1",
    "name = 'a' || 'b'", "config[0] = 1", "1 = 1", "'a' = name", "(((", ")",
    "config.x = 0x1F", "config.x = 1e", "config.x.=1",
])
def test_sql_fragments_are_syntax_errors(built, text):
    store, _, tables = built
    with pytest.raises(FilterError, match="at column [0-9]+: "):
        store.search_runs(text)
    assert_intact(store, tables)


def test_sql_keywords_as_filter_keywords_and_field_names():
    assert parse_filter("config.and = 1 AND config.or = 2 Or NOT config.not is NULL") is not None
    with pytest.raises(FilterError, match="at column 1: expected a field"):
        parse_filter("and = 1")


def test_deeply_nested_parentheses_are_bounded(built):
    store, ids, tables = built
    ok = "(" * (MAX_DEPTH - 1) + "name = 'base-a'" + ")" * (MAX_DEPTH - 1)
    assert letters(store.search_runs(ok, as_records=True), ids) == ["A"]
    too_deep = "(" * MAX_DEPTH + "name = 'base-a'" + ")" * MAX_DEPTH
    with pytest.raises(FilterError, match=f"at most {MAX_DEPTH} deep"):
        store.search_runs(too_deep)
    with pytest.raises(FilterError, match="at most"):  # no RecursionError
        store.search_runs("(" * 9000)
    with pytest.raises(FilterError, match="at most"):
        store.search_runs("not " * 2000 + "name = 'x'")
    assert_intact(store, tables)


def test_many_conditions_are_bounded_and_the_most_still_run(built):
    store, ids, tables = built
    most = " or ".join(["name = 'base-b'"] * MAX_CONDITIONS)
    assert letters(store.search_runs(most, as_records=True), ids) == ["B"]
    with pytest.raises(FilterError, match=f"at most {MAX_CONDITIONS} conditions"):
        store.search_runs(most + " or name = 'x'")
    assert_intact(store, tables)


def test_very_long_input_is_refused_before_it_is_read():
    with pytest.raises(FilterError, match=f"at most {MAX_FILTER_CHARS} characters long, "
                                          f"got {MAX_FILTER_CHARS + 1}"):
        parse_filter("x" * (MAX_FILTER_CHARS + 1))


def test_a_long_string_value_is_fine(built):
    store, _, tables = built
    assert store.search_runs("name = '" + "é" * 9000 + "'", as_records=True) == []
    assert_intact(store, tables)


def test_filter_must_be_a_string(built):
    store, _, _ = built
    with pytest.raises(FilterError, match="a filter must be a string, got int"):
        store.search_runs(42)


def test_the_sql_for_sqlite_and_postgresql():
    text = "config.lr < 0.01 and tags contains 'baseline' and name like 'b%'"
    sql, params = build_query(text, dialect=SQLITE, now=100.0)
    doc = ("(CASE WHEN json_valid(config) THEN config WHEN json_valid(replace(replace("
           "replace(config, '-Infinity', 'null'), 'Infinity', 'null'), 'NaN', 'null')) THEN "
           "replace(replace(replace(config, '-Infinity', 'null'), 'Infinity', 'null'), 'NaN', "
           "'null') END)")
    assert sql.startswith("SELECT id, project, name, status, config, summary, tags, group_id, "
                          "created_at, finished_at, heartbeat_at, error, host, pid, pid_start, "
                          "env, note, archived_at FROM runs WHERE archived_at IS NULL AND "
                          "(COALESCE((")
    assert (f"(CASE WHEN json_type({doc}, ?) IN ('integer', 'real') THEN json_extract({doc}, ?)"
            " END) < ?), FALSE)") in sql
    assert "(name LIKE ? ESCAPE '\\')" in sql
    assert sql.endswith(" ORDER BY created_at DESC, seq DESC")
    assert params == ['$."lr"', '$."lr"', 0.01, "baseline", "b%"]

    sql, params = build_query(text, order_by="summary.acc desc", limit=5, dialect=POSTGRESQL,
                              now=100.0)
    assert ("(CASE WHEN jsonb_typeof((config)::jsonb #> ?::text[]) = 'number' THEN "
            "((config)::jsonb #>> ?::text[])::float8 END) < ?") in sql
    assert "((tags)::jsonb @> jsonb_build_array(?::text))" in sql
    assert "(name ILIKE ? ESCAPE '\\')" in sql
    assert " ORDER BY (ROW(CASE jsonb_typeof(((summary)::jsonb #> ?::text[])) WHEN" in sql
    assert sql.endswith(' COLLATE "C") DESC, created_at DESC, seq DESC LIMIT ? OFFSET ?')
    order_params = params[5:-2]
    assert params[:5] == [["lr"], ["lr"], 0.01, "baseline", "b%"] and params[-2:] == [5, 0]
    assert order_params and all(p == ["acc"] for p in order_params)


def test_status_reads_crashed_for_a_silent_run_of_another_host():
    from glassnet.track.env import hostname

    sql, params = build_query("status = 'crashed'", dialect=SQLITE, now=100.0)
    assert ("(CASE WHEN status = 'running' AND host IS NOT ? AND COALESCE(heartbeat_at, 0) < ?"
            " THEN 'crashed' ELSE status END) = ?") in sql
    assert params == [hostname(), 90.0, "crashed"]
    sql, _ = build_query("status = 'crashed'", dialect=POSTGRESQL, now=100.0)
    assert "host IS DISTINCT FROM ?" in sql


def test_glob_to_like_escapes_like_wildcards():
    assert glob_to_like("run_*%?\\") == "run\\_%\\%_\\\\"
