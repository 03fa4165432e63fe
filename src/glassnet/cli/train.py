"""``glassnet train``: train a network from a TOML config and/or flags, as a recorded run."""

from __future__ import annotations

import math

import click

from glassnet.cli.common import common_options, emit, open_store, progress_callback

# flag name -> config key; a flag given on the command line overrides the config file
_FLAGS = ("data", "target", "dataset", "task", "hidden", "activation", "optimizer",
          "learning_rate", "batch_size", "epochs", "validation_split", "standardize", "seed",
          "save", "project", "name")


@click.command()
@click.argument("config_file", required=False, metavar="[CONFIG.toml]")
@click.option("--data", metavar="FILE.csv", help="A CSV file with a header row.")
@click.option("--target", metavar="COL", help="The CSV column to predict.")
@click.option("--dataset", metavar="NAME", help="A built-in data set: digits, coffee, fraud, "
                                                "house_prices.")
@click.option("--task", metavar="TASK", help="binary, classification or regression "
                                             "(default: from the labels).")
@click.option("--hidden", metavar="25,15", help="Units per hidden layer (default 25,15).")
@click.option("--activation", help="Hidden activation (default relu).")
@click.option("--optimizer", help="sgd, adam, adamw, rmsprop or adagrad (default adam).")
@click.option("--learning-rate", type=float, help="Default 0.001.")
@click.option("--batch-size", type=int, help="Default 32.")
@click.option("--epochs", type=int, help="Default 30.")
@click.option("--validation-split", type=float,
              help="Share of rows held out for validation (default 0.2; 0 holds out none).")
@click.option("--standardize/--no-standardize", default=None,
              help="Standardise the features with a Normalization layer (default: yes).")
@click.option("--seed", type=int, help="Seeds the weights, the shuffles and the split (default 0).")
@click.option("--save", metavar="MODEL.glassnet", help="Also write the trained model here.")
@click.option("--project", help="Project of the run (default: the data set's name).")
@click.option("--name", help="Name of the run (default: generated).")
@common_options
def train(config_file, store, **flags):
    """Train a network on a CSV file or built-in data (a run).

    The loss follows the task: integer labels 0..k-1 -> softmax cross-entropy (from
    logits) with accuracy; 0/1 labels -> binary cross-entropy; numbers -> mean squared
    error. Features are standardised by a Normalization layer adapted on the training
    rows. CONFIG.toml holds the same keys as the flags (hidden = [25, 15], ...).
    """
    from glassnet._engine.table import Table
    from glassnet.apps.train_config import load_config, make_config
    from glassnet.apps.train_job import train as train_network

    values = load_config(config_file) if config_file else {}
    values.update({key: value for key, value in flags.items() if value is not None})
    source = config_file or "train options"
    config = make_config(values, source=source)
    result = train_network(config, store=open_store(store),
                           callbacks=[progress_callback(config.epochs)])
    run = result.run
    emit(f"Recorded run {run.id} ({run.project}/{run.name}), task {result.task}, "
         f"loss {run.config['loss']}")
    emit(Table(["metric", "final value"], sorted(result.metrics.items()),
               title="Final epoch", notes=[_held_out(config, run)]))
    from glassnet.apps.train_job import registry_name

    model_name = registry_name(run.project)
    emit(f"Registered the model as {model_name}:latest (`glassnet models` lists the registry)")
    if config.save:
        emit(f"Saved the model to {config.save}")
    emit(f"Next: glassnet show {run.id}  |  glassnet report {run.id}")
    loss = result.metrics.get("loss")
    if loss is not None and not math.isfinite(loss):
        from glassnet.errors import NonFiniteLossError

        remedy = "a smaller learning_rate" + ("" if config.standardize
                                              else ", or standardize = true")
        raise NonFiniteLossError(f"run {run.id}: the training loss ended {loss}; the "
                                 f"network learned nothing (see the warning above; try "
                                 f"{remedy})")


def _held_out(config, run) -> str:
    """Which rows the final figures are measured on: the training rows, and the held-out ones."""
    n = run.config["n_samples"]
    if not config.validation_split:
        return (f"all {n} rows trained on, none held out: these are training figures "
                f"(--validation-split 0.2 holds a fifth out)")
    n_train = int(n * (1.0 - config.validation_split))
    return (f"val_* = the {n - n_train} rows held out ({config.validation_split:g} of {n}), "
            f"not trained on; the others on the {n_train} training rows")
