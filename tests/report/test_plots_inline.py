"""Plots leave the user's matplotlib alone, show inline, and `glassnet plot` writes real files."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("matplotlib")
image = pytest.importorskip("matplotlib.image")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

LEARNER = """
import io, sys
import matplotlib
matplotlib.use("svg")                         # the learner's own choice of backend
matplotlib.rcParams["font.size"] = 7.5
import numpy as np
import glassnet as gn
from glassnet.layers import Dense, Input
from glassnet.report import plots
model = gn.Sequential([Input(shape=(64,)), Dense(4, activation="relu"), Dense(2)])
network = plots.network(model)
images = plots.first_layer_images(model)
png = network._repr_png_()
print(matplotlib.get_backend(), matplotlib.rcParams["font.size"],
      "matplotlib.pyplot" in sys.modules, png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", len(png))
"""


@pytest.mark.slow
def test_plotting_changes_neither_the_backend_nor_rcparams_nor_loads_pyplot():
    out = subprocess.run([sys.executable, "-c", LEARNER], capture_output=True, text=True,
                         check=True).stdout.split()
    backend, font_size, pyplot_loaded, is_png, size = out
    assert backend == "svg"                   # today's code switched it to Agg
    assert font_size == "7.5"
    assert pyplot_loaded == "False"
    assert is_png == "True" and int(size) > 10_000


@pytest.mark.slow
def test_a_returned_figure_shows_inline_as_a_png_of_its_own_size(tmp_path):
    import glassnet as gn
    from glassnet.layers import Dense, Input
    from glassnet.report import plots

    figure = plots.network(gn.Sequential([Input(shape=(3,)), Dense(2)]))
    png = figure._repr_png_()
    assert png.startswith(PNG_MAGIC)
    path = tmp_path / "inline.png"
    path.write_bytes(png)
    height, width = image.imread(path).shape[:2]
    expected_w, expected_h = figure.get_size_inches() * 100
    assert (width, height) == (round(expected_w), round(expected_h))


def test_save_as_refuses_an_unknown_suffix_and_leaves_no_file(tmp_path):
    import glassnet as gn
    from glassnet.errors import ConfigError
    from glassnet.layers import Dense, Input
    from glassnet.report import plots

    figure = plots.network(gn.Sequential([Input(shape=(3,)), Dense(2)]))
    with pytest.raises(ConfigError, match=r"'net.jpg'.*\.png or \.svg"):
        plots.save_as(figure, tmp_path / "net.jpg")
    assert list(tmp_path.iterdir()) == []


# -- glassnet plot ----------------------------------------------------------------------
def run_cli(*args, cwd=None):
    """``glassnet ARGS`` in-process, in ``cwd``; stdout and stderr apart."""
    import os

    from click.testing import CliRunner

    from glassnet.cli import cli

    before = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner(env={"GLASSNET_STORE": None}).invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(before)


@pytest.mark.slow
def test_plot_loss_writes_a_valid_png(recorded, tmp_path):
    run_id = recorded["runs"]["relu"][0]
    out = tmp_path / "loss.png"
    result = run_cli("--store", recorded["store"], "plot", run_id, "--kind", "loss", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert f"Wrote {out}" in result.stdout
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    pixels = image.imread(out)[..., :3]
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    # the run's epoch loss is drawn in the first colour of the cycle (#1f77b4)
    blue = (np.abs(pixels - np.array([0x1F, 0x77, 0xB4]) / 255).max(axis=-1) < 0.1)
    assert blue.mean() > 0.002
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["histograms", "network", "weights", "first-layer"])
def test_plot_kinds_of_one_run_write_svg_files(recorded, tmp_path, kind):
    run_id = recorded["runs"]["tanh"][0]
    out = tmp_path / f"{kind}.svg"
    result = run_cli("--store", recorded["store"], "plot", run_id[:6], "--kind", kind, "-o", out)
    assert result.exit_code == 0, result.stderr
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")


@pytest.mark.slow
def test_plot_activations_compares_runs_and_defaults_to_a_png_named_after_the_run(recorded,
                                                                                  tmp_path):
    ids = [recorded["runs"][a][0] for a in ("relu", "tanh")]
    result = run_cli("--store", recorded["store"], "plot", *ids, "--kind", "activations",
                     cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / f"{ids[0]}-activations.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.slow
def test_plot_errors_are_clear(recorded, tmp_path):
    run_id = recorded["runs"]["relu"][0]
    bad = run_cli("--store", recorded["store"], "plot", run_id, "-o", tmp_path / "x.gif")
    assert bad.exit_code == 1
    assert "ConfigError: cannot save a figure as 'x.gif'" in bad.stderr
    missing = run_cli("--store", recorded["store"], "plot", "ffffffff")
    assert missing.exit_code == 1 and "no run with id 'ffffffff'" in missing.stderr
    two = run_cli("--store", recorded["store"], "plot", run_id,
                  recorded["runs"]["tanh"][0], "--kind", "network")
    assert two.exit_code == 1 and "--kind network draws one run, got 2" in two.stderr
    assert list(tmp_path.iterdir()) == []
