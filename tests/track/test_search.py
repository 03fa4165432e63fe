"""store.search_runs: each operator against five hand-built runs, ordering and paging.

The expected runs of each filter are listed by hand from search_fixtures.RUNS (default
order: newest first, E D C B A).
"""

from __future__ import annotations

import pytest
from search_fixtures import HOSTILE_TAG, build, letters

from glassnet.errors import ConfigError, FilterError


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(request, tmp_path_factory):
    """The five runs in a store of each backend (PostgreSQL: a schema of the test server)."""
    folder = tmp_path_factory.mktemp("search")
    if request.param == "sqlite":
        store, ids = build(folder / "store")
        yield store, ids
        store.close()
        return
    pytest.importorskip("psycopg")
    import pg_server

    database = request.getfixturevalue("postgres_stores")
    url = pg_server.create_schema(database, "search_" + folder.name.replace("-", "_"),
                                  blobs=str(folder / "blobs"))
    store, ids = build(url)
    yield store, ids
    store.close()


CASES = [
    ("", "EDCBA"),
    ("config.learning_rate < 0.01", "BA"),          # D's "auto" is not a number
    ("config.learning_rate < 1e-2", "BA"),
    ("config.learning_rate <= 0.01", "EBA"),
    ("config.learning_rate = 0.1", "C"),
    ("config.learning_rate == 0.1", "C"),
    ("config.learning_rate != 0.1", "EBA"),         # numbers only: D is text
    ("config.learning_rate <> 0.1", "EBA"),
    ("config.learning_rate > 0.005", "EC"),
    ("config.learning_rate >= 0.005", "ECB"),
    ("config.learning_rate = 'auto'", "D"),
    ("summary.accuracy > 0.9", "CA"),               # D's NaN reads as null
    ("summary.accuracy > 0.9 and tags contains 'baseline'", "A"),
    ("config.learning_rate < 0.01 and summary.accuracy > 0.9 and tags contains 'baseline'",
     "A"),
    ("tags contains 'baseline'", "BA"),
    ("tags contains 'old'", "B"),
    ("not tags contains 'baseline'", "EDC"),
    ("tags not contains 'baseline'", "EDC"),
    ("config.activation in ('relu', 'tanh')", "CBA"),
    ("config.activation not in ('relu', 'tanh')", "ED"),   # E has no activation
    ("config.learning_rate in (0.1, 'auto', 0.001)", "DCA"),
    ("project in ('coffee')", "ED"),
    ("name like 'base%'", "BA"),
    ("name like 'fast%'", "C"),                     # like ignores case
    ("name not like 'base%'", "EDC"),
    ("name glob 'Fast*'", "C"),
    ("name glob 'fast*'", ""),                      # glob does not
    ("name glob 'base-?'", "BA"),
    ("config.activation like 're%'", "CA"),
    ("config.optimizer is null", "E"),              # JSON null
    ("summary.accuracy is null", "ED"),             # missing; NaN
    ("summary.accuracy is not null", "CBA"),
    ("group = 'sweep1'", "BA"),
    ("sweep = 'sweep2'", "E"),
    ("group is null", "DC"),
    ("status = 'failed'", "C"),
    ("status = 'running'", "E"),
    ("status != 'finished'", "EC"),
    ("status in ('failed', 'running')", "EC"),
    ("created_at >= '2026-05-30'", "EDC"),
    ("created_at < '2026-05-29T20:26:41+00:00'", "BA"),
    ("created_at < 1780086401", "BA"),
    ("finished_at is null", "E"),
    ("finished_at is not null", "DCBA"),
    ("config.flag = true", "E"),
    ("config.flag = false", ""),
    ("config.flag != false", "E"),
    ("config.select = 1", "E"),                     # an SQL keyword as a key
    ("config.net.depth > 2", "B"),
    ("summary.epoch/val_accuracy >= 0.9", "CA"),
    ("(config.activation = 'relu' or config.activation = 'tanh')"
     " and not config.optimizer = 'sgd'", "CA"),
    ("config.activation = 'relu' or config.activation = 'tanh' and config.optimizer = 'sgd'",
     "CBA"),                                        # and binds tighter than or
    ("NOT (summary.accuracy > 0.9)", "EDB"),        # two-valued: missing keys match not
    ("config.activation = 'SELECT'", "D"),          # an SQL keyword as a value
    ("name = 'it\\'s \"quoted\"'", "D"),
    ('name = "it\'s \\"quoted\\""', "D"),
    (f'tags contains "{HOSTILE_TAG}"', "D"),
    ("name = 'größe-e'", "E"),
    ("tags contains 'ünïcode'", "E"),
    ("config.größe is null", "EDCBA"),
    ("id = 'nope'", ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_each_operator_finds_the_runs_listed_by_hand(built, text, expected):
    store, ids = built
    assert "".join(letters(store.search_runs(text, as_records=True), ids)) == expected


def test_id_and_project_equality(built):
    store, ids = built
    found = store.search_runs(f"id = '{ids['C']}' or project = 'coffee'", as_records=True)
    assert letters(found, ids) == ["E", "D", "C"]


@pytest.mark.parametrize(("order", "expected"), [
    ("summary.accuracy desc", "ACBED"),   # runs without it last, then newest first
    ("summary.accuracy", "BCAED"),
    ("summary.accuracy asc", "BCAED"),
    ("config.learning_rate", "ABECD"),    # SQLite: numbers before text
    ("name", "CABED"),                    # byte order: "F" < "b" < "g" < "i"
    ("project desc, name", "CABED"),
    ("created_at", "ABCDE"),
    ("status, name desc", "CDBAE"),       # failed < finished < running (alphabetical)
])
def test_order_by(built, order, expected):
    store, ids = built
    found = store.search_runs(order_by=order, as_records=True)
    assert "".join(letters(found, ids)) == expected


@pytest.mark.parametrize(("limit", "offset", "expected"), [
    (2, 0, "ED"), (2, 1, "DC"), (0, 0, ""), (None, 3, "BA"), (10, 4, "A"), (3, 5, ""),
])
def test_limit_and_offset_page_through_the_order(built, limit, offset, expected):
    store, ids = built
    found = store.search_runs(limit=limit, offset=offset, as_records=True)
    assert "".join(letters(found, ids)) == expected


def test_pages_of_a_sorted_filter_join_up_to_the_whole(built):
    store, ids = built
    text, order = "config.learning_rate is not null", "config.learning_rate desc"
    whole = letters(store.search_runs(text, order, as_records=True), ids)
    pages = [letters(store.search_runs(text, order, limit=2, offset=o, as_records=True), ids)
             for o in (0, 2, 4)]
    assert sum(pages, []) == whole == ["D", "C", "E", "B", "A"]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_limit_and_offset_must_be_non_negative_integers(built, bad):
    store, _ = built
    with pytest.raises(ConfigError, match="limit must be a non-negative integer"):
        store.search_runs(limit=bad)
    with pytest.raises(ConfigError, match="offset must be a non-negative integer"):
        store.search_runs(offset=bad if bad is not True else -5)


def test_records_are_those_store_run_gives(built):
    store, ids = built
    found = store.search_runs("name = 'base-a'", as_records=True)
    assert found == [store.run(ids["A"])]
    assert found[0].config["hidden"] == [25, 15]


def test_dataframe_one_row_per_run_with_flattened_config_and_summary(built):
    pd = pytest.importorskip("pandas")
    store, ids = built
    frame = store.search_runs("project = 'digits'", order_by="name")
    assert list(frame["id"]) == [ids["C"], ids["A"], ids["B"]]
    assert list(frame.columns[:9]) == ["id", "name", "project", "status", "created_at",
                                       "finished_at", "group", "tags", "note"]
    assert frame["config.learning_rate"].tolist() == [0.1, 0.001, 0.005]
    assert frame["config.net.depth"].tolist()[1:] == [2, 3]
    assert frame["summary.accuracy"].tolist() == [0.92, 0.95, 0.85]
    assert frame["tags"].tolist() == [[], ["baseline"], ["baseline", "old"]]
    assert frame["created_at"][1] == pd.Timestamp("2026-05-28 20:26:40", tz="UTC")
    config_columns = [c for c in frame.columns if c.startswith("config.")]
    assert frame.columns.get_loc(config_columns[-1]) < frame.columns.get_loc(
        "summary.accuracy")


def test_records_without_pandas(built, monkeypatch):
    from glassnet.track.store.query import frames

    store, ids = built
    monkeypatch.setattr(frames, "have_pandas", lambda: False)
    rows = store.search_runs("name = 'base-b'")
    assert rows == [{"id": ids["B"], "name": "base-b", "project": "digits",
                     "status": "finished", "created_at": 1_780_086_400.0,
                     "finished_at": rows[0]["finished_at"], "group": "sweep1",
                     "tags": ["baseline", "old"], "note": "", "config.learning_rate": 0.005,
                     "config.activation": "tanh", "config.optimizer": "sgd",
                     "config.net.depth": 3, "summary.accuracy": 0.85, "summary.loss": 0.3}]


@pytest.mark.parametrize(("text", "message"), [
    ("config.learning_rate <", "at column 23: expected a value (a number, a quoted string, "
                               "true or false) after '<', got end of filter"),
    ("config.lr < 0.01 and", "at column 21: expected a field"),
    ("config.lr = 'open", "at column 13: the string opened here has no closing '"),
    ("config.lr = 1; DROP TABLE runs", "at column 14: unexpected character ';'"),
    ("drop = 1", "at column 1: unknown field 'drop'"),
    ("(config.lr = 1", "at column 15: expected ')' to close the '(' at column 1"),
    ("config.lr = 1 config.x = 2", "at column 15: expected 'and', 'or' or the end"),
    ("config.lr between 1", "at column 11: expected an operator"),
    ("tags = 'x'", "at column 8: tags are matched with contains"),
    ("config.x contains 'x'", "at column 10: 'contains' applies to tags and to text fields"),
    ("name = 3", "at column 8: name is text: expected a quoted string, got 3"),
    ("status = 'finishd'", "status is one of running, finished, failed, crashed"),
    ("created_at > 'yesterday'", "created_at takes an ISO date"),
    ("summary.accuracy > true", "true and false compare with = or !="),
    ("config.a in 1", "at column 13: expected '(' and a list of values after 'in'"),
    ("config.x = 'a\\q'", "at column 14: unknown escape \\q"),
    ("config. = 1", "'config.' is not a config key"),
    ("name is 1", "at column 9: expected 'null' after 'is'"),
])
def test_syntax_errors_name_the_column_and_what_was_expected(built, text, message):
    store, _ = built
    with pytest.raises(FilterError) as caught:
        store.search_runs(text)
    assert message in str(caught.value)
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("order", "message"), [
    ("tags", "runs cannot be sorted by tags"),
    ("summary.accuracy sideways", "at column 18: expected ',' and another field"),
    ("; DROP TABLE runs", "at column 1: unexpected character ';'"),
])
def test_bad_sort_orders(built, order, message):
    store, _ = built
    with pytest.raises(FilterError, match=message):
        store.search_runs(order_by=order)


def test_status_is_what_readers_see_a_silent_run_of_another_host_is_crashed(store):
    import glassnet as gn

    silent = gn.track.init("p", name="silent", store=store)
    alive = gn.track.init("p", name="alive", store=store)
    store.flush()
    with store.backend.transaction() as c:  # another host, whose beats stopped long ago
        c.execute("UPDATE runs SET host = 'elsewhere', heartbeat_at = 1000 WHERE id = ?",
                  (silent.id,))
    store._live.discard(silent.id)  # this process no longer beats for it
    crashed = store.search_runs("status = 'crashed'", as_records=True)
    assert [r["name"] for r in crashed] == ["silent"]
    assert crashed[0]["status"] == "crashed"
    assert [r["name"] for r in store.search_runs("status = 'running'", as_records=True)] == [
        "alive"]
    assert [r["name"] for r in store.search_runs(order_by="status", as_records=True)] == [
        "silent", "alive"]  # crashed < running
    alive.finish()
