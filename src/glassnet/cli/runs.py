"""``glassnet runs | show | diagnose | compare``: read recorded runs back from the store."""

from __future__ import annotations

import math
import time

import click

from glassnet.cli.common import common_options, emit, open_existing_store, resolve_run

# config keys shown in the `runs` list, in this order, when a run has them
KEY_CONFIG = ("dataset", "hidden", "activation", "optimizer", "learning_rate", "epochs")
MAX_METRICS_LISTED = 4


def when(seconds) -> str:
    """Unix seconds as ``2026-11-23 11:40 UTC`` (empty when unknown)."""
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def key_config(config: dict) -> str:
    parts = []
    for key in KEY_CONFIG:
        if key in config and config[key] is not None:
            value = config[key]
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            parts.append(f"{key}={value}")
    return " ".join(parts)


def final_metrics(summary: dict) -> dict:
    """The run's end-of-training numbers: per-epoch and test values, else the last logged."""
    chosen = {k.removeprefix("epoch/"): v for k, v in summary.items()
              if k.startswith(("epoch/", "test/")) and k != "epoch"}
    return chosen or {k: v for k, v in summary.items() if k != "epoch"}


def _number(value) -> str:
    from glassnet._engine.table import format_value

    return format_value(float(value)) if isinstance(value, (int, float)) else str(value)


def search_options(command):
    """``--filter``, ``--sort`` and ``--limit``: which runs, in which order (docs/search.md)."""
    command = click.option("--limit", type=click.IntRange(min=0), metavar="N",
                           help="At most N runs.")(command)
    command = click.option("--sort", metavar="KEYS",
                           help="Order, e.g. 'summary.accuracy desc, name' (default: "
                                "newest first).")(command)
    return click.option("--filter", "filter_", metavar="EXPR",
                        help="Only runs matching EXPR, e.g. \"config.learning_rate < 0.01 "
                             "and tags contains 'baseline'\" (docs/search.md).")(command)


def find_runs(store, filter_=None, sort=None, limit=None, project=None, status=None,
              archived=False):
    """The runs the options ask for (store.search_runs), as records."""
    from glassnet.track.store.query.grammar import parse_filter, quote

    parse_filter(filter_ or "")  # errors point into the text as the user typed it
    parts = [f"project = {quote(project)}"] if project else []
    if status:
        parts.append(f"status = {quote(status)}")
    if filter_ and filter_.strip():
        parts.append(f"({filter_})")
    return store.search_runs(" and ".join(parts), sort, limit, as_records=True,
                             archived=archived)


def tag_cell(tags: list[str]) -> str:
    """A run's tags in a table cell: comma-separated, wrapping at the spaces."""
    return ", ".join(tags)


@click.command()
@click.option("--project", help="Only runs of this project.")
@click.option("--status", type=click.Choice(["running", "finished", "failed", "crashed"]),
              help="Only runs with this status.")
@search_options
@click.option("--archived", is_flag=True,
              help="Archived runs too (hidden by default; `glassnet archive`).")
@click.option("--format", "format_", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True,
              help="A table to read, or CSV / JSON (every config and summary key) for tools.")
@common_options
def runs(project, status, filter_, sort, limit, archived, format_, store):
    """List recorded runs, newest first.

    One row per run: id, project, name, status, created, key config, final metrics,
    and tags when a run has some. Archived runs only with --archived.
    """
    from glassnet._engine.table import Table

    found = find_runs(open_existing_store(store), filter_, sort, limit, project, status,
                      archived)
    if format_ != "table":
        from glassnet.track.store.query.export import to_csv, to_json

        click.echo(to_csv(found) if format_ == "csv" else to_json(found), nl=format_ == "json")
        return
    rows = []
    for run in found:
        metrics = final_metrics(run.summary)
        shown = " ".join(f"{k}={_number(v)}" for k, v in
                         list(sorted(metrics.items()))[:MAX_METRICS_LISTED])
        status = run.status + (" (archived)" if run.archived_at is not None else "")
        rows.append([run.id, run.project, run.name, status, when(run.created_at),
                     key_config(run.config), shown])
    columns = ["id", "project", "name", "status", "created", "config", "final metrics"]
    if any(run.tags for run in found):  # a column only when there is something to show
        columns.append("tags")
        for row, run in zip(rows, found, strict=True):
            row.append(tag_cell(run.tags))
    emit(Table(columns, rows, title=f"{len(rows)} run{'s' * (len(rows) != 1)}"))


@click.command("export-runs")
@click.option("--format", "format_", type=click.Choice(["csv", "parquet", "json"]),
              default=None, help="File format (default: from the file's suffix, else csv). "
                                 "parquet needs pyarrow: pip install 'glassnet[parquet]'.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The file to write (replaced whole, never left half-written).")
@search_options
@common_options
def export_runs(format_, output, filter_, sort, limit, store):
    """Write runs to a CSV, JSON or Parquet file, a column per key.

    One row per run; every config and summary key is a column (config.KEY, summary.KEY).
    """
    from pathlib import Path

    from glassnet.track.store.query.export import write_runs

    if format_ is None:
        suffix = Path(output).suffix.lower().lstrip(".")
        format_ = suffix if suffix in ("csv", "parquet", "json") else "csv"
    found = find_runs(open_existing_store(store), filter_, sort, limit)
    path = write_runs(found, output, format_)
    emit(f"Wrote {len(found)} run{'s' * (len(found) != 1)} to {path} ({format_})")


@click.command()
@click.argument("run_name", metavar="RUN")
@common_options
def show(run_name, store):
    """One run: config, model, weights and biases, metrics."""
    from glassnet._engine.table import Table
    from glassnet.apps.recorded import model_for_run
    from glassnet.errors import NotFoundError
    from glassnet.models.summary_table import summary_table

    store = open_existing_store(store)
    run = resolve_run(store, run_name)
    emit(f"Run {run.id}  {run.project}/{run.name}  {run.status}  created {when(run.created_at)}"
         + (f", finished {when(run.finished_at)}" if run.finished_at else ""))
    if run.archived_at is not None:
        emit(f"Archived {when(run.archived_at)} (`glassnet unarchive {run.id}` shows it "
             "in lists again)")
    emit(f"Tags: {tag_cell(run.tags) if run.tags else '(none)'}")
    if run.note:
        emit("Note:")
        emit(indented(run.note))
    emit(Table(["key", "value"], sorted((k, _plain(v)) for k, v in run.config.items()),
               title="Config"))
    try:
        model = model_for_run(store, run)
    except NotFoundError as exc:
        emit(f"(no model to show: {exc})")
    else:
        emit(summary_table(model))
        _emit_describe(model)
    emit(final_metrics_table(run.summary))
    if run.error:
        emit(f"error: {run.error.splitlines()[0]}")


def final_metrics_table(summary: dict):
    """Every last-logged value, each saying what it was measured on (last batch, epoch...)."""
    from glassnet._engine.table import Table
    from glassnet.report.metric_labels import metric_label

    rows = [(key, value, metric_label(key, summary)) for key, value in sorted(summary.items())
            if key != "epoch"]
    return Table(["metric", "value", "measured on"], rows, title="Final metrics",
                 notes=["`loss` is logged after every batch, `epoch/loss` once per epoch as "
                        "the mean of its batches"] if "epoch/loss" in summary else [])


def indented(text: str, width: int = 76) -> str:
    """A note as printed: each line wrapped to fit 80 columns, indented by two."""
    import textwrap

    lines = []
    for line in text.splitlines() or [""]:
        lines += textwrap.wrap(line, width, break_long_words=True, replace_whitespace=False,
                               drop_whitespace=True) or [""]
    return "\n".join("  " + line if line else "" for line in lines)


def _plain(value):
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return value


def _emit_describe(model) -> None:
    from glassnet.inspect import describe

    emit(describe(model))


@click.command()
@click.argument("run_name", metavar="RUN")
@common_options
def diagnose(run_name, store):
    """What may be wrong with a run's weights, on its data.

    Dead or saturated units, exploding or vanishing weights, a learning rate too high...

    The model is rebuilt from the run (its logged model, or its config) with the weights
    of its last snapshot, and diagnosed on the data set the run logged.
    """
    from glassnet.apps.demos import emit_findings
    from glassnet.apps.recorded import data_for_run, model_for_run

    store = open_existing_store(store)
    run = resolve_run(store, run_name)
    model = model_for_run(store, run)
    x, y, spec = data_for_run(store, run)
    emit(f"Diagnosing run {run.id} ({run.project}/{run.name}) at its last snapshot, "
         f"on data set {spec} ({len(x)} samples)")
    emit_findings(emit, model, x, y)


@click.command()
@click.argument("run_names", nargs=-1, required=True, metavar="RUN RUN...")
@common_options
def compare(run_names, store):
    """Runs side by side: config, metrics, weight statistics."""
    from glassnet._engine.table import Table

    if len(run_names) < 2:
        raise click.UsageError("compare needs at least two runs")
    store = open_existing_store(store)
    chosen = [resolve_run(store, name) for name in run_names]
    ids = [run.id for run in chosen]

    keys = sorted(set().union(*(run.config for run in chosen)))
    differ = [k for k in keys
              if len({repr(run.config.get(k)) for run in chosen}) > 1]
    emit(Table(["config", *ids],
               [(k, *(_plain(run.config.get(k)) for run in chosen)) for k in differ],
               title="Config differences",
               notes=[f"{len(keys) - len(differ)} other config keys are the same in every run"]))

    metrics = [final_metrics(run.summary) for run in chosen]
    names = sorted(set().union(*metrics))
    emit(Table(["metric", *ids], [(m, *(mm.get(m) for mm in metrics)) for m in names],
               title="Final metrics"))

    snapshots = [_last_weights(store, run) for run in chosen]
    paths = sorted(set().union(*snapshots), key=_path_order)
    columns = ["variable"] + [f"{run_id} {stat}" for run_id in ids for stat in ("mean", "std",
                                                                                 "L2")]
    rows = []
    for path in paths:
        row = [path]
        for weights in snapshots:
            row += _stats(weights.get(path))
        rows.append(row)
    emit(Table(columns, rows, title="Weights and biases at each run's last snapshot"))


def _last_weights(store, run) -> dict:
    from glassnet.errors import NotFoundError as GlassnetNotFound

    try:
        return store.snapshot(run.id, "end")
    except (LookupError, GlassnetNotFound):
        return {}


def _stats(array) -> list:
    import numpy as np

    if array is None or array.size == 0 or array.dtype.kind != "f":
        return [None, None, None]
    values = np.asarray(array, dtype=np.float64)
    return [float(values.mean()), float(values.std()), float(math.sqrt((values ** 2).sum()))]


def _path_order(path: str):
    """Layer order as the model lists it would be best; kernel before bias within a layer."""
    layer, _, name = path.rpartition("/")
    return (layer, {"kernel": 0, "bias": 1}.get(name, 2), name)
