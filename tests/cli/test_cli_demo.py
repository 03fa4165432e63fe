"""`glassnet demo` end to end: the digits network, the lab, activations, imbalanced data."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from cli_helpers import rows_of, run_cli

import glassnet as gn
from glassnet._engine.table import format_value
from glassnet.apps.demos import stratified_split


def test_stratified_split_holds_out_a_fifth_of_every_class():
    _, y = gn.datasets.load_digits()
    train, test = stratified_split(y)
    assert len(np.intersect1d(train, test)) == 0
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(y)))
    for label, count in enumerate(np.bincount(y)):
        assert np.sum(y[test] == label) == round(count * 0.2)


@pytest.mark.slow
def test_demo_trains_records_and_explains_the_digits_network(filled):
    out = filled.demo.stdout
    lines = out.splitlines()
    _, y = gn.datasets.load_digits()
    n_test = sum(round(c * 0.2) for c in np.bincount(y))  # 359 by hand from the class counts
    assert lines[0] == (f"Training a 64-25-15-10 network on {len(y) - n_test} handwritten "
                        f"digits (8x8 pixels, standardised; {n_test} held out for the test), "
                        f"Adam, batch 32, 30 epochs, seed 0.")
    assert "30/30 epochs" in out  # the progress bar reached the end
    assert f"Recorded run {filled.demo_id} (demo) in {filled.store.resolve()}" in lines

    # the model summary: 64*25 = 1600 weights + 25 biases, 25*15 = 375 + 15, 15*10 = 150 + 10
    rows = rows_of(out)
    assert ["dense (Dense)", "(None, 25)", "relu", "1,600", "25", "1,625"] in rows
    assert ["dense_1 (Dense)", "(None, 15)", "relu", "375", "15", "390"] in rows
    assert ["output (Dense)", "(None, 10)", "linear", "150", "10", "160"] in rows
    assert " Weights (kernels): 2,125   Biases: 50" in lines

    # the describe table shows the trained weights: compare with the model in the registry
    store = gn.track.open_store(filled.store)
    model = gn.track.load_model("digits-mlp:latest", store)
    for layer, shape in (("dense", "64×25"), ("dense_1", "25×15"), ("output", "15×10")):
        kernel, bias = model.get_layer(layer).get_weights()
        kernel_row = next(r for r in rows if r[:2] == [layer, "kernel"])
        assert kernel_row[2:5] == [shape, str(kernel.size),
                                   format_value(float(kernel.astype(np.float64).mean()))]
        bias_row = next(r for r in rows if r[:2] == [layer, "bias"])
        assert bias_row[4] == format_value(float(bias.astype(np.float64).mean()))

    # the printed test accuracy is the registry model's accuracy on the held-out fifth
    x, y = gn.datasets.load_digits()
    _, test = stratified_split(y)
    accuracy = np.mean(np.argmax(model.predict(x[test], verbose=0), axis=1) == y[test])
    line = next(line for line in lines if line.startswith("test accuracy: "))
    assert line == f"test accuracy: {accuracy * 100:.1f}%"
    assert accuracy >= 0.95

    # the run as the store holds it
    run = store.run(filled.demo_id)
    assert (run.project, run.name, run.status) == ("digits", "demo", "finished")
    assert run.config["hidden"] == [25, 15] and run.config["epochs"] == 30
    steps, losses = store.metrics(run.id, "epoch/loss")
    assert len(losses) == 30 and losses[-1] < losses[0]
    assert store.run_datasets(run.id) == [("digits", 1)]
    assert run.summary["test/accuracy"] == pytest.approx(accuracy)

    # the next commands name the real run
    start = lines.index("Next, try:")
    assert re.fullmatch(rf"  glassnet show {run.id} +config, summary, weights and biases",
                        lines[start + 2])


@pytest.mark.slow
def test_demo_prints_the_report_tables_and_diagnostics(filled):
    tables = gn.report.tables
    out = filled.demo.stdout
    for table in tables(filled.demo_id, gn.track.open_store(filled.store)).values():
        assert table.title in out
    store = gn.track.open_store(filled.store)
    model = gn.track.load_model("digits-mlp:latest", store)
    data = gn.track.load_dataset("digits:v1", store)
    findings = gn.inspect.diagnose(model, data["X"], data["y"])
    expected = [f"diagnostic: {f}" for f in findings] or ["diagnostics: no problems found"]
    found = [line for line in out.splitlines() if line.startswith("diagnostic")]
    assert found == expected


def test_demo_lab_shows_the_arithmetic_and_recovers_w_and_b(tmp_path):
    result = run_cli("demo", "lab", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "set_weights([[200]], [100]) -> w = 200, b = 100" in lines
    assert "  x = 1: z = w·x + b = 200 × 1 + 100 = 300   (target 300)" in lines
    assert "  x = 2: z = w·x + b = 200 × 2 + 100 = 500   (target 500)" in lines
    sigmoid_at_0 = 1 / (1 + math.exp(4.5))  # 0.0110
    sigmoid_at_5 = 1 / (1 + math.exp(-5.5))  # 0.9959
    assert f"  x = 0: z = 2 × 0 − 4.5 = -4.5;  g(z) = 1 / (1 + e^4.5) = {sigmoid_at_0:.4f}" \
        in lines
    assert f"  x = 5: z = 2 × 5 − 4.5 = 5.5;  g(z) = 1 / (1 + e^-5.5) = {sigmoid_at_5:.4f}" \
        in lines
    learned = next(line for line in lines if line.startswith("learned w = "))
    w, b = (float(v) for v in re.findall(r"[wb] = (-?\d+\.\d+)", learned)[:2])
    assert w == pytest.approx(200, abs=0.01) and b == pytest.approx(100, abs=0.01)


@pytest.mark.slow
def test_demo_activations_records_one_run_per_activation(tmp_path):
    result = run_cli("demo", "activations", "--epochs", "2", "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    store = gn.track.open_store(tmp_path / "s")
    runs = store.runs(project="digits-activations")
    assert sorted(r.config["activation"] for r in runs) == ["relu", "sigmoid", "tanh"]
    rows = rows_of(result.stdout)
    for run in runs:
        row = next(r for r in rows if r[:2] == [run.config["activation"], run.id])
        assert row[3] == format_value(run.summary["test/accuracy"])
    assert "Activation function beside weights and biases, across runs" in result.stdout
    # each activation's model has its own registry name; digits-mlp stays the main demo's
    assert sorted({m["name"] for m in store.models()}) == ["digits-relu", "digits-sigmoid",
                                                          "digits-tanh"]


@pytest.mark.slow
def test_demo_imbalanced_starts_the_bias_at_the_log_odds(tmp_path):
    result = run_cli("demo", "imbalanced", "--epochs", "1", "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    _, y = gn.datasets.load_fraud()
    train, _ = stratified_split(y)
    p = y[train].mean()
    log_odds = math.log(p / (1 - p))  # -4.5951 for p = 0.01
    lines = result.stdout.splitlines()
    assert lines[1].startswith(f"Starting bias: b = log(p / (1 − p)) = log({p:.4f} / "
                               f"{1 - p:.4f}) = {log_odds:.4f},")
    rows = {r[0]: r for r in rows_of(result.stdout)}
    assert rows["zero"][1] == "0" and rows["log-odds"][1] == format_value(log_odds)
    # starting at the base rate, the first loss is close to the base rate's entropy (0.056),
    # far below the zero start's
    assert float(rows["log-odds"][2]) < 0.2 < float(rows["zero"][2])
    for label in ("zero", "log-odds"):
        assert 0 <= float(rows[label][4]) <= 1 and 0 <= float(rows[label][5]) <= 1
    store = gn.track.open_store(tmp_path / "s")
    assert sorted(r.name for r in store.runs(project="fraud")) == ["bias-log-odds", "bias-zero"]


def test_every_nth_epoch_keeps_multiples_and_the_last():
    from glassnet._engine.table import Table
    from glassnet.apps.demos import every_nth_epoch

    rows = [(epoch, layer, float(epoch)) for epoch in range(12) for layer in ("a", "b")]
    table = Table(["epoch", "layer", "value"], rows, title="t", notes=["n"])
    short = every_nth_epoch(table, 5)
    assert sorted(set(short["epoch"])) == [0, 5, 10, 11]
    assert len(short) == 8 and short.title == "t" and short.notes[0] == "n"
    assert "`glassnet report` prints them all" in short.notes[-1]
    other = Table(["layer"], [("a",)])
    assert every_nth_epoch(other, 5) is other


def test_next_commands_carry_the_store_when_it_is_not_the_default():
    from glassnet.apps.demos import next_commands

    lines = next_commands("abc12345", "elsewhere").splitlines()
    assert lines[0] == "Next, try:"
    assert lines[2].split()[:5] == ["glassnet", "show", "abc12345", "--store", "elsewhere"]
    assert all("--store elsewhere" in line for line in lines[1:])
