"""The life of a run: tags, notes, archive; registry aliases moved to existing versions.

Delete and garbage collection are in test_run_delete.py. Truth is read with plain SQL
through the database driver (``store.backend.read``), not through the store's queries.
"""

from __future__ import annotations

import numpy as np
import pytest
from track_helpers import spawn

import glassnet as gn
from glassnet.errors import ConfigError, FilterError, NotFoundError
from glassnet.track import init, load_model
from glassnet.track.registry import set_alias


def raw(store, sql, params=()):
    store.flush()
    return [tuple(row) for row in store.backend.read(sql, params)]


# -- tags -------------------------------------------------------------------------------
def test_tags_change_while_running_and_after_finishing(store):
    run = init("p", store=store, tags=["first"])
    assert run.tags == ["first"] and "first" in run.tags and len(run.tags) == 1
    run.tags.add("baseline", "lr-sweep")
    run.tags.remove("first", "never-there")  # an absent tag is ignored
    assert run.tags == ["baseline", "lr-sweep"]
    assert raw(store, "SELECT tags FROM runs WHERE id = ?", (run.id,)) == [
        ('["baseline", "lr-sweep"]',)]
    run.log({"loss": 1.0})
    run.finish()
    assert store.tag_run(run.id[:5], add=["kept"], remove="baseline") == ["lr-sweep", "kept"]
    run.tags.add("kept")  # already there: unchanged
    assert store.run(run.id).tags == ["lr-sweep", "kept"] == list(run.tags)
    run.tags = ["a", "b", "a"]
    assert store.run(run.id).tags == ["a", "b"]


@pytest.mark.parametrize(("tag", "message"), [
    ("", "non-empty"), (" padded", "without spaces around"), ("+plus", "may not start"),
    ("-minus", "may not start"), ("line\nbreak", "control characters"), (3, "must be a string"),
    ("x" * 201, "at most 200 characters"),
])
def test_bad_tags_are_refused_and_nothing_changes(store, tag, message):
    run = init("p", store=store, tags=["keep"])
    with pytest.raises(ConfigError, match=message):
        run.tags.add("fine", tag)
    assert store.run(run.id).tags == ["keep"]
    run.finish()


def test_a_tag_both_added_and_removed_is_refused(store):
    run = init("p", store=store)
    with pytest.raises(ConfigError, match=r"\['x'\] are both added and removed"):
        store.tag_run(run.id, add=["x"], remove=["x"])
    run.finish()


@pytest.mark.slow
def test_processes_tagging_one_run_at_once_lose_no_tag(store_dir):
    """Compare-and-set: 4 processes x 60 tags on the same run at once, all 240 land
    (a plain read-then-write loses some: 12 of 160 when tried)."""
    store = gn.track.open_store(store_dir)
    run = init("p", store=store)
    run.finish()
    go = store_dir / "go"
    children = [spawn("""
        import os, sys, time, glassnet.track as t
        store = t.open_store(sys.argv[1])
        print("ready", flush=True)
        while not os.path.exists(sys.argv[4]):
            time.sleep(0.001)
        for i in range(60):
            store.tag_run(sys.argv[2], add=[f"{sys.argv[3]}-{i}"])
    """, str(store_dir), run.id, f"p{n}", str(go)) for n in range(4)]
    for child in children:  # every child has opened the store: they start together
        assert child.stdout.readline() == "ready\n"
    go.touch()
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    tags = store.run(run.id).tags
    assert sorted(tags) == sorted(f"p{n}-{i}" for n in range(4) for i in range(60))


# -- notes ------------------------------------------------------------------------------
def test_a_note_round_trips_as_written_and_clears(store):
    run = init("p", store=store)
    assert run.note == "" and store.run(run.id).note == ""
    text = "# Baseline\n\nLR **0.01**; größe 'quoted' \"both\"; 50% of `x_y`\n- [ ] next\n"
    run.note = text
    assert run.note == text
    run.finish()
    assert raw(store, "SELECT note FROM runs WHERE id = ?", (run.id,)) == [(text,)]
    store.set_note(run.id, "")
    assert store.run(run.id).note == ""


@pytest.mark.parametrize(("note", "error", "message"), [
    (42, ConfigError, "must be text"), ("x" * 100_001, ConfigError, "at most 100000"),
    ("nul\x00", ConfigError, "NUL"),
])
def test_bad_notes_are_refused(store, note, error, message):
    run = init("p", store=store)
    run.note = "kept"
    with pytest.raises(error, match=message):
        run.note = note
    assert run.note == "kept"
    run.finish()


def test_unknown_and_ambiguous_run_ids_name_the_problem(store):
    runs = [init("p", store=store) for _ in range(40)]  # 8 hex digits: some share a digit
    for run in runs:
        run.finish()
    with pytest.raises(NotFoundError, match=r"no run with id 'zz' in store"):
        store.set_note("zz", "x")
    first = max("0123456789abcdef", key=lambda d: sum(r.id.startswith(d) for r in runs))
    sharing = sorted(r.id for r in runs if r.id.startswith(first))
    assert len(sharing) > 1  # 40 ids over 16 first digits
    with pytest.raises(NotFoundError, match=rf"prefix '{first}' matches several runs .*"
                                            rf"{sharing[0]}, {sharing[1]}"):
        store.tag_run(first, add=["x"])


# -- searching by tags and notes ----------------------------------------------------------
@pytest.fixture
def noted(store):
    notes = {"a": "Baseline for the NEW optimizer", "b": "50% of the data; it's small",
             "c": ""}
    ids = {}
    for key, text in notes.items():
        run = init("p", name=key, store=store, tags=[f"t-{key}", "all"])
        run.note = text
        run.finish()
        ids[key] = run.id
    return store, ids


def names(store, text, **kwargs):
    return sorted(r.name for r in store.search_runs(text, as_records=True, **kwargs))


@pytest.mark.parametrize(("text", "expected"), [
    ("note contains 'new optimizer'", ["a"]),  # any case
    ("note contains '50%'", ["b"]),  # % is a literal character, not a wildcard
    ("note contains '%'", ["b"]),
    ("note contains '_'", []),
    ("note contains \"it's\"", ["b"]),
    ("note not contains 'baseline'", ["b", "c"]),
    ("note = ''", ["c"]),
    ("note like 'baseline%'", ["a"]),
    ("tags contains 't-b' or note contains 'NEW'", ["a", "b"]),
    ("note contains \"'; DROP TABLE runs; --\"", []),
])
def test_notes_and_tags_are_searchable(noted, text, expected):
    store, _ = noted
    assert names(store, text) == expected
    assert raw(store, "SELECT COUNT(*) FROM runs") == [(3,)]


def test_contains_on_a_number_field_is_an_error(noted):
    store, _ = noted
    with pytest.raises(FilterError, match="'contains' applies to tags and to text fields"):
        store.search_runs("created_at contains 'x'")


# -- archive ---------------------------------------------------------------------------
def test_archived_runs_are_hidden_from_lists_and_searches_and_kept_whole(noted):
    store, ids = noted
    before = raw(store, "SELECT * FROM runs WHERE id = ?", (ids["a"],))[0]
    assert store.archive_run(ids["a"][:6]) is True
    assert store.archive_run(ids["a"]) is False  # already archived
    assert [r.name for r in store.runs()] == ["c", "b"]
    assert [r.name for r in store.runs(archived=True)] == ["c", "b", "a"]
    assert names(store, "tags contains 'all'") == ["b", "c"]
    assert names(store, "tags contains 'all'", archived=True) == ["a", "b", "c"]
    assert names(store, "archived_at is not null") == ["a"]  # naming it shows archived runs
    assert names(store, "archived_at is null") == ["b", "c"]
    record = store.run(ids["a"])  # by id it is always there
    assert record.archived_at is not None and record.note.startswith("Baseline")
    after = raw(store, "SELECT * FROM runs WHERE id = ?", (ids["a"],))[0]
    changed = [i for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y]
    assert len(changed) == 1  # archived_at, nothing else
    assert store.archive_runs([ids["a"], ids["b"]], archived=False) == [ids["a"]]
    assert [r.name for r in store.runs()] == ["c", "b", "a"]


def test_the_dashboard_reads_tags_and_notes(noted):
    from glassnet.ui.queries import run_detail
    from glassnet.ui.runs_list import runs_page

    store, ids = noted
    store.archive_run(ids["c"])
    listed = {r["name"]: r for r in runs_page(store, columns="tags,note")["runs"]}
    assert sorted(listed) == ["a", "b"]
    assert listed["a"]["tags"] == ["t-a", "all"]
    assert listed["b"]["note"] == "50% of the data; it's small"
    assert run_detail(store, ids["a"])["run"]["note"] == "Baseline for the NEW optimizer"


# -- registry aliases ----------------------------------------------------------------
def _model(bias: float):
    model = gn.Sequential([gn.layers.Input(shape=(2,)), gn.layers.Dense(1)])
    model.layers[0].set_weights([np.ones((2, 1), np.float32),
                                 np.full((1,), bias, np.float32)])
    return model


@pytest.fixture
def three_versions(store):
    with init("p", store=store) as run:
        for bias in (1.0, 2.0, 3.0):
            run.log_model(_model(bias), "mlp")
    return store


def aliases(store):
    return {m["version"]: m["aliases"] for m in store.models("mlp")}


def test_an_alias_moves_to_an_existing_version_and_leaves_the_old_one(three_versions):
    store = three_versions
    assert aliases(store) == {1: [], 2: [], 3: ["latest"]}
    assert store.set_model_alias("mlp", "v1", "production") == 1
    assert set_alias("mlp:v2", "production", store) == 2
    assert aliases(store) == {1: [], 2: ["production"], 3: ["latest"]}
    x = np.zeros((1, 2), np.float32)
    assert load_model("mlp:production", store).predict(x, verbose=0)[0, 0] == 2.0
    assert set_alias("mlp:production", "best", store) == 2  # by another alias
    set_alias("mlp:v1", "latest", store)  # even latest moves
    assert aliases(store) == {1: ["latest"], 2: ["best", "production"], 3: []}
    assert load_model("mlp", store).predict(x, verbose=0)[0, 0] == 1.0
    assert raw(store, "SELECT COUNT(*) FROM model_aliases WHERE alias = 'latest'") == [(1,)]
    assert store.remove_model_alias("mlp", "best") == 2
    assert aliases(store)[2] == ["production"]


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda s: s.set_model_alias("mlp", 7, "prod"), NotFoundError,
     r"model 'mlp' has no version v7; versions: v1, v2, v3"),
    (lambda s: s.set_model_alias("nope", 1, "prod"), NotFoundError, r"no model named 'nope'"),
    (lambda s: set_alias("mlp:v9", "prod", s), NotFoundError, r"no version v9"),
    (lambda s: set_alias("mlp", "prod", s), ConfigError, r"NAME:VERSION"),
    (lambda s: s.set_model_alias("mlp", 1, "v2"), ConfigError, r"read as a version number"),
    (lambda s: s.set_model_alias("mlp", 1, "a:b"), ConfigError, r"without ':'"),
    (lambda s: s.set_model_alias("mlp", "two", "x"), ConfigError, r"such as 3 or 'v3'"),
    (lambda s: s.remove_model_alias("mlp", "gone"), NotFoundError, r"no alias 'gone'"),
])
def test_bad_alias_moves_say_what_is_there_and_change_nothing(three_versions, call, error,
                                                              message):
    with pytest.raises(error, match=message):
        call(three_versions)
    assert aliases(three_versions) == {1: [], 2: [], 3: ["latest"]}
