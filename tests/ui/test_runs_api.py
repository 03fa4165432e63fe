"""The runs list's JSON (/api/runs, /api/run-columns) over a store of sweeps and lone runs.

Truth comes from outside the endpoint: the store's own ``search_runs`` (the same filter
and order, every page concatenated), and best scores worked out here from
``store.runs()`` (mean over each trial's folds, best trial), independently of the SQL.
"""

from __future__ import annotations

import statistics

import pytest
from ui_helpers import make_client

import glassnet as gn
from glassnet.errors import FilterError
from glassnet.track.store.query import parse_filter
from glassnet.track.store.records import RunRecord
from glassnet.ui.runs_list import default_columns, run_row

# sweep -> (project, {trial: fold scores}); lr differs per trial
SWEEPS = {
    "sweep-a": ("digits", {0: [0.80, 0.84], 1: [0.90, 0.70], 2: [0.86, 0.88]}),
    "sweep-b": ("digits", {0: [0.60, 0.62], 1: [0.95, 0.91]}),
    "sweep-c": ("iris", {0: [0.5, 0.7, 0.9]}),
}
LONE = [("lone-0", "iris", 0.02, 0.75, ["baseline"]), ("lone-1", "digits", 0.2, 0.99, []),
        ("lone-2", "iris", 0.005, None, ["baseline", "x"])]


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    store = gn.track.open_store(tmp_path_factory.mktemp("runs-list"))
    for sweep, (project, trials) in SWEEPS.items():
        for trial, scores in trials.items():
            for fold, score in enumerate(scores):
                run = gn.track.init(project=project, name=f"{sweep}-t{trial}-f{fold}",
                                    store=store, group=sweep, tags=[f"sweep:{sweep}"],
                                    config={"learning_rate": 0.01 * (trial + 1),
                                            "trial": trial, "fold": fold})
                run.log({"cv_score": score, "final_loss": 1 - score})
                run.finish()
    for name, project, rate, score, tags in LONE:
        run = gn.track.init(project=project, name=name, store=store, tags=tags,
                            config={"learning_rate": rate, "hidden": 8})
        if score is not None:
            run.log({"cv_score": score})
        run.finish("failed" if score is None else "finished")
    # one run still training, in sweep-c: its process (this one) is alive
    running = gn.track.init(project="iris", name="sweep-c-t1-f0", store=store, group="sweep-c",
                            config={"learning_rate": 0.5, "trial": 1, "fold": 0})
    store.flush()
    with make_client(store.root) as client:
        yield {"store": store, "client": client, "running": running}
    running.finish()


def get(client, **params):
    response = client.get("/api/runs", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def every_page(client, limit, **params) -> tuple[list[str], int]:
    ids, offset, total = [], 0, None
    while True:
        body = get(client, offset=offset, limit=limit, **params)
        total = body["total"] if total is None else total
        assert body["total"] == total and len(body["rows"]) <= limit
        ids += [row["key"] for row in body["rows"]]
        if len(body["rows"]) < limit:
            return ids, total
        offset += limit


@pytest.mark.parametrize(("filter", "order_by"), [
    ("", ""),
    ("", "summary.cv_score desc"),
    ("config.learning_rate < 0.025", "config.learning_rate, name"),
    ("tags contains 'baseline' or project = 'digits'", "name desc"),
    ("status = 'running'", ""),
])
def test_pages_of_runs_are_the_stores_search_in_slices(lists, filter, order_by):
    store, client = lists["store"], lists["client"]
    expected = [r["id"] for r in store.search_runs(filter or None, order_by or None,
                                                   as_records=True)]
    ids, total = every_page(client, 4, filter=filter, order_by=order_by)
    assert ids == expected and total == len(expected) > 0


def test_sorting_by_a_metric_orders_the_values(lists):
    body = get(lists["client"], order_by="summary.cv_score desc", columns="summary.cv_score",
               limit=500)
    scores = [r["summary"].get("cv_score") for r in body["runs"]]
    present = [s for s in scores if s is not None]
    assert present == sorted(present, reverse=True) and present[0] == 0.99
    assert scores[len(present):] == [None] * (len(scores) - len(present))  # missing last


def test_a_run_carries_only_the_chosen_columns_its_tags_and_note(lists):
    body = get(lists["client"], filter="name = 'lone-2'", columns="config.hidden,tags")
    (run,) = body["runs"]
    assert run["config"] == {"hidden": 8} and run["summary"] == {}
    assert run["tags"] == ["baseline", "x"] and run["note"] == ""
    assert run["status"] == "failed" and body["columns"] == ["config.hidden", "tags"]
    # a note, once runs carry one (records read with .get: before and after they do)
    record = RunRecord(lists["store"].run(run["id"]), note="lr too small")
    assert run_row(record, ["note"])["note"] == "lr too small"


def best_trial_mean(records, key="cv_score", best=max):
    trials = {}
    for r in records:
        if key in r["summary"]:
            trials.setdefault(r["config"].get("trial", r["id"]), []).append(r["summary"][key])
    return best(statistics.fmean(v) for v in trials.values()) if trials else None


def test_grouped_by_sweep_one_row_per_sweep_with_its_best_trial(lists):
    store, client = lists["store"], lists["client"]
    body = get(client, group="sweep", columns="summary.cv_score", order_by="summary.cv_score desc")
    assert body["score"] == "summary.cv_score desc"
    rows = {row["key"]: row for row in body["rows"]}
    for sweep in SWEEPS:
        members = store.runs(group_id=sweep)
        row = rows[sweep]
        assert row["kind"] == "sweep" and row["runs"] == len(members)
        assert row["best"] == pytest.approx(best_trial_mean(members))
    # by hand: sweep-a trials 0.82, 0.80, 0.87 -> 0.87; sweep-b 0.61, 0.93; sweep-c 0.7
    assert [rows[s]["best"] for s in SWEEPS] == pytest.approx([0.87, 0.93, 0.7])
    assert rows["sweep-c"]["trials"] == 2 and rows["sweep-c"]["running"] == 1
    assert rows["sweep-a"]["finished"] == 6 and rows["sweep-a"]["running"] == 0
    lone = [row for row in body["rows"] if row["kind"] == "run"]
    assert sorted(row["run"]["name"] for row in lone) == ["lone-0", "lone-1", "lone-2"]
    # sorted by the best score, high to low; a run of no score (lone-2) last
    order = [row["key"] if row["kind"] != "run" else row["run"]["name"] for row in body["rows"]]
    assert order == ["lone-1", "sweep-b", "sweep-a", "lone-0", "sweep-c", "lone-2"]
    assert body["total"] == 6


def test_a_lower_is_better_score_picks_the_smallest_trial_mean(lists):
    body = get(lists["client"], group="sweep", score="summary.final_loss asc")
    rows = {row["key"]: row for row in body["rows"]}
    members = lists["store"].runs(group_id="sweep-a")
    assert rows["sweep-a"]["best"] == pytest.approx(
        best_trial_mean(members, "final_loss", min)) == pytest.approx(0.13)


def test_grouped_by_project_and_a_project_opened_into_its_sweeps(lists):
    store, client = lists["store"], lists["client"]
    body = get(client, group="project", columns="summary.cv_score")
    rows = {row["key"]: row for row in body["rows"]}
    assert set(rows) == {"digits", "iris"}
    for project, row in rows.items():
        members = store.runs(project=project)
        assert row["runs"] == len(members) and row["kind"] == "project"
    # digits: sweep-a trials, sweep-b trials and lone-1 (0.99) -> 0.99
    assert rows["digits"]["best"] == pytest.approx(0.99)
    inside = get(client, group="sweep", project="iris", columns="summary.cv_score")
    assert sorted(row["key"] if row["kind"] == "sweep" else row["run"]["name"]
                  for row in inside["rows"]) == ["lone-0", "lone-2", "sweep-c"]


def test_a_sweep_opened_lists_its_trials_and_folds(lists):
    store, client = lists["store"], lists["client"]
    body = get(client, sweep="sweep-a", order_by="config.trial, config.fold",
               columns="config.trial,config.fold")
    expected = sorted(store.runs(group_id="sweep-a"),
                      key=lambda r: (r["config"]["trial"], r["config"]["fold"]))
    assert [r["id"] for r in body["runs"]] == [r["id"] for r in expected]
    assert [(r["config"]["trial"], r["config"]["fold"]) for r in body["runs"]] == \
        [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    assert body["filter"] == "sweep = 'sweep-a'"


def test_grouped_pages_slice_the_whole_grouped_list(lists):
    client = lists["client"]
    whole = [row["key"] for row in get(client, group="sweep", limit=500)["rows"]]
    ids, total = every_page(client, 2, group="sweep")
    assert ids == whole and total == len(whole) == 6


def test_menus_narrow_the_filter(lists):
    store, client = lists["store"], lists["client"]
    body = get(client, filter="config.learning_rate < 0.025", project="iris", status="finished")
    expected = store.search_runs("config.learning_rate < 0.025 and project = 'iris' "
                                 "and status = 'finished'", as_records=True)
    assert [r["id"] for r in body["runs"]] == [r["id"] for r in expected]
    assert {r["name"] for r in body["runs"]} == {"lone-0", "sweep-c-t0-f0", "sweep-c-t0-f1",
                                                 "sweep-c-t0-f2"}


@pytest.mark.parametrize("text", ["config.learning_rate <", "summary.x > 1 and", "colour = 1",
                                  "status = 'sleeping'"])
def test_a_bad_filter_is_a_400_with_the_parsers_message(lists, text):
    with pytest.raises(FilterError) as error:
        parse_filter(text)
    response = lists["client"].get("/api/runs", params={"filter": text, "project": "iris"})
    assert response.status_code == 400
    # the message counts columns in what the user typed, not in the narrowed filter
    assert response.json()["error"] == str(error.value)


@pytest.mark.parametrize(("params", "words"), [
    ({"order_by": "tags"}, "sorted by tags"),
    ({"group": "colour"}, "group must be one of"),
    ({"limit": 0}, "limit must be 1 to 500"),
    ({"limit": 501}, "limit must be 1 to 500"),
    ({"offset": -1}, "offset must be 0 or more"),
    ({"columns": "config.lr,weights"}, "'weights' is not one of"),
    ({"group": "sweep", "score": "name"}, "score is a summary or config key"),
])
def test_bad_parameters_say_what_was_expected(lists, params, words):
    response = lists["client"].get("/api/runs", params=params)
    assert response.status_code == 400 and words in response.json()["error"]


def test_the_column_chooser_offers_every_key_with_its_counts(lists):
    store, client = lists["store"], lists["client"]
    body = client.get("/api/run-columns").json()
    records = store.runs()
    for section in ("config", "summary"):
        counts = {}
        for r in records:
            for k in r[section]:
                counts[k] = counts.get(k, 0) + 1
        assert {c["key"]: c["runs"] for c in body[section]} == counts
    distinct = {c["key"]: c["distinct"] for c in body["config"]}
    assert distinct["hidden"] == 1 and distinct["fold"] == 3
    assert distinct["learning_rate"] == len({r["config"]["learning_rate"] for r in records})
    # what varies and means something: not the sweep's bookkeeping, not a constant key
    assert body["default"] == ["summary.cv_score", "summary.final_loss",
                               "config.learning_rate", "tags", "note"]
    assert body["projects"] == ["digits", "iris"]


def test_default_columns_prefer_epoch_level_metrics():
    keys = {"summary": {"loss": [5], "epoch/loss": [5], "epoch/val_loss": [5], "epoch": [5],
                        "test/accuracy": [2]},
            "config": {"lr": [5, 3], "seed": [5, 5], "const": [5, 1]}}
    assert default_columns(keys) == ["summary.epoch/val_loss", "summary.epoch/loss",
                                     "summary.test/accuracy", "config.lr", "tags", "note"]
