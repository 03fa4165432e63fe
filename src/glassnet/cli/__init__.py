"""The ``glassnet`` command: train, record, look at and compare dense networks.

Thin by design: each command parses its options, calls the library and prints with
rich. Any error prints ``ErrorType: message`` on stderr and exits with code 1 (click's
usage errors exit with 2); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import click

from glassnet.cli.common import GlassnetGroup
from glassnet.cli.demo import demo
from glassnet.cli.life import archive, gc, model, note, rm, tag, unarchive
from glassnet.cli.plot import plot
from glassnet.cli.report import report
from glassnet.cli.runs import compare, diagnose, export_runs, runs, show
from glassnet.cli.tools import export, models, sweep, ui
from glassnet.cli.train import train


def _remember(key):
    def callback(ctx, param, value):
        if value:
            ctx.meta[key] = value
        return value
    return callback


@click.group(cls=GlassnetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True,
              callback=_remember("glassnet.debug"), help="Show the full traceback on errors.")
@click.option("--store", metavar="DIR", expose_value=False, callback=_remember("glassnet.store"),
              help="Run store for every command, a folder or a postgresql:// URL (default: "
                   "$GLASSNET_STORE or "
                   "./glassnet-runs).")
@click.version_option(package_name="glassnet", prog_name="glassnet")
def cli():
    """See, understand and track the weights and biases of dense neural networks.

    Start with `glassnet demo`: it trains a digits network, records it in
    ./glassnet-runs and prints what its weights and biases did.
    """


for command in (demo, train, runs, show, report, plot, diagnose, compare, export, ui, sweep):
    cli.add_command(command)
cli.add_command(models)
cli.add_command(export_runs)
for command in (tag, note, archive, unarchive, rm, gc, model):  # the life of a run
    cli.add_command(command)


def main(argv=None) -> None:
    """The console script: ``glassnet ...``."""
    cli.main(args=argv, prog_name="glassnet")


__all__ = ["cli", "main"]
