"""The pictures render headless; their files have the content they claim (pixel statistics)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ConfigError
from glassnet.layers import Dense, Input

plots = pytest.importorskip("glassnet.report.plots")
image = pytest.importorskip("matplotlib.image")


def read(path):
    pixels = image.imread(path)[..., :3]
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    return pixels


def share(mask) -> float:
    return float(np.mean(mask))


def oranges(p):
    """Pixels of the negative-weight orange (#e8710a), also where drawn translucent."""
    return (p[..., 0] > 0.75) & (p[..., 0] - p[..., 2] > 0.3) & (p[..., 1] < 0.8)


def blues(p):
    return (p[..., 2] > 0.5) & (p[..., 0] < 0.4)


def saved(tmp_path, name):
    png, svg = tmp_path / f"{name}.png", tmp_path / f"{name}.svg"
    assert png.stat().st_size > 10_000
    assert svg.stat().st_size > 5_000 and svg.read_text()[:200].find("<svg") >= 0 or \
        "<svg" in svg.read_text()[:1000]
    return read(png)


@pytest.mark.slow
def test_network_diagram_has_blue_and_orange_edges_and_says_it_sampled(recorded, tmp_path):
    _, model, _ = recorded["runs"]["relu"]
    figure = plots.network(model, path=tmp_path / "net")
    pixels = saved(tmp_path, "net")
    assert share(oranges(pixels)) > 0.005 and share(blues(pixels)) > 0.005
    texts = " ".join(t.get_text() for t in figure.axes[0].texts)
    assert "Sampled evenly: input (16 of 64), relu_hidden1 (16 of 25)" in texts
    biases = model.layers[2].bias.numpy()
    assert f"{biases[0]:+.2f}" in texts  # each unit shows its bias


@pytest.mark.slow
def test_network_diagram_of_a_small_net_draws_every_weight(tmp_path):
    model = gn.Sequential([Input(shape=(2,)), Dense(3, activation="sigmoid"),
                           Dense(1, activation="sigmoid")])
    model.set_weights([np.array([[1.0, -1.0, 2.0], [-0.5, 0.5, -2.0]]), np.zeros(3),
                       np.array([[1.0], [-1.0], [0.2]]), np.array([0.7])])
    figure = plots.network(model, path=tmp_path / "small.png")
    pixels = saved(tmp_path, "small")
    assert share(oranges(pixels)) > 0.002 and share(blues(pixels)) > 0.002
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert "+0.70" in texts and any("Every unit and weight drawn" in t for t in texts)
    collections = figure.axes[0].collections
    assert sum(len(c.get_segments()) for c in collections if hasattr(c, "get_segments")) == 9


@pytest.mark.slow
def test_histogram_heatmap_is_not_uniform(recorded, tmp_path):
    run_id = recorded["runs"]["tanh"][0]
    figure = plots.histogram_heatmaps(run_id, store=recorded["store"], path=tmp_path / "heat")
    pixels = saved(tmp_path, "heat")
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles[:2] == ["tanh_hidden1/kernel", "tanh_hidden1/bias"] and len(titles) == 6
    panel = figure.axes[0].images[0].get_array()
    assert np.ma.count(panel) > 100 and np.nanstd(np.ma.filled(panel, np.nan)) > 0
    assert pixels.std() > 0.1


@pytest.mark.slow
def test_loss_curves_show_train_and_validation(recorded, tmp_path):
    ids = [recorded["runs"][a][0] for a in ("relu", "tanh")]
    figure = plots.loss_curves(ids, store=recorded["store"], path=tmp_path / "loss")
    saved(tmp_path, "loss")
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert sum("validation" in label for label in labels) == 2 and len(labels) == 4
    history = recorded["runs"]["relu"][2].history
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    relu_name = [label for label in labels if label.endswith(" validation")][0]
    np.testing.assert_allclose(lines[relu_name].get_ydata(), history["val_loss"])


@pytest.mark.slow
def test_first_layer_images_of_the_digits(recorded, tmp_path):
    _, model, _ = recorded["runs"]["relu"]
    figure = plots.first_layer_images(model, path=tmp_path / "filters")
    pixels = saved(tmp_path, "filters")
    shown = [ax for ax in figure.axes if ax.images]
    assert len(shown) == 25
    np.testing.assert_array_equal(shown[3].images[0].get_array(),
                                  model.layers[0].kernel.numpy()[:, 3].reshape(8, 8))
    assert share(oranges(pixels)) > 0.01 and share(blues(pixels)) > 0.01


def test_first_layer_images_refuse_non_images(tmp_path):
    model = gn.Sequential([Input(shape=(10,)), Dense(3)])
    with pytest.raises(ConfigError, match="not 64 pixels"):
        plots.first_layer_images(model)


@pytest.mark.slow
def test_activation_bars(recorded, tmp_path):
    ids = [recorded["runs"][a][0] for a in ("relu", "tanh")]
    figure = plots.activation_bars(ids, store=recorded["store"], path=tmp_path / "act")
    pixels = saved(tmp_path, "act")
    first = figure.axes[0]
    assert [t.get_text() for t in first.get_xticklabels()] == ["relu", "tanh"]
    assert len(first.patches) == 2
    blue_bar = (np.abs(pixels - np.array([0.12, 0.47, 0.71])).sum(axis=-1) < 0.1)
    orange_bar = (np.abs(pixels - np.array([1.0, 0.5, 0.05])).sum(axis=-1) < 0.15)
    assert share(blue_bar) > 0.01 and share(orange_bar) > 0.01
