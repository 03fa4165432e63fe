"""``glassnet export | ui | sweep``: files for other tools, the dashboard, searches."""

from __future__ import annotations

import os
from pathlib import Path

import click

from glassnet.cli.common import (
    common_options,
    emit,
    open_existing_store,
    open_store,
    resolve_run,
    store_path,
)


def load_model_named(name: str, store):
    """A ``.glassnet`` file, a registry name (``digits-mlp:latest``) or a run id (or prefix).

    A run gives the model it logged, else the one rebuilt from its config and last snapshot.
    """
    from glassnet.models import load_model

    if name.endswith(".glassnet") or os.path.isfile(name):
        return load_model(name)
    from glassnet import track
    from glassnet.apps.recorded import model_for_run
    from glassnet.errors import NotFoundError

    opened = open_existing_store(store)
    registered = {m["name"] for m in opened.models()}
    if name.partition(":")[0] in registered:
        return track.load_model(name, opened)
    try:
        run = resolve_run(opened, name)
    except NotFoundError as exc:
        if "matches" in str(exc):  # an ambiguous run id prefix: its message lists them
            raise
        raise NotFoundError(f"no model file, registered model or run named {name!r} in "
                            f"store {opened.root} (models: {sorted(registered)}; "
                            f"`glassnet models` and `glassnet runs` list them)") from None
    logged = [m for m in opened.models() if m["run_id"] == run.id]
    if logged:
        return track.load_model(f"{logged[-1]['name']}:v{logged[-1]['version']}", opened)
    return model_for_run(opened, run)


@click.command()
@common_options
def models(store):
    """List the model registry: every name, version, alias and the run that logged it."""
    from glassnet._engine.table import Table
    from glassnet.cli.runs import when
    from glassnet.track.registry import list_models

    entries = list_models(open_existing_store(store))
    rows = [(m["name"], f"v{m['version']}", ", ".join(m["aliases"]), m["run_id"] or "",
             m["params"], when(m["created_at"])) for m in entries]
    emit(Table(["name", "version", "aliases", "run", "params", "created"], rows,
               title=f"{len(rows)} registered model version{'s' * (len(rows) != 1)}",
               notes=["`glassnet export NAME:ALIAS` (or a run id) writes one as ONNX or "
                      "safetensors"] if rows else []))


@click.command()
@click.argument("model_name", metavar="MODEL")
@click.option("--onnx", "onnx_path", metavar="OUT.onnx", help="Write an ONNX model.")
@click.option("--safetensors", "weights_path", metavar="OUT.safetensors",
              help="Write every weight and bias by path (kernel, bias...) as safetensors.")
@common_options
def export(model_name, onnx_path, weights_path, store):
    """Write a model as ONNX or safetensors for other tools.

    MODEL is a .glassnet file, a registry name such as digits-mlp:latest (`glassnet
    models` lists them) or a run id: the model that run trained.
    """
    if not onnx_path and not weights_path:
        raise click.UsageError("give --onnx OUT.onnx and/or --safetensors OUT.safetensors")
    model = load_model_named(model_name, store)
    if onnx_path:
        export_onnx = feature("glassnet.io.onnx", "export_onnx", "ONNX export")
        export_onnx(model, onnx_path)
        emit(f"Wrote {onnx_path} (ONNX)")
    if weights_path:
        from glassnet.io import save_weights

        save_weights(model, weights_path)
        emit(f"Wrote {weights_path} ({len(model.weights)} tensors)")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
@common_options
def ui(host, port, no_browser, store):
    """The dashboard: runs, weights and biases in a browser."""
    serve = feature("glassnet.ui", "serve", "the dashboard")
    serve(open_store(store), host=host, port=port, open_browser=not no_browser)


@click.command()
@click.argument("config_file", metavar="CONFIG.toml", type=click.Path(dir_okay=False))
@click.option("--resume", metavar="SWEEP_ID", help="Finish an interrupted sweep: only the "
                                                   "fits it has not recorded run.")
@click.option("--jobs", type=click.IntRange(min=1), help="Parallel fits (default: the file's "
                                                         "n_jobs, else 1).")
@click.option("--scheduler", metavar="ADDRESS", help="Run on this dask scheduler "
              "(tcp://host:8786); sets backend = \"dask\".")
@click.option("--workers", type=click.IntRange(min=1), help="Run on a local dask cluster of "
              "this many worker processes; sets backend = \"dask\".")
@common_options
def sweep(config_file, resume, jobs, scheduler, workers, store):
    """A grid or random search with cross-validation (TOML).

    Every fit of every fold is a recorded run, grouped under the sweep's id.
    """
    from glassnet._engine.table import Table

    run_sweep_file = feature("glassnet.sklearn.sweeps", "run_sweep_file", "sweeps")
    result = run_sweep_file(Path(config_file), open_store(store), resume=resume, n_jobs=jobs,
                            scheduler=scheduler, n_workers=workers)
    records = result.records(timings=False)
    columns = list(dict.fromkeys(key for record in records for key in record))
    emit(Table(columns, [[record.get(c) for c in columns] for record in records],
               title=f"Sweep {result.sweep_id}: best trial {result.best['trial']}, "
                     f"cv score {result.best_score:.4f}"))
    emit(result.summary)
    recorded = len(result.run_ids) + sum(fit["run_id"] is not None for fit in result.failed)
    emit(f"{recorded} runs recorded in {store_path(store)}; `glassnet runs` lists them")
    for fit in result.failed[:5]:
        emit(f"  failed: trial {fit['trial']} fold {fit['fold']} (run {fit['run_id']}): "
             f"{fit['error']}"[:80])
    if result.diverged:
        from glassnet.errors import NonFiniteLossError

        raise NonFiniteLossError(f"{len(result.diverged)} of {len(result.run_ids)} fits "
                                 f"ended with a NaN or infinite loss (runs "
                                 f"{', '.join(result.diverged[:5])}); try smaller "
                                 f"learning rates or standardize = true")


def feature(module: str, name: str, what: str):
    """A function from a module that ships separately; a clear error when it is absent."""
    import importlib

    from glassnet.errors import MissingDependencyError

    try:
        found = importlib.import_module(module)
    except ImportError as exc:
        if exc.name and module.startswith(exc.name):
            raise MissingDependencyError(f"{what} ({module}) is not in this build") from None
        raise
    if not hasattr(found, name):
        raise MissingDependencyError(f"{what} ({module}.{name}) is not in this build")
    return getattr(found, name)
