"""What a newcomer misread: each number now says what it is, each command does what it says."""

from __future__ import annotations

import re

import numpy as np
import pytest
from cli_helpers import blocks_of, rows_of, run_cli

import glassnet as gn
from glassnet._engine.table import format_value
from glassnet.apps.demos import stratified_split
from glassnet.callbacks import ProgbarLogger, time_per_step


def test_the_demo_loss_table_keeps_every_sampled_step(filled):
    # sampled to 20 steps, then filtered to every 5th epoch, it used to keep 5 rows
    store = gn.track.open_store(filled.store)
    steps, losses = store.metrics(filled.demo_id, "loss", max_points=20)
    block = next(b for b in blocks_of(filled.demo.stdout) if b.header == ["step", "epoch", "loss"])
    assert [r[0] for r in block.rows] == [str(int(s)) for s in steps]
    assert [r[2] for r in block.rows] == [format_value(float(v)) for v in losses]
    assert len(block.rows) == 20
    epochs = [int(r[1]) for r in block.rows]
    assert epochs == sorted(epochs) and (epochs[0], epochs[-1]) == (0, 29)
    # the loss table's notes no longer claim an every-5th-epoch filter
    lines = filled.demo.stdout.splitlines()
    after = lines[lines.index("Loss per iteration, run demo (" + filled.demo_id + ")") + 1:]
    notes = after[after.index(next(line for line in after if line.startswith("└"))) + 1:][:3]
    assert not any("every 5th epoch" in line for line in notes[:2])


def test_train_holds_out_a_validation_split_by_default_and_reports_it(tmp_path):
    result = run_cli("train", "--dataset", "coffee", "--hidden", "3", "--epochs", "3",
                     "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    store = gn.track.open_store(tmp_path / "s")
    run = store.runs()[0]
    assert run.config["validation_split"] == 0.2
    rows = {r[0]: r[1] for r in rows_of(result.stdout)}
    # coffee's 200 rows: floor(200 * 0.8) = 160 train, the last 40 are held out
    assert rows["val_loss"] == format_value(run.summary["epoch/val_loss"])
    assert rows["val_accuracy"] == format_value(run.summary["epoch/val_accuracy"])
    assert ("val_* = the 40 rows held out (0.2 of 200), not trained on; the others on the "
            "160 training rows") in result.stdout
    none = run_cli("train", "--dataset", "coffee", "--hidden", "3", "--epochs", "1",
                   "--validation-split", "0", "--store", tmp_path / "s")
    assert "all 200 rows trained on, none held out: these are training figures" in none.stdout
    assert "val_loss" not in {r[0] for r in rows_of(none.stdout)}


def test_train_on_digits_leaves_the_demo_model_alone(filled, tmp_path):
    # a copy of the demo's store, so the shared one keeps its two runs
    import shutil

    store_dir = tmp_path / "s"
    shutil.copytree(filled.store, store_dir)
    before = gn.track.open_store(store_dir).model_version("digits-mlp", "latest")
    result = run_cli("train", "--dataset", "digits", "--epochs", "1", "--store", store_dir)
    assert result.exit_code == 0, result.stderr
    store = gn.track.open_store(store_dir)
    after = store.model_version("digits-mlp", "latest")
    assert (after["version"], after["run_id"]) == (before["version"], filled.demo_id)
    trained = store.model_version("digits-train", "latest")
    assert trained["run_id"] == store.runs()[0].id != filled.demo_id
    assert "Registered the model as digits-train:latest" in result.stdout


def test_export_takes_a_run_id(filled, tmp_path):
    from safetensors.numpy import load_file

    out = tmp_path / "run.safetensors"
    result = run_cli("export", filled.demo_id, "--safetensors", out, "--store", filled.store)
    assert result.exit_code == 0, result.stderr
    model = gn.track.load_model("digits-mlp:latest", filled.store)  # what the demo run logged
    tensors = load_file(out)
    assert sorted(tensors) == sorted(v.path for v in model.weights)
    for variable in model.weights:
        np.testing.assert_array_equal(tensors[variable.path], variable.numpy())
    # a prefix is a run too
    again = run_cli("export", filled.demo_id[:5], "--safetensors", tmp_path / "b.safetensors",
                    "--store", filled.store)
    assert again.exit_code == 0, again.stderr


def test_export_of_an_unknown_name_says_what_it_looked_for(filled, tmp_path):
    result = run_cli("export", "zzzz", "--safetensors", tmp_path / "x.safetensors",
                     "--store", filled.store)
    assert result.exit_code == 1
    assert result.stderr.startswith("NotFoundError: no model file, registered model or run "
                                    "named 'zzzz' in store ")
    assert "['coffee-train', 'digits-mlp']" in result.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_models_lists_the_registry(filled):
    result = run_cli("models", "--store", filled.store)
    assert result.exit_code == 0, result.stderr
    store = gn.track.open_store(filled.store)
    rows = rows_of(result.stdout)
    assert rows[0] == ["name", "version", "aliases", "run", "params", "created"]
    by_name = {r[0]: r for r in rows[1:]}
    assert sorted(by_name) == ["coffee-train", "digits-mlp"]
    demo = by_name["digits-mlp"]
    assert demo[1:4] == ["v1", "latest", filled.demo_id]
    model = gn.track.load_model("digits-mlp:latest", store)
    assert demo[4] == str(model.count_params())
    assert result.stdout.splitlines()[0] == "2 registered model versions"


@pytest.mark.slow
def test_diagnose_the_run_of_demo_imbalanced(tmp_path):
    demo = run_cli("demo", "imbalanced", "--epochs", "1", "--store", tmp_path / "s")
    assert demo.exit_code == 0, demo.stderr
    store = gn.track.open_store(tmp_path / "s")
    run = next(r for r in store.runs() if r.name == "bias-zero")
    result = run_cli("diagnose", run.id, "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    x, y = gn.datasets.load_fraud()
    train, _ = stratified_split(y)
    assert result.stdout.splitlines()[0] == (
        f"Diagnosing run {run.id} (fraud/bias-zero) at its last snapshot, on data set "
        f"fraud:v1 ({len(train)} samples)")
    data = gn.track.load_dataset("fraud:v1", store)
    np.testing.assert_array_equal(data["X"], x[train])
    np.testing.assert_array_equal(data["y"].ravel(), y[train])


@pytest.mark.parametrize("seconds, shown", [(0.00085, "850us/step"), (0.0000123, "12us/step"),
                                            (0.015, "15ms/step"), (0.001, "1ms/step"),
                                            (2.4, "2s/step"), (0.0, "0s/step")])
def test_time_per_step_in_keras_units(seconds, shown):
    assert time_per_step(seconds) == shown


def test_progress_bar_never_says_0ms_per_step():
    import io

    x = np.zeros((8, 2), dtype=np.float32)
    y = np.zeros((8, 1), dtype=np.float32)
    model = gn.Sequential([gn.layers.Input(shape=(2,)), gn.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    stream = io.StringIO()
    model.fit(x, y, epochs=2, batch_size=1, verbose=0,
              callbacks=[ProgbarLogger(verbose=2, stream=stream)])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    for line in lines:
        match = re.search(r" (\d+)(us|ms|s)/step - ", line)
        assert match, line
        assert not (match.group(2) == "ms" and match.group(1) == "0"), line
