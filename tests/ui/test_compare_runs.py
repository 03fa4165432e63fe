"""Comparing N runs (issue 20, item 2): the API against the store and NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from ui_helpers import make_client

from glassnet.ui.compare import labels, variable_diff


@pytest.fixture(scope="module")
def five_client(five):
    with make_client(five["store"].root) as c:
        yield c


def test_five_runs_are_named_by_what_differs_and_the_config_table_marks_it(five, five_client):
    ids = five["ids"]
    d = five_client.get("/api/compare-runs", params={"run": ids}).json()
    assert [r["id"] for r in d["runs"]] == ids
    assert [r["label"] for r in d["runs"]] == [
        "activation=relu learning_rate=0.01", "activation=relu learning_rate=0.03",
        "activation=relu learning_rate=0.1", "activation=tanh learning_rate=0.01",
        "activation=tanh learning_rate=0.1"]
    table = {c["key"]: c for c in d["config"]}
    assert [c["key"] for c in d["config"]][:2] == ["activation", "learning_rate"]
    assert table["learning_rate"]["differs"] and not table["hidden"]["differs"]
    assert table["learning_rate"]["values"] == [0.01, 0.03, 0.1, 0.01, 0.1]
    # each run's curve is its recorded loss; the single value is a bar's value
    steps, values = five["store"].metrics(ids[2], "epoch/loss")
    assert d["curves"][2]["epoch/loss"]["values"] == pytest.approx(values.tolist())
    assert d["single_values"] == [{"key": "test/accuracy",
                                   "values": pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])}]
    # per Variable: each run's statistics at its last recorded step
    stats = d["layer_stats"]
    # Keras numbers layer names per session: dense, dense_2... so rows go by layer position
    assert stats["paths"] == ["layer 1/kernel", "layer 1/bias", "layer 2/kernel", "layer 2/bias"]
    snapshot = five["store"].snapshot(ids[4], "end")
    first_kernel = min((p for p in snapshot if p.endswith("/kernel")),
                       key=lambda p: int(p.split("/")[0].partition("_")[2] or 0))
    last = snapshot[first_kernel].astype(np.float64)
    row = stats["runs"][4][0]
    assert row["mean"] == pytest.approx(last.mean(), rel=1e-5)
    assert row["std"] == pytest.approx(last.std(), rel=1e-4)


def test_a_sweep_compares_its_runs_oldest_first(five, five_client):
    d = five_client.get("/api/compare-runs", params={"sweep": "sweep-five"}).json()
    assert [r["id"] for r in d["runs"]] == five["ids"]
    page = five_client.get("/compare", params={"sweep": "sweep-five"})
    assert page.status_code == 200 and ",".join(five["ids"]) in page.text
    # plotly's parallel coordinates (regl) compile code: only the compare page allows it
    assert "'unsafe-eval'" in page.headers["content-security-policy"]
    assert "unsafe-eval" not in five_client.get("/").headers["content-security-policy"]


def test_weight_diff_equals_numpy_on_the_snapshots(five, five_client):
    a, b = five["ids"][0], five["ids"][2]
    store = five["store"]
    first = store.snapshots(a)[1]
    w = five_client.get("/api/weight-diff", params={"a": a, "b": b, "step_a": first,
                                                     "top": 3}).json()
    assert w["step_a"] == first and w["step_b"] == store.snapshots(b)[-1]
    wa, wb = store.snapshot(a, first), store.snapshot(b, "end")
    assert len(w["variables"]) == len(wa) == 4
    for v in w["variables"]:
        pa, _, pb = v["path"].partition(" ↔ ")  # "dense/kernel ↔ dense_4/kernel"
        assert pa.rpartition("/")[2] == (pb or pa).rpartition("/")[2]
        x, y = wa[pa].astype(np.float64), wb[pb or pa].astype(np.float64)
        assert v["relative"] == pytest.approx(np.linalg.norm(y - x) / np.linalg.norm(x))
        cosine = np.sum(x * y) / np.sqrt(np.sum(x * x) * np.sum(y * y))
        assert v["cosine"] == pytest.approx(cosine)
        flipped = ((x > 0) & (y < 0)) | ((x < 0) & (y > 0))
        assert v["sign_flips"] == pytest.approx(flipped.mean())
        change = np.abs(y - x)
        biggest = sorted(change.ravel(), reverse=True)[:3]
        assert [abs(t["delta"]) for t in v["top"]] == pytest.approx(biggest)
        for t in v["top"]:
            assert change[tuple(t["index"])] == pytest.approx(abs(t["delta"]))
            assert t["a"] == pytest.approx(x[tuple(t["index"])])
    kernel = w["variables"][0]  # the first layer's kernel: network order
    i, j = kernel["top"][0]["index"]
    assert kernel["top"][0]["unit"] == f"input {i} → unit {j}"


def test_sign_flips_and_top_changes_on_a_hand_worked_example():
    x = np.array([[1.0, -2.0], [3.0, 0.0]])
    y = np.array([[1.0, 2.0], [-3.0, 0.5]])
    d = variable_diff(x, y, top_k=2)
    assert d["sign_flips"] == 0.5  # two of four changed sign; 0 -> 0.5 is no flip
    assert [t["index"] for t in d["top"]] == [[1, 0], [0, 1]]  # |Δ| 6, then 4
    assert d["diff_l2"] == pytest.approx(np.sqrt(36 + 16 + 0.25))
    assert d["relative"] == pytest.approx(np.sqrt(52.25) / np.sqrt(1 + 4 + 9))


def test_identical_configs_fall_back_to_run_names():
    runs = [{"name": "a", "config": {"k": 1, "s": 0}}, {"name": "b", "config": {"k": 1, "s": 0}},
            {"name": "c", "config": {"k": 2, "s": 0}}]
    assert labels(runs, ["k"]) == ["a k=1", "b k=1", "k=2"]


def test_bad_compare_requests_say_what_was_expected(five, five_client):
    r = five_client.get("/api/compare-runs", params={"run": five["ids"][:1]})
    assert r.status_code == 400 and "2 to 50 runs, got 1" in r.json()["error"]
    r = five_client.get("/api/compare-runs", params={"sweep": "nope"})
    assert r.status_code == 400 and "nope" in r.json()["error"]
    r = five_client.get("/api/weight-diff", params={"a": five["ids"][0], "b": five["ids"][1],
                                                     "step_a": "soon"})
    assert r.status_code == 400 and "step_a" in r.json()["error"]
    r = five_client.get("/api/weight-diff", params={"a": five["ids"][0], "b": "ffffffff"})
    assert r.status_code == 404


def test_correlation_ratio_on_a_hand_worked_example():
    from glassnet.ui.hyper import correlation_ratio

    # mean 4, total SS 9+1+1+9 = 20; group means 2 and 6: between 2*4 + 2*4 = 16
    assert correlation_ratio(["a", "a", "b", "b"], [1, 3, 5, 7]) == pytest.approx(0.8)
    assert correlation_ratio(["a", "b", "a", "b"], [1, 1, 5, 5]) == pytest.approx(0.0)
    assert correlation_ratio(["a", "b"], [2, 2]) is None  # nothing to explain


def test_five_runs_rank_their_hyperparameters_by_eta_squared(five, five_client):
    d = five_client.get("/api/compare-runs", params={"run": five["ids"]}).json()
    h = d["hyper"]
    assert [p["key"] for p in h["params"]] == ["activation", "learning_rate"]
    assert h["params"][0] == {"key": "activation", "numeric": False,
                              "values": ["relu", "relu", "relu", "tanh", "tanh"]}
    # test/accuracy 0.5..0.9: relu runs mean 0.6, tanh 0.85 -> 0.075 / 0.1 = 0.75;
    # by rate (0.01: .5 .8; 0.03: .6; 0.1: .7 .9) -> 0.035 / 0.1 = 0.35
    ranking = h["importance"]["test/accuracy"]["ranking"]
    assert [(r["key"], r["eta2"]) for r in ranking] == [
        ("activation", pytest.approx(0.75)), ("learning_rate", pytest.approx(0.35))]
    assert "η²" in h["statistic"]
