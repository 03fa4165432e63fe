"""`glassnet train` and `glassnet sweep` given what a careless user gives them (issue 15).

A run whose loss ended NaN exits non-zero; bad files and values are errors naming the
file, the key or the column, what was expected and what was given.
"""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import run_cli

from glassnet.apps.train_config import load_config, make_config
from glassnet.apps.train_job import detect_task
from glassnet.apps.train_job import train as train_network
from glassnet.errors import ConfigError, DataError
from glassnet.sklearn.sweeps import run_sweep_file, sweep


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflows and ours
def test_glassnet_train_exits_non_zero_when_the_loss_ended_nan(tmp_path):
    result = run_cli("train", "--dataset", "coffee", "--learning-rate", "1e30", "--epochs",
                     "2", "--store", tmp_path / "s")
    assert result.exit_code == 1
    assert "NonFiniteLossError: run " in result.stderr
    assert "the training loss ended nan" in result.stderr
    assert "Recorded run " in result.stdout  # the run is kept, to look at


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_glassnet_sweep_exits_non_zero_when_a_fit_ended_nan(tmp_path):
    pytest.importorskip("sklearn")
    spec = tmp_path / "s.toml"
    spec.write_text('dataset = "coffee"\ncv = 2\n[fixed]\nepochs = 2\noptimizer = "sgd"\n'
                    '[params]\nlearning_rate = [0.01, 1e30]\n')
    result = run_cli("sweep", spec, "--jobs", "1", "--store", tmp_path / "s")
    assert result.exit_code == 1
    assert "NonFiniteLossError: 2 of 4 fits ended with a NaN or infinite loss" in result.stderr


def _csv(path, text: str | bytes):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# -- 14. labels {3, 7} ---------------------------------------------------------------------
def test_labels_3_and_7_are_not_trained_as_8_classes(tmp_path):
    rows = "".join(f"{i},{3 if i % 2 else 7}\n" for i in range(20))
    data = _csv(tmp_path / "d.csv", "a,label\n" + rows)
    result = run_cli("train", "--data", data, "--target", "label", "--epochs", "1",
                     "--store", tmp_path / "s")
    assert result.exit_code == 1
    assert ("DataError: label: classification labels must be 0..k-1, got 2 classes (3, 7) "
            "that would train 8 outputs, with no sample of class 0, 1, 2, 4, 5, 6; map the "
            "labels to 0..1 first") in result.stderr
    with pytest.raises(DataError, match=r"got 3 classes \(1, 2, 3\) that would train 4"):
        detect_task(np.array([1, 2, 3, 1]), "classification")
    assert detect_task(np.array([0, 2, 1, 2])) == "classification"


# -- 15. non-bool values in a sweep file ----------------------------------------------------
def test_standardize_no_in_a_sweep_file_is_refused(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('dataset = "coffee"\ncv = 2\nstandardize = "no"\n[fixed]\nepochs = 1\n'
                    '[params]\nlearning_rate = [0.01]\n')
    with pytest.raises(ConfigError, match=r"s\.toml: 'standardize' must be true or false, "
                                          r"got 'no'"):
        run_sweep_file(spec, store=tmp_path / "store", verbose=False)


# -- 17. config files -----------------------------------------------------------------------
def test_non_utf8_toml_and_csv_name_the_file(tmp_path):
    toml = tmp_path / "latin1.toml"
    toml.write_bytes('project = "café"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.toml: not UTF-8 text \(byte 14: "
                                          r"b'\\xe9'\); TOML files are UTF-8"):
        load_config(toml)
    result = run_cli("train", toml, "--store", tmp_path / "s")
    assert result.exit_code == 1 and "latin1.toml: not UTF-8 text" in result.stderr
    csv = _csv(tmp_path / "latin1.csv", "a,b\n1,2\n3,caf\xe9\n".encode("latin-1"))
    result = run_cli("train", "--data", csv, "--target", "b", "--store", tmp_path / "s")
    assert result.exit_code == 1
    assert "DataError: " + str(csv) + ": not UTF-8 text (line 3, byte 6: b'\\xe9'); save the CSV " \
        "as UTF-8" in result.stderr
    sweep_file = tmp_path / "latin1-sweep.toml"
    sweep_file.write_bytes(b'project = "caf\xe9"\n[params]\nepochs = [1]\n')
    with pytest.raises(ConfigError, match=r"latin1-sweep\.toml: not UTF-8 text"):
        run_sweep_file(sweep_file, store=tmp_path / "store", verbose=False)


def test_a_csv_field_over_the_limit_names_the_line(tmp_path):
    from glassnet.datasets import load_csv

    csv = _csv(tmp_path / "big.csv", "a,b\n1,2\n1," + "9" * 200_000 + "\n")
    with pytest.raises(DataError, match=r"big\.csv: line 3: not a valid CSV row \(field "
                                        r"larger than field limit.*at most 131,072 "
                                        r"characters"):
        load_csv(csv, "b")


def test_a_directory_or_a_device_is_not_reported_as_missing(tmp_path):
    from glassnet.datasets import load_csv

    with pytest.raises(DataError, match=r": is a directory, not a CSV file"):
        load_csv(tmp_path, "b")
    with pytest.raises(DataError, match=r"/dev/zero: is not a regular file \(a device or a "
                                        r"pipe\?\)"):
        load_csv("/dev/zero", "b")
    with pytest.raises(ConfigError, match=r": is a directory, not a sweep file"):
        run_sweep_file(tmp_path)
    with pytest.raises(ConfigError, match=r"/dev/zero: is not a regular file \(a device or a "
                                          r"pipe\?\), not a sweep file"):
        run_sweep_file("/dev/zero")
    with pytest.raises(ConfigError, match=r": is a directory, not a TOML config file"):
        load_config(tmp_path)


def test_csv_values_beyond_float32_name_the_column_and_line(tmp_path):
    from glassnet.datasets import load_csv

    csv = _csv(tmp_path / "d.csv", "size,price\n1,2\n3e39,4\n")
    with pytest.raises(DataError, match=r"d\.csv: line 3, column 'size': 3e39 is beyond "
                                        r"float32's range"):
        load_csv(csv, "price")


def test_a_network_too_big_for_memory_names_the_key_and_the_size(tmp_path):
    config = make_config({"dataset": "digits", "hidden": [1_000_000, 1_000_000],
                          "epochs": 1})
    # (64+1)*1e6 + (1e6+1)*1e6 + (1e6+1)*10 weights and biases
    with pytest.raises(ConfigError, match=r"'hidden' = \[1000000, 1000000\] asks for "
                                          r"1,000,076,000,010 weights and biases \(64 "
                                          r"features in, 10 out\): 4,000.3 GB as float32, "
                                          r"about 16,001.2 GB with gradients and adam's "
                                          r"state, more than this machine's"):
        train_network(config, store=tmp_path / "s")


@pytest.mark.slow
@pytest.mark.parametrize("text, message", [
    ("method = 'random'\nn_iter = -5\n[params]\nepochs = [1]\n",
     r"'n_iter' must be a positive integer, got -5"),
    ("[fixed]\nepochs = 2\n[params]\nepochs = [1, 2]\n",
     r"'epochs' is in both \[fixed\] and \[params\]"),
    ("fixed = 3\n[params]\nepochs = [1]\n",
     r"'fixed' must be a table \(\[fixed\] with one value per parameter\), got 3"),
    ("seed = 'a'\n[params]\nepochs = [1]\n", r"'seed' must be an integer >= 0, got 'a'"),
    ("n_jobs = 0\n[params]\nepochs = [1]\n",
     r"'n_jobs' must be a positive integer \(parallel fits\), or -1 for one per core, got 0"),
    ("cv = 1\n[params]\nepochs = [1]\n", r"'cv' must be an integer >= 2, got 1"),
    ("backend = 'spark'\n[params]\nepochs = [1]\n", r"'backend' must be one of 'loky'"),
    ("[params]\nlearning_rate = [0.01, -1]\n",
     r"'params\.learning_rate' must be a positive number, got -1"),
    ("[params]\nhidden = [[25], [0]]\n", r"'params\.hidden' must be a list of positive"),
    ("[params]\nactivation = ['relu', 'sigmoidd']\n", r"Unknown activation 'sigmoidd'"),
    ("[fixed]\npatience = -1\n[params]\nepochs = [1]\n",
     r"'fixed\.patience' must be an integer >= 0"),
    ("csv = 'd.csv'\n[params]\nepochs = [1]\n", r"'csv' needs 'target'"),
    ("scheduler = 'tcp://127.0.0.1:1'\n[params]\nepochs = [1]\n",
     r"'scheduler' needs backend = \"dask\""),
    ("params = 3\n", r"a \[params\] table of values to sweep is required, got params = 3"),
])
def test_sweep_files_are_checked_as_thoroughly_as_train_configs(tmp_path, text, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(text if "csv" in text else "dataset = 'coffee'\n" + text)
    with pytest.raises(ConfigError, match=r"bad\.toml: " + message):
        run_sweep_file(spec, store=tmp_path / "store", verbose=False)
    result = run_cli("sweep", spec, "--store", tmp_path / "store")
    assert result.exit_code == 1 and result.stderr.startswith("ConfigError: ")


def test_sweep_refuses_n_jobs_0_instead_of_reporting_an_interrupted_sweep(tmp_path):
    pytest.importorskip("sklearn")
    x, y = np.zeros((8, 2)), np.arange(8) % 2
    with pytest.raises(ConfigError, match=r"n_jobs must be a positive int \(or -1: one per "
                                          r"core\), got 0"):
        sweep(x, y, {"epochs": [1]}, n_jobs=0, store=tmp_path / "s")
