"""Sweep files: TOML validated with clear errors, then run like gn.sweep."""

import pytest

from glassnet.errors import ConfigError
from glassnet.sklearn.sweeps import run_sweep_file


def test_sweep_file_runs(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('dataset = "coffee"\ncv = 2\nseed = 1\n[fixed]\nepochs = 2\n'
                    '[params]\nlearning_rate = [0.01, 0.1]\n')
    result = run_sweep_file(spec, store=tmp_path / "store", verbose=False)
    assert [t["params"] for t in result.trials] == [{"learning_rate": 0.01},
                                                    {"learning_rate": 0.1}]
    assert len(result.run_ids) == 4


@pytest.mark.parametrize("text, message", [
    ("[params]\nlr = [1]\n", "unknown sweep parameter.*lr"),
    ("colour = 1\n[params]\nepochs = [1]\n", "unknown key.*colour.*valid keys"),
    ("dataset = 'digits'\n", "a \\[params\\] table"),
    ("[params\n", "not valid TOML"),
    ("dataset = 'mnist'\n[params]\nepochs = [1]\n", "Unknown data set 'mnist'"),
])
def test_bad_sweep_files_are_explained(tmp_path, text, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    with pytest.raises(ConfigError, match=message):
        run_sweep_file(spec, store=tmp_path / "store", verbose=False)


def test_missing_sweep_file(tmp_path):
    with pytest.raises(ConfigError, match="no such sweep file"):
        run_sweep_file(tmp_path / "nope.toml")
