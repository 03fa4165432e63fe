"""`glassnet train` and `glassnet sweep` given what a careless user gives them (issue 15).

A run whose loss ended NaN exits non-zero; bad files and values are errors naming the
file, the key or the column, what was expected and what was given.
"""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import run_cli

from glassnet.errors import ConfigError, DataError
from glassnet.sweeps import run_sweep_file, sweep
from glassnet.train_config import load_config, make_config
from glassnet.train_job import detect_task
from glassnet.train_job import train as train_network


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflows and ours
def test_glassnet_train_exits_non_zero_when_the_loss_ended_nan(tmp_path):
    result = run_cli("train", "--dataset", "coffee", "--learning-rate", "1e30", "--epochs",
                     "2", "--store", tmp_path / "s")
    assert result.exit_code == 1
    assert "NonFiniteLossError: run " in result.stderr
    assert "the training loss ended nan" in result.stderr
    assert "Recorded run " in result.stdout  # the run is kept, to look at


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_glassnet_sweep_exits_non_zero_when_a_fit_ended_nan(tmp_path):
    pytest.importorskip("sklearn")
    spec = tmp_path / "s.toml"
    spec.write_text('dataset = "coffee"\ncv = 2\n[fixed]\nepochs = 2\noptimizer = "sgd"\n'
                    '[params]\nlearning_rate = [0.01, 1e30]\n')
    result = run_cli("sweep", spec, "--jobs", "1", "--store", tmp_path / "s")
    assert result.exit_code == 1
    assert "NonFiniteLossError: 2 of 4 fits ended with a NaN or infinite loss" in result.stderr
