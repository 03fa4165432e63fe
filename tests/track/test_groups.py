"""store.count_runs / search_groups / count_groups / run_keys (track/store/query/groups.py).

On SQLite against sums worked out from ``store.runs()``; on a real PostgreSQL server (the
``postgres_url`` fixture) the same SQL, through the PostgreSQL dialect, must give the
same rows as SQLite's.
"""

from __future__ import annotations

import statistics
from types import SimpleNamespace

import pytest
from search_fixtures import postgres_url_or_skip, runs_on_postgres, store_rows

import glassnet as gn
from glassnet.errors import ConfigError, FilterError
from glassnet.track.store.query import groups
from glassnet.track.store.query.dialects import POSTGRESQL
from glassnet.track.store.records import run_record

SCORES = {("s1", 0): [0.5, 0.7], ("s1", 1): [0.9, 0.8], ("s2", 0): [0.65, 0.6, 0.7]}
CASES = [
    ("sweep", None, "summary.score desc", None),
    ("sweep", None, "summary.score desc", "summary.score desc"),
    ("sweep", None, "summary.score asc", "summary.score asc"),
    ("sweep", "project = 'b'", "summary.score desc", "name"),
    ("sweep", "config.lr > 0.015", None, "config.lr desc"),
    ("project", None, "summary.score desc", "summary.score desc"),
    ("project", "tags contains 'x'", "summary.score desc", "created_at"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = gn.track.open_store(tmp_path_factory.mktemp("groups"))
    for (sweep, trial), scores in SCORES.items():
        for fold, score in enumerate(scores):
            run = gn.track.init(project="a", name=f"{sweep}-{trial}-{fold}", store=store,
                                group=sweep, tags=["x"] if sweep == "s1" else [],
                                config={"trial": trial, "fold": fold, "lr": 0.01 * (trial + 1)})
            run.log({"score": score})
            run.finish()
    for i, score in enumerate([0.95, 0.55]):
        run = gn.track.init(project="b", name=f"lone-{i}", store=store, config={"lr": 0.04})
        run.log({"score": score})
        run.finish()
    gn.track.init(project="b", name="no-score", store=store, config={"lr": "auto"}).finish()
    store.flush()
    return store


def trial_means(records):
    trials = {}
    for r in records:
        trials.setdefault(r["config"].get("trial", r["id"]), []).append(r["summary"]["score"])
    return [statistics.fmean(v) for v in trials.values()]


def test_a_sweeps_best_is_its_best_trial_mean(store):
    rows = {r["key"]: r for r in store.search_groups("sweep", score="summary.score desc")}
    for sweep in ("s1", "s2"):
        members = store.runs(group_id=sweep)
        assert rows[sweep]["best"] == pytest.approx(max(trial_means(members)))
        assert rows[sweep]["runs"] == len(members) and rows[sweep]["finished"] == len(members)
    assert rows["s1"]["best"] == pytest.approx(0.85) and rows["s1"]["trials"] == 2
    assert rows["s2"]["best"] == pytest.approx(0.65) and rows["s2"]["trials"] == 1
    lone = {r["run"]["name"]: r for r in rows.values() if r["kind"] == "run"}
    assert set(lone) == {"lone-0", "lone-1", "no-score"}
    assert lone["lone-0"]["best"] == 0.95 and lone["no-score"]["best"] is None
    worst = {r["key"]: r for r in store.search_groups("sweep", score="summary.score asc")}
    assert worst["s1"]["best"] == pytest.approx(0.6)  # trial 0's mean, the smallest


def test_groups_sort_by_their_best_and_page(store):
    rows = store.search_groups("sweep", score="summary.score desc",
                               order_by="summary.score desc")
    names = [r["key"] if r["kind"] == "sweep" else r["run"]["name"] for r in rows]
    assert names == ["lone-0", "s1", "s2", "lone-1", "no-score"]  # no score: last
    page = store.search_groups("sweep", score="summary.score desc",
                               order_by="summary.score desc", limit=2, offset=2)
    assert [r["key"] for r in page] == [r["key"] for r in rows[2:4]]
    by_name = store.search_groups("sweep", order_by="name")  # a sweep by its id
    assert [r["key"] if r["kind"] == "sweep" else r["run"]["name"] for r in by_name] == \
        ["lone-0", "lone-1", "no-score", "s1", "s2"]
    assert store.count_groups("sweep") == 5 and store.count_groups("project") == 2
    assert store.count_groups("sweep", "project = 'b'") == 3


def test_count_runs_is_the_number_search_runs_finds(store):
    for text in (None, "project = 'a'", "summary.score > 0.6", "config.lr = 'auto'"):
        assert store.count_runs(text) == len(store.search_runs(text, as_records=True))


def test_run_keys_count_runs_and_distinct_values(store):
    keys = store.run_keys()
    assert keys["config"] == {"fold": [7, 3], "lr": [10, 4], "trial": [7, 2]}
    assert keys["summary"] == {"score": [9]}


def test_bad_group_requests_say_what_was_expected(store):
    with pytest.raises(ConfigError, match="group by one of"):
        store.search_groups("colour")
    with pytest.raises(FilterError, match="one field"):
        store.search_groups("sweep", order_by="name, created_at")
    with pytest.raises(FilterError, match="expected a value"):
        store.count_runs("summary.score >")
    with pytest.raises(ConfigError, match="limit must be a non-negative integer"):
        store.search_groups("sweep", limit=-1)


# -- the same SQL on PostgreSQL ------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_store(request, store):
    """The store's runs in a PostgreSQL table, behind the few store methods groups.py uses."""
    url = postgres_url_or_skip(request)
    conn = runs_on_postgres(url, store_rows(store))

    def read(sql, params=()):
        assert "%" not in sql  # the backend's ? -> %s rewrite is then safe
        return conn.execute(sql.replace("?", "%s"), params).fetchall()

    yield SimpleNamespace(backend=SimpleNamespace(query_dialect=POSTGRESQL), _read=read,
                          mark_crashed=lambda: [],
                          _judged=lambda rows: [run_record(r) for r in rows])
    conn.execute("DROP TABLE runs")
    conn.close()


def same_rows(theirs, ours) -> None:
    assert len(theirs) == len(ours)
    for a, b in zip(theirs, ours):
        assert {k: v for k, v in a.items() if k not in ("best", "run")} == \
            {k: v for k, v in b.items() if k not in ("best", "run")}
        assert a["best"] == pytest.approx(b["best"])  # AVG in float8: the last digit
        assert a.get("run", {}).get("id") == b.get("run", {}).get("id")


@pytest.mark.parametrize(("by", "filter", "score", "order_by"), CASES)
def test_postgresql_groups_as_sqlite_does(store, pg_store, by, filter, score, order_by):
    ours = groups.search_groups(store, by, filter, score, order_by)
    same_rows(groups.search_groups(pg_store, by, filter, score, order_by), ours)
    assert groups.count_groups(pg_store, by, filter) == groups.count_groups(store, by, filter)
    assert len(ours) == groups.count_groups(store, by, filter) > 0


def test_postgresql_counts_and_keys_as_sqlite_does(store, pg_store):
    for text in (None, "project = 'a'", "summary.score > 0.6"):
        assert groups.count_runs(pg_store, text) == groups.count_runs(store, text)
    assert groups.run_keys(pg_store) == groups.run_keys(store)


def test_archived_runs_are_neither_counted_nor_grouped_nor_paged(tmp_path):
    """As search_runs leaves archived runs out, so do the runs list's count, groups and
    pages; a filter naming archived_at finds them."""
    store = gn.track.open_store(tmp_path)
    for sweep, score in (("s1", 0.9), ("s1", 0.5), ("s2", 0.7)):
        run = gn.track.init(project="a", store=store, group=sweep, config={"trial": 0})
        run.log({"score": score})
        run.finish()
    store.flush()
    hidden = max(store.runs(group_id="s1"), key=lambda r: r["summary"]["score"])
    assert hidden["summary"]["score"] == 0.9
    store.archive_run(hidden["id"])
    assert store.count_runs() == 2
    assert store.count_runs("archived_at is not null") == 1
    rows = {r["key"]: r for r in store.search_groups("sweep", score="summary.score desc")}
    assert rows["s1"]["runs"] == 1 and rows["s1"]["best"] == pytest.approx(0.5)
    assert store.count_groups("sweep") == 2
    records, total = groups.runs_page(store)
    assert total == 2 and hidden["id"] not in {r["id"] for r in records}
