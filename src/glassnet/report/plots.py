"""Pictures of weights and biases: loss curves, histograms, the network, first-layer images.

Every function draws one figure with matplotlib, saves it as PNG and SVG when given
``path`` (a name without suffix, or ending in .png/.svg), and returns the Figure, which
shows itself inline when it is the last value of a notebook cell. The figures are made
without pyplot (``matplotlib.figure.Figure`` directly), so drawing them never changes
the user's matplotlib backend, its open figures or its rcParams. matplotlib is the
``plots`` extra.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path

import numpy as np

from glassnet.errors import ConfigError, require

# Blue for w > 0, orange for w < 0: the colours of the dashboard (and of the playground
# pictures learners know), so a weight looks the same everywhere glassnet draws it.
POSITIVE, NEGATIVE = "#2563eb", "#e8710a"
MAX_UNITS_DRAWN = 16


STYLE = {"font.size": 11, "axes.titlesize": 13, "axes.labelsize": 11, "figure.dpi": 100}
SUFFIXES = (".png", ".svg")


@functools.cache
def _figure_class():
    """A Figure that shows itself as PNG in a notebook, whatever the backend (or none)."""
    require("matplotlib", "plots")
    from matplotlib.figure import Figure

    class InlineFigure(Figure):
        def _repr_png_(self) -> bytes:
            out = io.BytesIO()
            self.savefig(out, format="png", dpi=STYLE["figure.dpi"])
            return out.getvalue()

    return InlineFigure


def _styled(draw):
    """Draw under glassnet's font sizes without touching the user's global rcParams."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        matplotlib = require("matplotlib", "plots")
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapper


def _subplots(rows=1, columns=1, **kwargs):
    """``(figure, axes)`` like ``pyplot.subplots``, without pyplot's global state."""
    figsize = kwargs.pop("figsize", None)
    figure = _figure_class()(figsize=figsize)
    return figure, figure.subplots(rows, columns, **kwargs)


def _colours() -> list[str]:
    import matplotlib

    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def save(figure, path, tight: bool = False) -> list[Path]:
    """Save ``figure`` as PNG and SVG beside each other; return the two paths.

    ``tight`` crops to the drawn content (for figures with text outside their axes);
    it costs an extra draw, so laid-out figures skip it.
    """
    path = Path(path)
    stem = path.with_suffix("") if path.suffix.lower() in (".png", ".svg") else path
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix in (".png", ".svg"):
        target = stem.with_name(stem.name + suffix)
        figure.savefig(target, dpi=110, bbox_inches="tight" if tight else None)
        out.append(target)
    return out


def save_as(figure, path, tight: bool = True) -> Path:
    """Save ``figure`` as one file, PNG or SVG by the suffix of ``path``; return the path.

    Written to a temporary file beside it and renamed, so a failed draw leaves no
    half-written image.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"cannot save a figure as {path.name!r}: the file name must end in "
                          f"{' or '.join(SUFFIXES)}, got {path.suffix or 'no suffix'!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        figure.savefig(partial, format=path.suffix.lower()[1:], dpi=110,
                       bbox_inches="tight" if tight else None)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _finish(figure, path, tight: bool = False):
    if path is not None:
        save(figure, path, tight)
    return figure


# -- from recorded runs -----------------------------------------------------------------
@_styled
def loss_curves(runs, store=None, path=None):
    """Training loss per step (thin) and per epoch, and validation loss per epoch, per run."""
    from glassnet.report.tables import resolve_runs

    store, records = resolve_runs(runs, store)
    figure, ax = _subplots(figsize=(8, 4.8))
    colours = _colours()
    for i, record in enumerate(records):
        colour = colours[i % len(colours)]
        label = record["name"]
        steps, loss = store.metrics(record["id"], "loss", max_points=2000)
        if steps.size:
            ax.plot(steps, loss, color=colour, alpha=0.3, linewidth=0.8)
        epoch_steps, epoch_loss = store.metrics(record["id"], "epoch/loss")
        if epoch_steps.size:
            ax.plot(epoch_steps, epoch_loss, color=colour, linewidth=2, marker="o",
                    markersize=3, label=f"{label} train")
        val_steps, val_loss = store.metrics(record["id"], "epoch/val_loss")
        if val_steps.size:
            ax.plot(val_steps, val_loss, color=colour, linewidth=2, linestyle="--",
                    marker="s", markersize=3, label=f"{label} validation")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_title("Loss during training (thin: per batch; thick: per epoch)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False)
    figure.tight_layout()
    return _finish(figure, path)


@_styled
def histogram_heatmaps(run, store=None, path=None, kinds=("kernel", "bias")):
    """Each Variable's value histogram at every recorded step, as a heatmap (one panel each).

    x: training step; y: the value (the common range of that Variable over training);
    colour: how many of its weights (or biases) fall in that bin, on a log scale.
    """
    from matplotlib.colors import LogNorm

    from glassnet.report.tables import natural_key, resolve_runs

    store, records = resolve_runs(run, store)
    record = records[0]
    paths = [p for p in store.param_paths(record["id"]) if p.rsplit("/", 1)[-1] in kinds]
    paths.sort(key=lambda p: (natural_key(p.rsplit("/", 1)[0]), p.endswith("bias")))
    if not paths:
        raise ConfigError(f"run {record['id']!r} recorded no histograms: train with "
                          f"run.watch(histograms=True)")
    columns = 2 if len(paths) > 1 else 1
    rows = -(-len(paths) // columns)
    figure, axes = _subplots(rows, columns, figsize=(6.2 * columns, 3.0 * rows),
                                squeeze=False)
    for ax, variable in zip(axes.flat, paths, strict=False):
        steps, edges, counts = store.histograms(record["id"], variable)
        if steps.size == 0:
            ax.set_visible(False)
            continue
        lo, hi = float(np.nanmin(edges)), float(np.nanmax(edges))
        grid = np.linspace(lo, hi, 81)
        image = np.zeros((grid.size - 1, steps.size))
        centres = (grid[:-1] + grid[1:]) / 2
        for j in range(steps.size):
            # re-bin each step's histogram onto the common grid (bins differ per step)
            index = np.clip(np.searchsorted(edges[j], centres, side="right") - 1, 0, 63)
            inside = (centres >= edges[j][0]) & (centres <= edges[j][-1])
            width = (edges[j][-1] - edges[j][0]) / 64
            image[:, j] = np.where(inside, counts[j][index] * (grid[1] - grid[0]) / width, 0)
        image = np.where(image > 0, image, np.nan)
        finite = image[np.isfinite(image)]
        low = max(float(finite.min()), 1e-2) if finite.size else 1e-2
        high = max(float(finite.max()), low * 10) if finite.size else 1.0
        # imshow keeps the SVG a single embedded image (pcolormesh writes a path per cell)
        half_step = (steps[-1] - steps[0]) / max(steps.size - 1, 1) / 2 if steps.size > 1 else 0.5
        mesh = ax.imshow(image, origin="lower", aspect="auto", cmap="viridis",
                         norm=LogNorm(vmin=low, vmax=high), interpolation="nearest",
                         extent=(steps[0] - half_step, steps[-1] + half_step, lo, hi))
        ax.set_title(variable)
        ax.set_xlabel("step")
        ax.set_ylabel("value")
        figure.colorbar(mesh, ax=ax, label="count per bin")
    for ax in list(axes.flat)[len(paths):]:
        ax.set_visible(False)
    figure.suptitle(f"Weights and biases over training — run {record['name']}", fontsize=14)
    figure.tight_layout()
    return _finish(figure, path)


@_styled
def activation_bars(table_or_runs, store=None, path=None):
    """The activation comparison (the ``activations`` table) as grouped bars."""
    from glassnet._engine.table import Table
    from glassnet.report.tables import tables

    table = table_or_runs if isinstance(table_or_runs, Table) else \
        tables(table_or_runs, store)["activations"]
    names = table["activation"]
    metrics = [("mean_abs_w", "final mean |w|"), ("mean_b", "final mean b"),
               ("final_loss", "final loss"), ("final_accuracy", "final accuracy")]
    metrics = [(k, label) for k, label in metrics if any(v is not None for v in table[k])]
    figure, axes = _subplots(1, len(metrics), figsize=(3.4 * len(metrics), 4))
    axes = np.atleast_1d(axes)
    colours = _colours()
    for ax, (key, label) in zip(axes, metrics, strict=True):
        values = [np.nan if v is None else v for v in table[key]]
        bars = ax.bar(names, values, color=[colours[i % len(colours)] for i in range(len(names))])
        ax.bar_label(bars, fmt="%.3g", fontsize=9, padding=2)
        ax.margins(y=0.15)
        ax.set_title(label)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.tick_params(axis="x", rotation=30)
    figure.suptitle("Activation function beside weights and biases", fontsize=14)
    figure.tight_layout()
    return _finish(figure, path)


# -- from a model (or a snapshot) -------------------------------------------------------
def _dense_weights(model_or_snapshot) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """``[(layer, kernel, bias)]`` from a model or a ``{path: array}`` snapshot."""
    from glassnet.layers import Dense
    from glassnet.report.tables import natural_key

    if isinstance(model_or_snapshot, dict):
        layers = sorted({p.rsplit("/", 1)[0] for p in model_or_snapshot
                         if p.endswith("/kernel")}, key=natural_key)
        return [(name, model_or_snapshot[f"{name}/kernel"], model_or_snapshot.get(f"{name}/bias"))
                for name in layers]

    return [(layer.name, layer.kernel.numpy(), None if layer.bias is None else layer.bias.numpy())
            for layer in model_or_snapshot.layers if isinstance(layer, Dense)]


@_styled
def network(model_or_snapshot, path=None, max_units: int = MAX_UNITS_DRAWN, seed: int = 0,
            title: str | None = None):
    """The network drawn: edges blue (w > 0) or orange (w < 0), width ∝ |w|; units show their bias.

    Layers with more than ``max_units`` units are drawn with an evenly spread sample of
    them (the figure says which layers were sampled and how).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    layers = _dense_weights(model_or_snapshot)
    if not layers:
        raise ConfigError("network() needs a model or snapshot with at least one Dense layer")
    sizes = [layers[0][1].shape[0]] + [W.shape[1] for _, W, _ in layers]
    names = ["input"] + [name for name, _, _ in layers]
    shown = [_sample(n, max_units) for n in sizes]
    figure, ax = _subplots(figsize=(2.6 * len(sizes) + 1, 7))
    y_of = [np.linspace(1, 0, len(s)) if len(s) > 1 else np.array([0.5]) for s in shown]
    biggest = max(float(np.abs(W).max()) for _, W, _ in layers) or 1.0
    for k, (_, W, _) in enumerate(layers):
        segments, colours, widths = [], [], []
        for a, i in enumerate(shown[k]):
            for c, j in enumerate(shown[k + 1]):
                w = float(W[i, j])
                segments.append([(k, y_of[k][a]), (k + 1, y_of[k + 1][c])])
                colours.append(POSITIVE if w > 0 else NEGATIVE)
                widths.append(0.2 + 3.5 * abs(w) / biggest)
        order = np.argsort(widths)  # thick edges on top
        # many edges need transparency to stay readable; a few are drawn solid
        alpha = 0.9 if len(segments) <= 64 else 0.55
        ax.add_collection(LineCollection([segments[i] for i in order],
                                         colors=[colours[i] for i in order],
                                         linewidths=[widths[i] for i in order], alpha=alpha,
                                         zorder=1))
    biases = [None] + [b for _, _, b in layers]
    crowded = max(len(units) for units in shown) > 8
    for k, units in enumerate(shown):
        ax.scatter(np.full(len(units), k), y_of[k], s=700 if crowded else 1100, color="white",
                   edgecolor="#333333", linewidth=1.2, zorder=2)
        for a, unit in enumerate(units):
            text = f"x{unit}" if biases[k] is None else f"{biases[k][unit]:+.2f}"
            ax.text(k, y_of[k][a], text, ha="center", va="center",
                    fontsize=6.5 if crowded else 9, zorder=3)
        label = f"{names[k]}\n{sizes[k]} unit{'s' if sizes[k] != 1 else ''}"
        if len(units) < sizes[k]:
            label += f"\n({len(units)} drawn)"
        ax.text(k, 1.08, label, ha="center", va="bottom", fontsize=10)
    sampled = [f"{names[k]} ({len(s)} of {sizes[k]})" for k, s in enumerate(shown)
               if len(s) < sizes[k]]
    note = "Units show their bias. " + (f"Sampled evenly: {', '.join(sampled)}." if sampled
                                         else "Every unit and weight drawn.")
    ax.text(0.5, -0.04, note, transform=ax.transAxes, ha="center", va="top", fontsize=9)
    ax.legend(handles=[Line2D([], [], color=POSITIVE, lw=3, label="w > 0"),
                       Line2D([], [], color=NEGATIVE, lw=3, label="w < 0"),
                       Line2D([], [], color="gray", lw=0.6, label="width ∝ |w|")],
              loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, frameon=False)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-0.08, 1.22)
    ax.axis("off")
    ax.set_title(title or "The network: every weight and bias", fontsize=14, pad=12)
    return _finish(figure, path, tight=True)


def _sample(n: int, limit: int) -> np.ndarray:
    return np.arange(n) if n <= limit else np.unique(np.round(np.linspace(0, n - 1, limit))
                                                     .astype(int))


@_styled
def first_layer_images(model_or_snapshot, image_shape=(8, 8), path=None, title=None):
    """Each first-layer unit's incoming weights as an image (the 8x8 digits: one per unit).

    Blue is a positive weight (the pixel excites the unit), orange negative; the colour
    scale is symmetric and shared, so images compare with each other.
    """
    from matplotlib.colors import LinearSegmentedColormap
    name, W, _ = _dense_weights(model_or_snapshot)[0]
    pixels = int(np.prod(image_shape))
    if W.shape[0] != pixels:
        raise ConfigError(f"first_layer_images: layer {name!r} has {W.shape[0]} inputs, "
                          f"not {pixels} pixels of an image of shape {image_shape}")
    units = W.shape[1]
    columns = min(units, int(np.ceil(np.sqrt(units))), 10)
    rows = -(-units // columns)
    figure, axes = _subplots(rows, columns, figsize=(1.5 * columns + 1.2, 1.6 * rows + 0.8),
                                squeeze=False)
    limit = float(np.abs(W).max()) or 1.0
    colormap = LinearSegmentedColormap.from_list("weights", [NEGATIVE, "#ffffff", POSITIVE])
    image = None
    for j, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= units:
            ax.set_visible(False)
            continue
        image = ax.imshow(W[:, j].reshape(image_shape), cmap=colormap, vmin=-limit,
                          vmax=limit, interpolation="nearest")
        ax.set_title(f"unit {j}", fontsize=9)
    figure.suptitle(title or f"First-layer weights ({name}) as {image_shape[0]}×"
                    f"{image_shape[1]} images", fontsize=13)
    figure.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8,
                    label="weight (blue: the pixel excites the unit; orange: inhibits)")
    return _finish(figure, path, tight=True)
