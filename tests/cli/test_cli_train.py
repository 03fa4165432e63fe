"""`glassnet train`: flags and TOML configs, the loss picked from the task, the saved model."""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import rows_of, run_cli

import glassnet as gn
from glassnet.apps.train_config import VALID_KEYS, TrainConfig, make_config
from glassnet.apps.train_job import detect_task
from glassnet.errors import ConfigError


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n"
                                                       for r in rows))
    return path


def recorded_id(output: str) -> str:
    return next(line for line in output.splitlines()
                if line.startswith("Recorded run ")).split()[2]


def test_regression_csv_records_mse_and_saves_a_model_that_loads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3, size=(60, 2))
    y = 200 * x[:, 0] - 30 * x[:, 1] + 100  # a plane: the network can learn it
    data = write_csv(tmp_path / "houses.csv", ["size", "age", "price"],
                     np.column_stack([x, y]).round(4).tolist())
    result = run_cli("train", "--data", data, "--target", "price", "--hidden", "4,3",
                     "--epochs", "3", "--save", tmp_path / "m.glassnet", "--project", "houses",
                     "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    run_id = recorded_id(result.stdout)
    run = gn.track.open_store(tmp_path / "s").run(run_id)
    assert result.stdout.splitlines()[1] == (f"Recorded run {run_id} (houses/{run.name}), "
                                             f"task regression, loss mean_squared_error")
    assert result.stdout.splitlines()[-1] == (f"Next: glassnet show {run_id}  |  "
                                              f"glassnet report {run_id}")
    model = gn.models.load_model(tmp_path / "m.glassnet")
    kernels = [layer.kernel.shape for layer in model.layers if hasattr(layer, "kernel")]
    assert kernels == [(2, 4), (4, 3), (3, 1)]
    assert run.config["task"] == "regression" and run.config["hidden"] == [4, 3]
    final = {r[0]: r[1] for r in rows_of(result.stdout)[1:]}
    # the final loss printed is the MSE of the run's last epoch as recorded
    assert float(final["loss"]) == pytest.approx(run.summary["epoch/loss"], rel=1e-3)


@pytest.mark.parametrize("labels, task, loss", [
    ([0, 1], "binary", "binary_crossentropy"),
    ([0, 1, 2], "classification", "sparse_categorical_crossentropy"),
])
def test_the_labels_pick_the_loss(tmp_path, labels, task, loss):
    rng = np.random.default_rng(1)
    y = np.array(labels * 20)
    x = y[:, None] + rng.normal(0, 0.1, size=(len(y), 2))
    data = write_csv(tmp_path / "d.csv", ["a", "b", "label"], np.column_stack([x, y]).tolist())
    result = run_cli("train", "--data", data, "--target", "label", "--epochs", "2",
                     "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    assert f", task {task}, loss {loss}" in result.stdout
    model = gn.track.load_model("d-train:latest", tmp_path / "s")
    assert model.layers[-1].units == (1 if task == "binary" else len(labels))
    assert "accuracy" in {r[0] for r in rows_of(result.stdout)}


def test_toml_config_and_flags_that_override_it(tmp_path):
    config = tmp_path / "train.toml"
    config.write_text('dataset = "coffee"\nhidden = [3]\nactivation = "sigmoid"\n'
                      'epochs = 5\nlearning_rate = 0.01\nvalidation_split = 0.25\n'
                      'project = "roast"\nname = "from-toml"\n')
    result = run_cli("train", config, "--epochs", "2", "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    run = gn.track.open_store(tmp_path / "s").run(recorded_id(result.stdout))
    assert (run.project, run.name) == ("roast", "from-toml")
    assert run.config["epochs"] == 2  # the flag wins
    assert run.config["activation"] == "sigmoid" and run.config["learning_rate"] == 0.01
    # validation_split 0.25 of coffee's 200 rows: validation metrics were recorded
    _, val = gn.track.open_store(tmp_path / "s").metrics(run.id, "epoch/val_loss")
    assert len(val) == 2


def test_standardisation_is_adapted_on_the_training_rows_only(tmp_path):
    result = run_cli("train", "--dataset", "coffee", "--validation-split", "0.5",
                     "--epochs", "1", "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    model = gn.track.load_model("coffee-train:latest", tmp_path / "s")
    x, _ = gn.datasets.load_coffee()
    order = np.random.default_rng(0).permutation(len(x))  # the seed-0 shuffle, then half
    train = x[order][:100].astype(np.float64)
    norm = model.get_layer("standardize")
    assert np.allclose(norm.mean.numpy(), train.mean(axis=0), rtol=1e-5)
    assert np.allclose(norm.variance.numpy(), train.var(axis=0), rtol=1e-4)


def test_no_standardize_leaves_the_features_raw(tmp_path):
    result = run_cli("train", "--dataset", "coffee", "--no-standardize", "--epochs", "1",
                     "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    model = gn.track.load_model("coffee-train:latest", tmp_path / "s")
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense", "Dense"]


def test_detect_task_from_labels():
    assert detect_task(np.array([0, 1, 1, 0])) == "binary"
    assert detect_task(np.array([0, 2, 1, 3])) == "classification"
    assert detect_task(np.array([300.0, 500.0])) == "regression"
    assert detect_task(np.array([0.5, 1.5])) == "regression"
    assert detect_task(np.array([0, 1]), "regression") == "regression"


def test_config_lists_valid_keys_and_checks_every_field():
    assert VALID_KEYS == tuple(sorted(TrainConfig.__dataclass_fields__))
    with pytest.raises(ConfigError, match=r"unknown key 'lr'\. Valid keys: activation, "):
        make_config({"dataset": "digits", "lr": 0.1})
    for key, bad in [("epochs", 0), ("epochs", 1.5), ("batch_size", True),
                     ("learning_rate", -1.0), ("validation_split", 1.0), ("hidden", [0]),
                     ("hidden", "a,b"), ("activation", "swish"), ("optimizer", "lbfgs"),
                     ("dataset", "mnist"), ("task", "ranking"), ("seed", -1),
                     ("standardize", "yes"), ("tags", "x")]:
        values = {"dataset": "digits", key: bad}
        with pytest.raises(ConfigError, match=repr(key) if key not in
                           ("activation", "optimizer", "dataset") else "Valid"):
            make_config(values)
    with pytest.raises(ConfigError, match="exactly one of 'dataset'"):
        make_config({})
    with pytest.raises(ConfigError, match="needs 'target'"):
        make_config({"data": "x.csv"})
    assert make_config({"dataset": "digits", "hidden": "8, 4"}).hidden == (8, 4)
