"""The example scripts run as a user would run them, and say what they promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SRC = Path(__file__).resolve().parents[2] / "src"


def run_example(name: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("GLASSNET_STORE", None)
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_digits_example_reaches_95_percent_and_records_the_run(tmp_path):
    out = run_example("digits.py", tmp_path)
    accuracy = float(re.search(r"test accuracy: (\d+\.\d)%", out).group(1))
    assert accuracy >= 95.0
    assert (tmp_path / "glassnet-runs" / "glassnet.db").is_file()


@pytest.mark.slow
def test_imbalanced_example_starts_at_the_log_odds(tmp_path):
    out = run_example("imbalanced.py", tmp_path)
    assert "p = 0.0100, log(p / (1 - p)) = -4.5951" in out  # log(0.01 / 0.99) by hand
    assert "bias -4.5951 -> " in out


def test_the_example_train_config_is_valid_and_trains(tmp_path):
    from cli_helpers import run_cli

    import glassnet as gn

    result = run_cli("train", EXAMPLES / "train.toml", "--epochs", "1", "--store", tmp_path)
    assert result.exit_code == 0, result.stderr
    (run,) = gn.track.open_store(tmp_path).runs()
    assert (run.project, run.name, run.config["hidden"]) == ("digits", "from-config", [25, 15])
    assert "epoch/val_accuracy" in run.summary  # validation_split = 0.2
