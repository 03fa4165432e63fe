"""Every error prints `ErrorType: message` on stderr and exits 1 (2 for usage errors)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from cli_helpers import run_cli

import glassnet as gn


def assert_error(result, error_type: str, *fragments: str) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert lines[0].startswith(f"{error_type}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_unknown_run_id(filled):
    result = run_cli("show", "ffffffffff", "--store", filled.store)
    line = assert_error(result, "NotFoundError", "no run with id 'ffffffffff'")
    assert line == (f"NotFoundError: no run with id 'ffffffffff' in store "
                    f"{filled.store.resolve()} (`glassnet runs` lists them)")


@pytest.mark.parametrize("command", ["diagnose", "report"])
def test_unknown_run_id_in_other_commands(filled, command):
    assert_error(run_cli(command, "nope", "--store", filled.store), "NotFoundError", "'nope'")


@pytest.mark.slow
def test_ambiguous_prefix_lists_the_matches(tmp_path):
    store = gn.track.open_store(tmp_path / "s")
    by_first = defaultdict(list)
    for _ in range(17):  # 17 runs: two must share a first hex digit
        run = gn.track.init(project="p", store=store)
        run.finish()
        by_first[run.id[0]].append(run.id)
    prefix, ids = next((k, v) for k, v in by_first.items() if len(v) > 1)
    result = run_cli("show", prefix, "--store", tmp_path / "s")
    line = assert_error(result, "NotFoundError",
                        f"run id prefix {prefix!r} matches {len(ids)} runs: ")
    for run_id in ids:
        assert run_id in line


def test_reading_a_store_that_does_not_exist(tmp_path):
    result = run_cli("runs", "--store", tmp_path / "none")
    assert_error(result, "NotFoundError", f"no run store at {tmp_path / 'none'}")
    assert not (tmp_path / "none").exists()  # reading never creates a store


def csv_file(tmp_path, text):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, error, fragment", [
    ("a,b,y\n1,2,3\n", "DataError", "no column named 'price'; columns: a, b, y"),
    ("a,price\n1,2\n3,oops\n", "DataError", "line 3, column 'price': 'oops' is not a number"),
    ("", "DataError", "the file is empty"),
    ("a,price\n", "DataError", "the file has a header but no data rows"),
    ("a,price\n1,2\n,4\n", "DataError", "line 3, column 'a' is missing or not finite"),
    ("a,price\n1,2\nnan,4\n", "DataError", "line 3, column 'a' is missing or not finite"),
])
def test_malformed_csv(tmp_path, text, error, fragment):
    path = csv_file(tmp_path, text)
    result = run_cli("train", "--data", path, "--target", "price", "--store", tmp_path / "s")
    assert_error(result, error, str(path), fragment)


def test_missing_csv(tmp_path):
    result = run_cli("train", "--data", tmp_path / "gone.csv", "--target", "y",
                     "--store", tmp_path / "s")
    assert_error(result, "NotFoundError", "gone.csv: no such CSV file")


def test_bad_config_key(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('dataset = "digits"\nlr = 0.1\n')
    result = run_cli("train", config, "--store", tmp_path / "s")
    line = assert_error(result, "ConfigError", f"{config}: unknown key 'lr'")
    assert line.endswith("Valid keys: activation, batch_size, data, dataset, epochs, hidden, "
                         "learning_rate, log_freq, name, optimizer, project, save, seed, "
                         "standardize, tags, target, task, validation_split")


@pytest.mark.parametrize("text, fragment", [
    ('dataset = "digits"\nepochs = -3\n', "'epochs' must be a positive integer, got -3"),
    ('dataset = "digits"\nactivation = "swish"\n', "Unknown activation 'swish'. Valid "),
    ('dataset = "digits"\nhidden = "many"\n', "'hidden' must be units per hidden layer"),
    ('dataset = "digits"\nepochs = \n', "not valid TOML"),
])
def test_bad_config_value(tmp_path, text, fragment):
    config = tmp_path / "c.toml"
    config.write_text(text)
    assert_error(run_cli("train", config, "--store", tmp_path / "s"), "ConfigError", fragment)


def test_train_without_data(tmp_path):
    result = run_cli("train", "--epochs", "2", "--store", tmp_path / "s")
    assert_error(result, "ConfigError", "train options: give exactly one of 'dataset' (a "
                                        "built-in data set: coffee, digits, fraud, "
                                        "house_prices) or 'data' (a CSV file); got neither")


def test_bad_flag_value_is_a_config_error(tmp_path):
    result = run_cli("train", "--dataset", "digits", "--optimizer", "lbfgs",
                     "--store", tmp_path / "s")
    assert_error(result, "ConfigError", "train options: Unknown optimizer 'lbfgs'")


def test_debug_shows_the_traceback(filled):
    result = run_cli("--debug", "show", "nope", "--store", filled.store)
    assert result.exit_code == 1
    assert isinstance(result.exception, LookupError)  # raised, not turned into a message
    after = run_cli("show", "nope", "--debug", "--store", filled.store)
    assert isinstance(after.exception, LookupError)


@pytest.mark.parametrize("args", [
    ["report"], ["report", "x", "--format", "xml"], ["compare", "onlyone"], ["export", "m"],
    ["nosuchcommand"],
])
def test_usage_errors_exit_2(tmp_path, args):
    result = run_cli(*args, "--store", tmp_path / "s")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


def test_missing_feature_is_named(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "glassnet.sklearn.sweeps", None)  # as if not installed
    config = tmp_path / "s.toml"
    config.write_text("")
    result = run_cli("sweep", config, "--store", tmp_path / "s")
    assert_error(result, "MissingDependencyError",
                 "sweeps (glassnet.sklearn.sweeps) is not in this build")


def test_help_lists_the_commands_in_learning_order():
    result = run_cli("--help")
    assert result.exit_code == 0
    listed = result.stdout.split("Commands:\n")[1].splitlines()
    assert [line.split()[0] for line in listed] == [
        "demo", "train", "runs", "show", "report", "plot", "diagnose", "compare", "export",
        "ui", "sweep", "models", "export-runs", "tag", "note", "archive", "unarchive", "rm",
        "gc", "model"]
    assert "  demo         Train and record the digits network; show its weights." in listed


@pytest.mark.parametrize("command", ["demo", "train", "runs", "show", "report", "plot",
                                     "diagnose", "compare", "export", "ui", "sweep"])
def test_every_command_takes_store_and_debug(command):
    result = run_cli(command, "--help")
    assert "--store DIR" in result.stdout and "--debug" in result.stdout
