"""The dashboard's JSON endpoints and pages through FastAPI's TestClient, over real runs.

Truth comes from outside the dashboard: the models as trained (their weights), Keras-style
History from ``fit``, hashlib over the blob bytes, and counts worked out by hand.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from ui_helpers import XSS_KEY, XSS_NAME, XSS_VALUE, free_port, make_client

# 240 digits, validation_split=0.25 -> 180 training rows, batch 32 -> 6 steps per epoch;
# 4 epochs -> steps 0..23; snapshots "epoch" -> the initial one (-1) and each epoch's last
SNAPSHOT_STEPS = [-1, 5, 11, 17, 23]
SAMPLED_INPUTS = [0, 4, 8, 13, 17, 21, 25, 29, 34, 38, 42, 46, 50, 55, 59, 63]  # 16 of 64


@pytest.mark.slow
def test_runs_list_filters_and_sorts(client, filled):
    body = client.get("/api/runs").json()
    assert sorted(r["name"] for r in body["runs"]) == sorted(
        ["relu-adam", "tanh-sgd", XSS_NAME, "stopped-early"])
    keys = client.get("/api/run-columns").json()
    assert keys["projects"] == ["digits", "xss"]
    config_keys = [k["key"] for k in keys["config"]]
    assert "learning_rate" in config_keys and XSS_KEY in config_keys
    names = lambda q: [r["name"] for r in client.get("/api/runs" + q).json()["runs"]]  # noqa: E731
    assert names("?status=failed") == ["stopped-early"]
    assert sorted(names("?project=digits")) == ["relu-adam", "stopped-early", "tanh-sgd"]
    # runs without the key come last in both directions
    assert names("?order_by=config.learning_rate asc") == \
        ["relu-adam", "tanh-sgd", "stopped-early", XSS_NAME]
    assert names("?order_by=config.learning_rate desc") == \
        ["stopped-early", "tanh-sgd", "relu-adam", XSS_NAME]
    assert names("?order_by=name") == sorted(names("?order_by=name"))


@pytest.mark.slow
def test_bad_filters_say_what_was_expected(client):
    r = client.get("/api/runs?status=sleeping")
    assert r.status_code == 400 and "sleeping" in r.json()["error"]
    assert "finished" in r.json()["error"]
    r = client.get("/api/runs?order_by=name sideways")
    assert r.status_code == 400 and "'asc', 'desc'" in r.json()["error"]
    r = client.get("/api/runs/ffffffff")
    assert r.status_code == 404 and "ffffffff" in r.json()["error"]


def test_run_detail_and_curves_match_the_training_history(client, filled):
    detail = client.get(f"/api/runs/{filled['relu']}").json()
    assert detail["run"]["config"] == {"learning_rate": 0.01, "hidden": 16,
                                       "activation": "relu", "seed": 1}
    assert [s["step"] for s in detail["snapshots"]] == SNAPSHOT_STEPS
    # layer by layer, each kernel before its bias
    assert detail["param_paths"] == ["dense/kernel", "dense/bias", "dense_1/kernel",
                                     "dense_1/bias"]
    assert detail["datasets"] == [{"name": "digits-small", "version": 1}]
    assert detail["models"] == [{"name": "digits-mlp", "version": 1, "aliases": ["latest"]}]

    curves = client.get(f"/api/runs/{filled['relu']}/metrics").json()
    history = filled["relu_history"]
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert curves[f"epoch/{key}"]["steps"] == [5, 11, 17, 23]
        np.testing.assert_allclose(curves[f"epoch/{key}"]["values"], history[key], rtol=1e-6)
    assert curves["loss"]["steps"] == list(range(24)) and curves["loss"]["recorded"] == 24

    thin = client.get(f"/api/runs/{filled['relu']}/metrics?key=loss&max_points=5").json()
    assert list(thin) == ["loss"]
    steps = thin["loss"]["steps"]
    assert len(steps) <= 5 and steps[0] == 0 and steps[-1] == 23 and thin["loss"]["recorded"] == 24
    loss = np.asarray(curves["loss"]["values"])  # the interior's lowest and highest points stay
    assert {int(np.argmin(loss[1:-1])) + 1, int(np.argmax(loss[1:-1])) + 1} <= set(steps)


@pytest.mark.slow
def test_a_long_metric_is_served_thinned_keeping_first_and_last(tmp_path):
    import glassnet as gn

    run = gn.track.init(project="long", name="long-run", store=tmp_path)
    for step in range(3000):
        run.log({"custom": math.cos(step / 100)}, step=step)
    run.finish()
    with make_client(tmp_path) as client:
        body = client.get(f"/api/runs/{run.id}/metrics").json()["custom"]
        r = client.get(f"/api/runs/{run.id}/metrics?max_points=1")
        assert r.status_code == 400 and "at least 2" in r.json()["error"]
    assert body["recorded"] == 3000 and len(body["steps"]) == 2000
    assert body["steps"][0] == 0 and body["steps"][-1] == 2999
    assert body["values"][-1] == pytest.approx(math.cos(29.99))
    assert all(b > a for a, b in zip(body["steps"], body["steps"][1:]))


def test_network_shows_the_trained_weights_of_the_sampled_units(client, filled):
    model = filled["relu_model"]
    kernel0, bias0, kernel1, bias1 = model.get_weights()
    net = client.get(f"/api/runs/{filled['relu']}/network").json()
    assert net["step"] == 23 and net["steps"] == SNAPSHOT_STEPS
    assert net["activations"] == {"dense": "relu", "dense_1": "softmax"}  # the registered model
    cols = net["columns"]
    assert [c["size"] for c in cols] == [64, 16, 10]
    assert cols[0]["units"] == SAMPLED_INPUTS and cols[0]["bias"] is None
    assert cols[1]["units"] == list(range(16)) and cols[2]["units"] == list(range(10))
    np.testing.assert_allclose(cols[1]["bias"], bias0, rtol=1e-6)
    np.testing.assert_allclose(cols[2]["bias"], bias1, rtol=1e-6)
    np.testing.assert_allclose(net["edges"][0]["weights"], kernel0[SAMPLED_INPUTS], rtol=1e-6)
    np.testing.assert_allclose(net["edges"][1]["weights"], kernel1, rtol=1e-6)
    assert net["max_abs"] == pytest.approx(max(np.abs(kernel0[SAMPLED_INPUTS]).max(),
                                               np.abs(kernel1).max()), rel=1e-6)
    # the initial snapshot: zero biases (the default bias initializer)
    first = client.get(f"/api/runs/{filled['relu']}/network?step=-1").json()
    assert first["step"] == -1 and first["columns"][1]["bias"] == [0.0] * 16
    r = client.get(f"/api/runs/{filled['relu']}/network?step=soon")
    assert r.status_code == 400 and "soon" in r.json()["error"]


def test_network_takes_activations_and_order_from_the_recorded_architecture(client, filled):
    # the tanh run registered no model: its activations come from the watch's model config
    model = filled["tanh_model"]
    net = client.get(f"/api/runs/{filled['tanh']}/network").json()
    hidden, output = model.layers
    assert net["activations"] == {hidden.name: "tanh", output.name: "softmax"}
    assert [c["name"] for c in net["columns"]] == ["input"] + [layer.name for layer in
                                                               model.layers]
    assert filled["store"].model_config(filled["tanh"]) == _json_round_trip(model.get_config())


def _json_round_trip(value):
    import json

    return json.loads(json.dumps(value))


def test_histogram_heatmap_keeps_every_count(client, filled):
    kernel = "dense/kernel"
    heat = client.get(f"/api/runs/{filled['relu']}/histograms", params={"path": kernel}).json()
    assert heat["steps"] == list(range(0, 24, 2))  # log_freq=2
    counts = np.array(heat["counts"])
    assert counts.shape == (48, 12)
    # re-binning onto one value axis moves counts between bins, never loses one: 64 x 16
    np.testing.assert_allclose(counts.sum(axis=0), 64 * 16)
    stats = client.get(f"/api/runs/{filled['relu']}/params").json()[kernel]
    assert stats["count"] == 1024
    assert min(heat["values"]) >= min(stats["min"]) and max(heat["values"]) <= max(stats["max"])


def test_compare_gives_config_differences_and_weight_distances(client, filled):
    body = client.get("/api/compare", params={"a": filled["relu"], "b": filled["tanh"]}).json()
    differs = {c["key"]: (c["a"], c["b"]) for c in body["config"] if not c["same"]}
    assert differs == {"learning_rate": (0.01, 0.1), "activation": ("relu", "tanh"),
                       "seed": (1, 2)}
    a, b = filled["relu_model"].get_weights(), filled["tanh_model"].get_weights()
    rows = body["weights"]
    # the second model's layers got the next Keras names, so Variables pair by layer order
    assert [r["path"].split(" ↔ ")[0] for r in rows] == \
        ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
    for row, wa, wb in zip(rows, a, b, strict=True):
        wa, wb = wa.astype(np.float64).ravel(), wb.astype(np.float64).ravel()
        assert row["diff_l2"] == pytest.approx(np.linalg.norm(wa - wb), rel=1e-6)
        assert row["relative"] == pytest.approx(np.linalg.norm(wa - wb) / np.linalg.norm(wa),
                                                rel=1e-6)
        assert row["cosine"] == pytest.approx(
            (wa @ wb) / (np.linalg.norm(wa) * np.linalg.norm(wb)), rel=1e-6)
        assert row["mean_abs_diff"] == pytest.approx(np.abs(wa - wb).mean(), rel=1e-6)
    assert {c["key"] for c in body["config"]} == {"learning_rate", "hidden", "activation", "seed"}
    assert set(body["curves"]["a"]) == set(body["curves"]["b"])
    assert "epoch/val_loss" in body["curves"]["a"]


def test_registry_lists_versions_and_the_runs_behind_them(client, filled):
    body = client.get("/api/registry").json()
    versions = {(d["name"], d["version"]): sorted(r["name"] for r in d["runs"])
                for d in body["datasets"]}
    assert versions == {("digits-small", 1): ["relu-adam", "tanh-sgd"],
                        ("digits-small", 2): [XSS_NAME]}
    v1 = next(d for d in body["datasets"] if d["version"] == 1)
    assert v1["meta"]["arrays"]["X"]["shape"] == [240, 64]
    [model] = body["models"]
    assert (model["name"], model["version"], model["aliases"]) == ("digits-mlp", 1, ["latest"])
    assert model["run"] == {"id": filled["relu"], "name": "relu-adam"}
    assert model["meta"]["params"] == 64 * 16 + 16 + 16 * 10 + 10


def test_blobs_only_by_a_known_hash(client, filled):
    [model] = client.get("/api/registry").json()["models"]
    r = client.get(f"/api/blobs/{model['sha']}")
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == model["sha"]
    assert r.content[:2] == b"PK"  # a .glassnet file is a zip
    assert client.get("/api/blobs/" + "0" * 64).status_code == 404
    r = client.get("/api/blobs/..%2F..%2Fglassnet.db")
    assert r.status_code in (400, 404)
    assert client.get("/api/blobs/XYZ").status_code == 400


def test_static_files_come_only_from_the_package(client):
    r = client.get("/static/app.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    r = client.get("/static/plotly.min.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    for bad in ("/static/app.py", "/static/..%2Fapp.py", "/static/../app.py",
                "/static/%2e%2e/%2e%2e/glassnet.db", "/static/report.py"):
        assert client.get(bad).status_code == 404, bad


def test_read_only(client, filled):
    for method in ("post", "put", "patch", "delete"):
        r = getattr(client, method)("/api/runs")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert client.get("/api/runs").headers["server-timing"].startswith("app;dur=")


def test_pages_escape_user_text(client, filled):
    html = client.get(f"/runs/{filled['xss']}").text
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; · glassnet" in html
    assert XSS_VALUE not in html and XSS_KEY not in html  # only ever sent as JSON
    r = client.get(f"/runs/{filled['relu']}")
    assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
    for page in ("/", "/registry", "/compare", f"/compare?a={filled['relu']}&b={filled['tanh']}"):
        assert client.get(page).status_code == 200, page


def test_tables_endpoint_gives_the_ten_tables(client, filled):
    body = client.get(f"/api/runs/{filled['relu']}/tables").json()
    if not body["available"]:
        pytest.skip(body["reason"])
    assert set(body["tables"]) == {"loss", "weights", "biases", "weights_vs_biases",
                                   "weight_changes", "bias_changes", "correlation",
                                   "accuracy_vs_weights", "activations", "update_time"}
    weights = body["tables"]["weights"]
    mean = weights["columns"].index("mean")
    kernel0 = filled["relu_model"].get_weights()[0]
    assert weights["rows"][0][mean] == pytest.approx(float(kernel0.mean()), rel=1e-4, abs=1e-7)


def test_diagnostics_find_a_symmetric_start(tmp_path):
    # zero kernels everywhere: each hidden unit starts as a copy of the others (same
    # incoming weights, bias and outgoing weights), so it can never become different
    import glassnet as gn
    from glassnet.layers import Dense, Input
    from glassnet.ui import diagnostics

    x, y = np.random.default_rng(0).normal(size=(64, 3)), np.arange(64) % 2
    model = gn.Sequential([Input(shape=(3,)), Dense(4, activation="tanh",
                                                    kernel_initializer="zeros"),
                           Dense(1, activation="sigmoid", kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    store = gn.track.open_store(tmp_path)
    with gn.track.init(project="p", store=store) as run:
        model.fit(x, y, epochs=2, batch_size=16, verbose=0,
                  callbacks=[run.watch(log_freq=1, snapshots="epoch")])
        run.log_dataset("noise", X=x, y=y)
        run.log_model(model, "symmetric")
    result = diagnostics.findings(store, run.id)
    # from the recorded initial snapshot: every unit of the first layer started alike
    recorded = [f for f in result["findings"] if f["source"] == "recorded"]
    assert [(f["severity"], f["layer"]) for f in recorded
            if "copy of the others" in f["what"]] == [("error", model.layers[0].name)]
    # and from the model itself, brought back from the registry and run on the logged data
    live = [f for f in result["findings"] if f["source"] == "model"]
    assert live and result["note"].startswith("Checked: the recorded")
    assert model.layers[0].name in {f["layer"] for f in live}
    final = store.snapshot(run.id, "end")[f"{model.layers[0].name}/kernel"]
    np.testing.assert_array_equal(final, final[:, :1] * np.ones((1, 4)))  # still copies


@pytest.mark.slow
def test_diagnostics_do_not_call_a_tie_broken_by_the_next_layer_symmetric(tmp_path):
    import glassnet as gn
    from glassnet.layers import Dense, Input
    from glassnet.ui import diagnostics

    x, y = np.random.default_rng(0).normal(size=(64, 3)), np.arange(64) % 2
    model = gn.Sequential([Input(shape=(3,)), Dense(4, activation="tanh",
                                                    kernel_initializer="ones"),
                           Dense(1, activation="sigmoid")])  # random outgoing weights
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    store = gn.track.open_store(tmp_path)
    with gn.track.init(project="p", store=store) as run:
        model.fit(x, y, epochs=2, batch_size=16, verbose=0,
                  callbacks=[run.watch(log_freq=1, snapshots="epoch")])
    found = diagnostics.findings(store, run.id)["findings"]
    assert not [f for f in found if "copy" in f["what"]]
    final = store.snapshot(run.id, "end")[f"{model.layers[0].name}/kernel"]
    assert len(np.unique(final[0])) == 4  # the units did become different


def test_a_missing_store_is_an_error_not_a_new_folder(tmp_path):
    from glassnet.track.errors import NotFoundError
    from glassnet.ui.app import create_app

    with pytest.raises(NotFoundError, match="no glassnet store at"):
        create_app(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.slow
def test_serve_binds_localhost_and_opens_the_browser_once_up(filled, monkeypatch):
    import threading
    import time
    import webbrowser

    import httpx
    import uvicorn

    import glassnet.ui

    opened, servers = [], []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url))

    class RecordedServer(uvicorn.Server):
        def __init__(self, config):
            super().__init__(config)
            servers.append(self)

    monkeypatch.setattr(uvicorn, "Server", RecordedServer)
    port = free_port()
    thread = threading.Thread(target=glassnet.ui.serve,
                              kwargs={"store": filled["store"].root, "port": port}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not opened and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert opened == [f"http://127.0.0.1:{port}/"]
        assert servers[0].config.host == "127.0.0.1"
        r = httpx.get(f"http://127.0.0.1:{port}/api/runs", timeout=5)
        assert r.status_code == 200 and len(r.json()["runs"]) == 4
        r = httpx.get(f"http://localhost:{port}/", timeout=5)
        assert r.status_code == 200
        # a page on another domain that resolves to 127.0.0.1 (DNS rebinding) gets nothing
        r = httpx.get(f"http://127.0.0.1:{port}/api/runs", timeout=5,
                      headers={"Host": f"attacker.example:{port}"})
        assert r.status_code == 400 and "host not allowed" in r.json()["error"]
    finally:
        servers[0].should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_long_table_is_sent_as_its_first_and_last_rows(filled, monkeypatch):
    from glassnet.report import tables as report_tables
    from glassnet.ui import queries

    monkeypatch.setattr(queries, "MAX_TABLE_ROWS", 6)  # the relu run's loss table is longer
    records = report_tables(filled["relu"], filled["store"])["loss"].to_records()
    assert len(records) > 6
    sent = queries.tables(filled["store"], filled["relu"])["tables"]["loss"]
    assert sent["total"] == len(records) and sent["elided_after"] == 3
    expected = records[:3] + records[-3:]
    assert sent["rows"] == [[r[c] for c in sent["columns"]] for r in expected]
    short = queries.tables(filled["store"], filled["relu"])["tables"]["weights"]
    assert short["elided_after"] is None and short["total"] == len(short["rows"]) == 2


@pytest.mark.slow
def test_the_web_libraries_load_only_when_needed():
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2] / "src")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import glassnet.ui, glassnet.ui.report; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'plotly', 'starlette', 'httpx') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, src], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_missing_plotly_names_the_extra(monkeypatch):
    import importlib.util

    from glassnet.errors import MissingDependencyError
    from glassnet.ui import pages

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'glassnet\[ui\]'"):
        pages.plotly_js()


def test_out_of_range_query_parameters_are_400_with_a_message(client, filled):
    run = filled["relu"]
    for query, named in ((f"network?step={10**30}", str(10**30)),
                         (f"network?step=-{10**30}", str(10**30)),
                         ("network?step=-2", "-2"),
                         ("metrics?max_points=1", "max_points"),
                         ("metrics?max_points=many", "max_points"),
                         (f"metrics?max_points={'9' * 5000}", "max_points"),
                         ("histograms", "path")):  # a required parameter missing
        r = client.get(f"/api/runs/{run}/{query}")
        assert r.status_code == 400, (query, r.status_code, r.text[:200])
        assert named in r.json()["error"], (query, r.json())
    r = client.get(f"/api/runs/{run}/network?step=4")  # in range, no snapshot there: 404
    assert r.status_code == 404 and "[-1, 5, 11, 17, 23]" in r.json()["error"]


def test_head_answers_like_get_without_a_body(client, filled):
    for path in ("/", "/api/runs", f"/api/runs/{filled['relu']}", "/static/app.js",
                 f"/runs/{filled['relu']}"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == 200 == got.status_code, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert int(head.headers["content-length"]) == len(got.content), path
    assert client.head("/api/runs/ffffffff").status_code == 404
