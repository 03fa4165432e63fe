"""``glassnet report``: the ten tables of one or more runs, in the format asked for."""

from __future__ import annotations

import json
from pathlib import Path

import click

from glassnet.cli.common import common_options, emit, open_existing_store, resolve_run

FORMATS = ("table", "markdown", "csv", "json", "html")
DEFAULT_HTML = "STORE/reports/RUN.html"


@click.command()
@click.argument("run_names", nargs=-1, required=True, metavar="RUN [RUN...]")
@click.option("--format", "format_", type=click.Choice(FORMATS), default="table",
              show_default=True, help="table prints to the terminal; json is one object "
                                      "keyed by table name; html writes a page.")
@click.option("--output", "-o", metavar="FILE", help="Write here instead of printing "
                                                     f"(html: a file or a folder; default "
                                                     f"{DEFAULT_HTML}).")
@common_options
def report(run_names, format_, output, store):
    """The ten tables of runs: terminal, Markdown, CSV, JSON, HTML.

    Loss per iteration, weights and biases per layer, their changes during training,
    weight-bias correlation, accuracy beside weights, activations across runs, update time.
    """
    store = open_existing_store(store)
    ids = [resolve_run(store, name).id for name in run_names]
    if format_ == "html":
        from glassnet.cli.tools import feature

        write_html = feature("glassnet.ui.report", "write_html", "the HTML report")
        path = write_html(ids, store, output)
        emit(f"Wrote {path}")
        return
    from glassnet.report import tables as report_tables

    tables = report_tables(ids, store)
    if format_ == "table" and output is None:
        for table in tables.values():
            emit(table)
        return
    text = render(tables, format_)
    if output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        emit(f"Wrote {output}")


def render(tables: dict, format_: str) -> str:
    """All tables as one text: Markdown sections, CSV blocks under ``# name``, or one JSON."""
    if format_ == "json":
        return json.dumps({name: json.loads(t.to_json()) for name, t in tables.items()},
                          indent=2) + "\n"
    if format_ == "markdown":
        return "\n".join(t.to_markdown() for t in tables.values())
    if format_ == "csv":
        return "\n".join(f"# {name}\n{t.to_csv()}" for name, t in tables.items())
    return "\n".join(str(t) for t in tables.values())
