"""``glassnet plot RUN --kind KIND``: one picture of a recorded run, written as PNG or SVG."""

from __future__ import annotations

from pathlib import Path

import click

from glassnet.cli.common import common_options, emit, open_existing_store, resolve_run

# kind -> (what it draws, how it is drawn from the store and the runs)
KINDS = {
    "loss": "training and validation loss per step and per epoch (several runs: overlaid)",
    "histograms": "each kernel's and bias's histogram at every recorded step, as heatmaps",
    "network": "the network at the run's last snapshot: every weight and bias drawn "
               "(also: weights)",
    "first-layer": "the first layer's incoming weights per unit, as 8x8 images",
    "activations": "final weights, biases, loss and accuracy of runs side by side",
}

ALIASES = {"weights": "network"}


def draw(kind: str, store, run_ids: list[str]):
    """The Figure of ``kind`` for ``run_ids`` (one run unless the kind compares runs)."""
    from glassnet.report import plots

    kind = ALIASES.get(kind, kind)
    if kind == "loss":
        return plots.loss_curves(run_ids, store=store)
    if kind == "activations":
        return plots.activation_bars(run_ids, store=store)
    if len(run_ids) > 1:
        from glassnet.errors import ConfigError

        raise ConfigError(f"--kind {kind} draws one run, got {len(run_ids)}: "
                          f"{', '.join(run_ids)}")
    if kind == "histograms":
        return plots.histogram_heatmaps(run_ids[0], store=store)
    snapshot = store.snapshot(run_ids[0], "end")
    if kind == "network":
        return plots.network(snapshot, title=f"The network of run {run_ids[0]}")
    return plots.first_layer_images(snapshot)


@click.command()
@click.argument("run_names", nargs=-1, required=True, metavar="RUN [RUN...]")
@click.option("--kind", type=click.Choice(sorted([*KINDS, *ALIASES])), default="loss",
              show_default=True,
              help="What to draw: " + "; ".join(f"{k}: {v}" for k, v in KINDS.items()) + ".")
@click.option("--output", "-o", metavar="FILE", help="PNG or SVG, by its suffix "
                                                     "(default: RUN-KIND.png).")
@common_options
def plot(run_names, kind, output, store):
    """A picture of recorded runs, as a PNG or SVG file.

    Kinds: loss, histograms, network, first-layer, activations.
    """
    from glassnet.report.plots import save_as

    store = open_existing_store(store)
    ids = [resolve_run(store, name).id for name in run_names]
    figure = draw(kind, store, ids)
    path = save_as(figure, Path(output or f"{ids[0]}-{kind}.png"))
    emit(f"Wrote {path} ({kind} of run{'s' if len(ids) > 1 else ''} {', '.join(ids)})")
