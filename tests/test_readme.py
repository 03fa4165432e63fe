"""The README's tour is code people paste: it must run as written."""

import re
import runpy
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_the_two_commands():
    first_block = re.search(r"```sh\n(.*?)```", README.read_text(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands[:2] == ["make demo", "make test"]


@pytest.mark.slow
def test_readme_tour_runs(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    script = tmp_path / "tour.py"
    script.write_text(code)
    monkeypatch.chdir(tmp_path)  # the tour records into ./glassnet-runs
    monkeypatch.delenv("GLASSNET_STORE", raising=False)
    namespace = runpy.run_path(str(script))
    assert namespace["layer"](namespace["np"].array([[2.0]])).tolist() == [[500.0]]
    assert set(namespace["tables"]) >= {"loss", "weights", "biases", "correlation"}
    assert (tmp_path / "glassnet-runs" / "glassnet.db").exists()
    assert "Weights (kernels): 2,125   Biases: 50" in capsys.readouterr().out
