"""Reading runs back: runs, show, report, diagnose, compare, export, ui, sweep."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from cli_helpers import rows_of, run_cli

import glassnet as gn
from glassnet._engine.table import format_value

REPORT_TABLES = ["loss", "weights", "biases", "weights_vs_biases", "weight_changes",
                 "bias_changes", "correlation", "accuracy_vs_weights", "activations",
                 "update_time"]


def test_runs_lists_every_run_newest_first(filled):
    result = run_cli("runs", "--store", filled.store)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "2 runs"
    rows = rows_of(result.stdout)
    assert rows[0] == ["id", "project", "name", "status", "created", "config", "final metrics"]
    assert [r[0] for r in rows[1:]] == [filled.coffee_id, filled.demo_id]
    demo = rows[2]
    run = gn.track.open_store(filled.store).run(filled.demo_id)
    assert demo[1:4] == ["digits", "demo", "finished"]
    assert demo[4] == time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(run.created_at))
    assert demo[5] == ("dataset=digits hidden=25,15 activation=relu optimizer=adam "
                       "learning_rate=0.001 epochs=30")
    assert f"test/accuracy={format_value(run.summary['test/accuracy'])}" in demo[6]


def test_runs_filters_by_project(filled):
    result = run_cli("runs", "--project", "coffee", "--store", filled.store)
    assert [r[0] for r in rows_of(result.stdout)[1:]] == [filled.coffee_id]


def test_the_default_store_is_the_folder_glassnet_runs(filled):
    result = run_cli("runs", cwd=filled.folder)
    assert result.exit_code == 0 and filled.demo_id in result.stdout


def test_show_by_unique_prefix(filled):
    result = run_cli("show", filled.demo_id[:5], "--store", filled.store)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Run {filled.demo_id}  digits/demo  finished  created ")
    rows = rows_of(result.stdout)
    assert ["hidden", "25, 15"] in rows and ["activation", "relu"] in rows
    assert ["dense (Dense)", "(None, 25)", "relu", "1,600", "25", "1,625"] in rows
    # describe rows come from the last snapshot: the registry model's final weights
    model = gn.track.load_model("digits-mlp:latest", filled.store)
    kernel = model.get_layer("dense_1").kernel.numpy().astype(np.float64)
    row = next(r for r in rows if r[:2] == ["dense_1", "kernel"])
    assert row[4:6] == [format_value(float(kernel.mean())), format_value(float(kernel.std()))]
    summary = gn.track.open_store(filled.store).run(filled.demo_id).summary
    assert ["test/accuracy", format_value(summary["test/accuracy"]), "test set"] in rows
    # the last batch's loss and the epoch's mean loss differ, and each says which it is
    assert summary["loss"] != summary["epoch/loss"]
    assert ["loss", format_value(summary["loss"]), "training, last batch only"] in rows
    assert ["epoch/loss", format_value(summary["epoch/loss"]),
            "training, mean over the last epoch's batches"] in rows
    assert ("`loss` is logged after every batch, `epoch/loss` once per epoch as the mean of "
            "its batches") in lines


@pytest.mark.slow
def test_report_formats(filled, tmp_path):
    pytest.importorskip("glassnet.report")
    as_json = run_cli("report", filled.demo_id, "--format", "json", "--store", filled.store)
    assert as_json.exit_code == 0, as_json.stderr
    tables = json.loads(as_json.stdout)
    assert sorted(tables) == sorted(REPORT_TABLES)
    loss_steps, losses = gn.track.open_store(filled.store).metrics(filled.demo_id, "loss")
    first = tables["loss"]["rows"][0]
    assert first[tables["loss"]["columns"].index("loss")] == pytest.approx(losses[0])

    markdown = run_cli("report", filled.demo_id, "--format", "markdown", "--store",
                       filled.store)
    assert markdown.stdout.count("### ") == len(REPORT_TABLES)

    out = tmp_path / "r.csv"
    csv = run_cli("report", filled.demo_id, filled.coffee_id, "--format", "csv", "--output",
                  out, "--store", filled.store)
    assert csv.exit_code == 0, csv.stderr
    text = out.read_text()
    assert [line for line in text.splitlines() if line.startswith("# ")] == \
        [f"# {name}" for name in REPORT_TABLES]
    assert filled.coffee_id in text and filled.demo_id in text

    table = run_cli("report", filled.demo_id, "--store", filled.store)
    assert "Correlation between each unit's incoming weights and its bias" in table.stdout


@pytest.mark.slow
def test_report_html(filled, tmp_path):
    write_html = getattr(pytest.importorskip("glassnet.ui.report"), "write_html", None)
    if write_html is None:
        pytest.skip("glassnet.ui.report.write_html is not in this build")
    out = tmp_path / "r.html"
    result = run_cli("report", filled.demo_id, "--format", "html", "--output", out,
                     "--store", filled.store)
    assert result.exit_code == 0, result.stderr
    assert out.read_text().lstrip().lower().startswith("<!doctype html")


def test_diagnose_rebuilds_the_run_on_its_data(tmp_path):
    # SGD at learning rate 5 moves the weights far too much per step: diagnose says so
    trained = run_cli("train", "--dataset", "coffee", "--hidden", "8", "--optimizer", "sgd",
                      "--learning-rate", "5", "--epochs", "3", "--name", "hot",
                      "--store", tmp_path / "s")
    assert trained.exit_code == 0, trained.stderr
    run_id = trained.stdout.split("Recorded run ")[1].split()[0]
    result = run_cli("diagnose", run_id, "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (f"Diagnosing run {run_id} (coffee/hot) at its last snapshot, "
                        f"on data set coffee:v1 (200 samples)")
    # the same findings as diagnosing the logged model on the logged data directly
    model = gn.track.load_model("coffee-train:latest", tmp_path / "s")
    data = gn.track.load_dataset("coffee:v1", tmp_path / "s")
    findings = gn.inspect.diagnose(model, data["X"], data["y"])
    assert any("learning rate too high" in f.what for f in findings)
    assert lines[1:] == [f"diagnostic: {f}" for f in findings]


@pytest.mark.slow
def test_diagnose_a_healthy_run(filled):
    result = run_cli("diagnose", filled.demo_id, "--store", filled.store)
    assert result.exit_code == 0, result.stderr
    model = gn.track.load_model("digits-mlp:latest", filled.store)
    data = gn.track.load_dataset("digits:v1", filled.store)
    findings = gn.inspect.diagnose(model, data["X"], data["y"])
    expected = [f"diagnostic: {f}" for f in findings] or ["diagnostics: no problems found"]
    assert result.stdout.splitlines()[1:] == expected


def test_compare_shows_config_differences_metrics_and_weights(filled):
    result = run_cli("compare", filled.demo_id, filled.coffee_id, "--store", filled.store)
    assert result.exit_code == 0, result.stderr
    rows = rows_of(result.stdout)
    assert ["activation", "relu", "tanh"] in rows
    assert ["hidden", "25, 15", "3"] in rows
    assert ["dataset", "digits", "coffee"] in rows
    store = gn.track.open_store(filled.store)
    kernel = store.snapshot(filled.coffee_id)["dense/kernel"].astype(np.float64)
    row = next(r for r in rows if r[0] == "dense/kernel")
    # columns: variable, then mean/std/L2 per run; the coffee run is second
    assert row[4:7] == [format_value(float(kernel.mean())), format_value(float(kernel.std())),
                        format_value(float(np.sqrt((kernel ** 2).sum())))]


def test_export_safetensors_from_the_registry_and_from_a_file(filled, tmp_path):
    from safetensors.numpy import load_file

    out = tmp_path / "digits.safetensors"
    result = run_cli("export", "digits-mlp:latest", "--safetensors", out, "--store",
                     filled.store)
    assert result.exit_code == 0, result.stderr
    model = gn.track.load_model("digits-mlp:latest", filled.store)
    tensors = load_file(out)
    assert sorted(tensors) == sorted(v.path for v in model.weights)
    for variable in model.weights:
        np.testing.assert_array_equal(tensors[variable.path], variable.numpy())

    model.save(tmp_path / "m.glassnet")
    again = run_cli("export", tmp_path / "m.glassnet", "--safetensors", tmp_path / "b.safetensors")
    assert again.exit_code == 0, again.stderr
    assert sorted(load_file(tmp_path / "b.safetensors")) == sorted(tensors)


def test_export_onnx_runs_in_onnxruntime(filled, tmp_path):
    pytest.importorskip("glassnet.io.onnx")
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "d.onnx"
    result = run_cli("export", "digits-mlp:latest", "--onnx", out, "--store", filled.store)
    assert result.exit_code == 0, result.stderr
    model = gn.track.load_model("digits-mlp:latest", filled.store)
    x, _ = gn.datasets.load_digits()
    session = ort.InferenceSession(str(out))
    name = session.get_inputs()[0].name
    (onnx_out,) = session.run(None, {name: x[:16].astype(np.float32)})
    np.testing.assert_allclose(onnx_out, model.predict(x[:16], verbose=0), rtol=1e-4, atol=1e-5)


def test_ui_calls_the_dashboard_with_the_store(filled, monkeypatch):
    ui = pytest.importorskip("glassnet.ui")
    calls = []
    monkeypatch.setattr(ui, "serve", lambda store, **kw: calls.append((store, kw)))
    result = run_cli("ui", "--port", "9123", "--no-browser", "--store", filled.store)
    assert result.exit_code == 0, result.stderr
    (store, options), = calls
    assert store.root == filled.store.resolve()
    assert options == {"host": "127.0.0.1", "port": 9123, "open_browser": False}


@pytest.mark.slow
def test_sweep_runs_the_file_and_prints_the_trials(tmp_path):
    pytest.importorskip("sklearn")
    spec = tmp_path / "s.toml"
    spec.write_text('dataset = "coffee"\ncv = 2\nseed = 1\n[fixed]\nepochs = 2\n'
                    '[params]\nlearning_rate = [0.01, 0.1]\n')
    result = run_cli("sweep", spec, "--jobs", "1", "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    store = gn.track.open_store(tmp_path / "s")
    runs = store.runs()
    assert len(runs) == 4  # 2 configurations x 2 folds, each a recorded run
    rows = rows_of(result.stdout)
    header = rows[0]
    rates = sorted(float(r[header.index("learning_rate")]) for r in rows[1:])
    assert rates == [0.01, 0.1]
    assert f"4 runs recorded in {tmp_path / 's'}; `glassnet runs` lists them" in result.stdout
