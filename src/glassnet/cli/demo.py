"""``glassnet demo``: the main job (the digits network) and the guided demos."""

from __future__ import annotations

import click

from glassnet.cli.common import (
    DEFAULT_STORE,
    common_options,
    emit,
    open_store,
    progress_callback,
    store_path,
)


@click.group(invoke_without_command=True)
@common_options
@click.pass_context
def demo(ctx, store):
    """Train and record the digits network; show its weights.

    Trains the 64-25-15-10 network on 8x8 digits, records it in the store, and prints
    the model, its weights and biases, the report tables and the test accuracy.

    Subcommands: `lab` (one unit worked by hand), `activations` (sigmoid, tanh, relu
    side by side), `imbalanced` (the output bias on fraud-like data).
    """
    if ctx.invoked_subcommand is not None:
        return
    from glassnet.apps.demos import DIGITS_EPOCHS, digits_demo

    chosen = store_path(store)
    hint = "" if chosen == DEFAULT_STORE else chosen
    digits_demo(emit, store=open_store(store), store_hint=hint,
                callbacks=[progress_callback(DIGITS_EPOCHS)])


# --epochs is hidden: it lets the test suite run the longer demos quickly
@demo.command()
@common_options
@click.option("--epochs", type=click.IntRange(min=1), default=1000, hidden=True)
def lab(store, epochs):
    """The course lab: a linear unit, set_weights([[200]], [100]), a sigmoid unit, a fit."""
    from glassnet.apps.demos import lab_demo

    lab_demo(emit, epochs=epochs)


@demo.command()
@common_options
@click.option("--epochs", type=click.IntRange(min=1), default=30, hidden=True)
def activations(store, epochs):
    """The digits network with sigmoid, tanh and relu: three recorded runs, compared."""
    from glassnet.apps.demos import activations_demo

    activations_demo(emit, store=open_store(store), epochs=epochs,
                     callbacks=[progress_callback(epochs)])


@demo.command()
@common_options
@click.option("--epochs", type=click.IntRange(min=1), default=5, hidden=True)
def imbalanced(store, epochs):
    """Fraud-like data: the output bias started at 0 and at log(p / (1 - p))."""
    from glassnet.apps.demos import imbalanced_demo

    imbalanced_demo(emit, store=open_store(store), epochs=epochs)
