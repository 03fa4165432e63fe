"""Hyperparameter sweeps: grid or random search, each configuration scored by k-fold CV.

``gn.sweep(X, y, params={"learning_rate": [1e-3, 1e-2], "hidden": [[25], [25, 15]]})``
fits a GlassClassifier (or GlassRegressor) for every configuration and fold —
stratified folds for classes — in parallel: local processes through joblib by
default, or a dask.distributed cluster with ``backend="dask"`` (sweep_dask.py). Every
fit is a recorded run in one store, written by the process that fits it and grouped
under the sweep's id, so a sweep interrupted (Ctrl-C, a killed worker) keeps its
finished fits and, called again with the same ``sweep_id``, does only the ones that
are missing. A fit that raises is a ``failed`` run; the others go on.

scikit-learn does the model selection (ParameterGrid, ParameterSampler, KFold,
StratifiedKFold); joblib or dask.distributed the parallelism; the table is
sweep_result.py's, the progress line sweep_progress.py's.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path

import numpy as np

from glassnet.errors import ConfigError, GlassnetError, require
from glassnet.sklearn.sweep_result import SweepResult, trial_row

SWEEPABLE = ("activation", "batch_size", "epochs", "hidden", "learning_rate", "optimizer")
ESTIMATOR_PARAMS = SWEEPABLE + ("early_stopping", "patience", "validation_fraction")


class SweepInterrupted(GlassnetError, RuntimeError):
    """A sweep stopped before every fit finished; the finished ones are recorded."""


def _trial_key(params: dict) -> str:
    canonical = json.dumps(params, sort_keys=True, default=_jsonable)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not a sweepable value")


def _configurations(params: dict, method: str, n_iter: int, seed: int) -> list[dict]:
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    unknown = sorted(set(params) - set(ESTIMATOR_PARAMS))
    if unknown:
        raise ConfigError(f"unknown sweep parameter(s) {', '.join(unknown)}; valid: "
                          f"{', '.join(sorted(ESTIMATOR_PARAMS))}")
    grid = {key: (value if isinstance(value, list) else [value]) for key, value in params.items()}
    if method == "grid":
        configs = list(ParameterGrid(grid))
    elif method == "random":
        configs = list(ParameterSampler(grid, n_iter=n_iter, random_state=seed))
    else:
        raise ConfigError(f"sweep method must be 'grid' or 'random', got {method!r}")
    return [{k: (list(v) if isinstance(v, tuple) else _plain(v)) for k, v in c.items()}
            for c in configs]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _task_of(y) -> str:
    from sklearn.utils.multiclass import type_of_target

    return "classification" if type_of_target(y) in ("binary", "multiclass") else "regression"


def _weight_stats(model) -> dict[str, float]:
    stats = {}
    for layer in model.layers:
        kernel = layer.kernel.value
        stats[f"{layer.name} mean|w|"] = float(np.abs(kernel).mean())
        stats[f"{layer.name} std w"] = float(kernel.std())
        stats[f"{layer.name} mean b"] = float(layer.bias.value.mean())
    return stats


def _fit_one(X, y, *, train, test, params, base, task, fold, trial, trial_key, sweep_id,
             store, project, seed, standardize):
    """Fit and score one configuration on one fold, as a recorded run (runs in a worker).

    ``store`` is the store's address (a folder or a URL): the worker opens it itself. A
    fit that raises is recorded as a ``failed`` run with the error and comes back as a
    dict with ``error`` set; the sweep goes on with the other fits.
    """
    from glassnet import track
    from glassnet.sklearn import GlassClassifier, GlassRegressor

    x_train, x_test = X[train], X[test]
    if standardize:
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    estimator_class = GlassClassifier if task == "classification" else GlassRegressor
    estimator = estimator_class(**base, **params, random_state=seed)
    # Every hyperparameter goes in the run's config, swept or not, so the report tables
    # can group the sweep's runs by any of them (e.g. by activation).
    config = {key: value for key, value in estimator.get_params().items() if key != "track"}
    config.update({"hidden": list(np.atleast_1d(config["hidden"]).tolist()),
                   "estimator": estimator_class.__name__, "sweep_id": sweep_id,
                   "trial": trial, "trial_key": trial_key, "fold": fold})
    run = track.init(project=project, name=f"{sweep_id}-t{trial}-f{fold}", config=config,
                     store=store, tags=[f"sweep:{sweep_id}"], group=sweep_id)
    try:
        estimator.set_params(track=run)
        start = time.perf_counter()
        estimator.fit(x_train, y[train], validation_data=(x_test, y[test]))
        fit_time = time.perf_counter() - start
        score = float(estimator.score(x_test, y[test]))
        weights = _weight_stats(estimator.model_)
        loss = float(estimator.loss_curve_[-1]) if estimator.loss_curve_ else 0.0
        run.log({"cv_score": score, "fit_time": fit_time, "final_loss": loss,
                 **{f"final/{k}": v for k, v in weights.items()}})
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        run.finish("failed", error=error)
        return {"trial_key": trial_key, "fold": fold, "trial": trial, "run_id": run.id,
                "error": error}
    except BaseException as exc:  # Ctrl-C, SystemExit: recorded, and passed on
        run.finish("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    run.finish()
    return {"trial_key": trial_key, "fold": fold, "trial": trial, "score": score,
            "fit_time": fit_time, "weights": weights, "run_id": run.id, "final_loss": loss,
            "error": None}


def _recorded(store, sweep_id: str) -> dict[tuple[str, int], dict]:
    """Fits of this sweep that finished earlier, by (trial key, fold)."""
    done = {}
    for record in store.runs(group_id=sweep_id, status="finished", archived=True):
        config, summary = record["config"], record["summary"]
        if "trial_key" not in config or "cv_score" not in summary:
            continue
        weights = {k[len("final/"):]: v for k, v in summary.items() if k.startswith("final/")}
        done[(config["trial_key"], int(config["fold"]))] = {
            "trial_key": config["trial_key"], "fold": int(config["fold"]),
            "score": summary["cv_score"], "fit_time": summary.get("fit_time", float("nan")),
            "weights": weights, "run_id": record["id"], "trial": config.get("trial"),
            "final_loss": summary.get("final_loss", 0.0), "error": None}
    return done


def sweep(X, y, params: dict, *, method: str = "grid", n_iter: int = 10, cv: int = 3,
          base: dict | None = None, n_jobs: int = 1, backend: str = "loky", client=None,
          scheduler: str | None = None, n_workers: int | None = None,
          fits_per_task: int | None = None, store=None, project: str = "sweep",
          sweep_id: str | None = None, seed: int = 0, standardize: bool = False,
          verbose: bool = False) -> SweepResult:
    """Grid or random search over ``params``, each configuration scored by ``cv``-fold CV.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,); integer labels make it a classification sweep.
    params : dict
        Lists of values per hyperparameter (``hidden``, ``activation``, ``optimizer``,
        ``learning_rate``, ``batch_size``, ``epochs``...).
    method : "grid" or "random" (``n_iter`` configurations sampled with ``seed``).
    base : fixed estimator parameters for every configuration.
    n_jobs, backend : joblib workers and backend (``"loky"`` processes, ``"threading"``,
        ``"sequential"``), or ``"dask"``: a dask.distributed cluster (sweep_dask.py),
        the one of ``client``, else of ``scheduler`` (an address), else the current
        client, else a LocalCluster of ``n_workers`` processes started for the sweep;
        ``fits_per_task`` fits go in one dask task (default: about 4 tasks per worker).
    sweep_id : resume the sweep with this id: finished fits are not done again.
    verbose : say what is to be done, and show the progress (on stderr).

    A fit that raises is recorded as a ``failed`` run with its error; the sweep goes
    on, and the result lists it in ``failed`` (its configuration's CV score is NaN).
    """
    require("sklearn", "sklearn")
    from sklearn.model_selection import KFold, StratifiedKFold

    from glassnet import track
    from glassnet.sklearn.sweep_progress import Progress

    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()  # a column of labels, as the built-in binary sets give
    if X.ndim != 2 or len(X) != len(y):
        raise ConfigError(f"sweep expects X of shape (n_samples, n_features) and y of "
                          f"(n_samples,), got {X.shape} and {y.shape}")
    _check_options(cv, n_iter, n_jobs, seed, backend, client, scheduler, n_workers,
                   fits_per_task)
    base = dict(base or {})
    unknown = sorted(set(base) - set(ESTIMATOR_PARAMS))
    if unknown:
        raise ConfigError(f"unknown fixed parameter(s) {', '.join(unknown)}; valid: "
                          f"{', '.join(sorted(ESTIMATOR_PARAMS))}")
    task = _task_of(y)
    configs = _configurations(params, method, n_iter, seed)
    splitter = (StratifiedKFold if task == "classification" else KFold)(
        n_splits=cv, shuffle=True, random_state=seed)
    folds = list(splitter.split(X, y))
    opened = track.open_store(store)
    sweep_id = sweep_id or uuid.uuid4().hex[:8]
    done = _recorded(opened, sweep_id)
    keys = [_trial_key({**base, **c}) for c in configs]
    total = len(configs) * cv
    todo = [(t, f) for t in range(len(configs)) for f in range(cv)
            if (keys[t], f) not in done]
    if verbose:
        print(f"sweep {sweep_id}: {len(configs)} configurations x {cv} folds; "
              f"{total - len(todo)} already done, {len(todo)} to run")
    fits = [dict(train=folds[f][0], test=folds[f][1], params=configs[t], base=base,
                 task=task, fold=f, trial=t, trial_key=keys[t], sweep_id=sweep_id,
                 project=project, seed=seed, standardize=standardize) for t, f in todo]
    progress = Progress(sweep_id, total, cv, finished=[
        r for r in done.values() if r["trial_key"] in keys]) if verbose else None
    try:
        if backend == "dask":
            from glassnet.sklearn.sweep_dask import run_fits

            results = run_fits(X, y, fits, store_address(opened), client=client,
                               scheduler=scheduler, n_workers=n_workers,
                               fits_per_task=fits_per_task, progress=progress)
        else:
            results = _run_joblib(X, y, fits, store_address(opened), n_jobs, backend,
                                  progress)
    except KeyboardInterrupt:
        opened.mark_crashed()  # the fits of worker processes that were stopped
        _report_interrupt(opened, sweep_id, total)
        raise
    failed = []
    for result in results:
        if result["error"] is None:
            done[(result["trial_key"], result["fold"])] = result
        else:
            failed.append({k: result[k] for k in ("trial", "fold", "run_id", "error")})
    trials = [trial_row(t, config, [done.get((keys[t], f)) for f in range(cv)])
              for t, config in enumerate(configs)]
    if not any(np.isfinite(trial["cv_mean"]) for trial in trials):
        raise SweepInterrupted(
            f"sweep {sweep_id}: no configuration finished all its folds ({len(failed)} of "
            f"{total} fits failed; the first: {failed[0]['error'] if failed else '?'}); the "
            f"failed runs hold the errors (`glassnet runs --status failed`)")
    run_ids = [rid for trial in trials for rid in trial["run_ids"]]
    diverged = [fit["run_id"] for fit in done.values() if fit["run_id"] in run_ids
                and not np.isfinite(fit.get("final_loss", 0.0))]
    return SweepResult(sweep_id=sweep_id, task=task, trials=trials, run_ids=run_ids,
                       diverged=diverged, failed=sorted(failed, key=_fit_order))


def _fit_order(fit: dict):
    return fit["trial"], fit["fold"]


def _check_options(cv, n_iter, n_jobs, seed, backend, client, scheduler, n_workers,
                   fits_per_task) -> None:
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise ConfigError(f"cv must be an int >= 2, got {cv!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 1:
        raise ConfigError(f"n_iter must be a positive int, got {n_iter!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ConfigError(f"n_jobs must be a positive int (or -1: one per core), got "
                          f"{n_jobs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be an int >= 0, got {seed!r}")
    if backend not in ("loky", "dask", "threading", "sequential"):
        raise ConfigError(f"backend must be 'loky', 'dask', 'threading' or 'sequential', got "
                          f"{backend!r}")
    given = [name for name, value in (("client", client), ("scheduler", scheduler),
                                      ("n_workers", n_workers),
                                      ("fits_per_task", fits_per_task)) if value is not None]
    if backend != "dask" and given:
        raise ConfigError(f"{', '.join(given)} go(es) with backend='dask', got "
                          f"backend={backend!r}")
    if backend == "dask":
        from glassnet.sklearn.sweep_dask import check_options

        check_options(client, scheduler, n_workers, fits_per_task)


def store_address(store) -> str:
    """What a worker opens the store by: its URL (with its password, unlike ``root``),
    else its folder; never a connection."""
    return store.location


def _run_joblib(X, y, fits, address, n_jobs, backend, progress) -> list[dict]:
    joblib = require("joblib", "sklearn")
    jobs = (joblib.delayed(_fit_one)(X, y, store=address, **fit) for fit in fits)
    results = []
    for result in joblib.Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")(jobs):
        results.append(result)
        if progress is not None:
            progress.update(result)
    if progress is not None:
        progress.close()
    return results


def _report_interrupt(store, sweep_id, total):
    finished = len(_recorded(store, sweep_id))
    print(f"sweep {sweep_id} interrupted: {finished} of {total} fits finished and recorded; "
          f"resume with sweep(..., sweep_id={sweep_id!r})")


# -- sweep files ---------------------------------------------------------------------------
def run_sweep_file(path, store=None, resume: str | None = None, n_jobs: int | None = None,
                   verbose: bool = True, scheduler: str | None = None,
                   n_workers: int | None = None) -> SweepResult:
    """Run the sweep a TOML file describes (see docs/sweeps.md); ``resume`` a sweep id.

    ``scheduler`` or ``n_workers`` (the command's ``--scheduler``/``--workers``) override
    the file's and run the sweep on dask.

    The file is checked key by key first (``glassnet.sklearn.sweep_file``): nothing runs on a
    bad file.
    """
    from glassnet.sklearn.sweep_file import read_sweep_file

    path = Path(path)
    spec = read_sweep_file(path)
    if scheduler is not None and n_workers is not None:
        raise ConfigError("give a scheduler (a cluster's address) or a number of workers (a "
                          "local cluster started for the sweep), not both")
    if scheduler is not None or n_workers is not None:
        spec.update(backend="dask", scheduler=scheduler or None,
                    n_workers=n_workers if scheduler is None else None)
    X, y = _sweep_data(path, spec)
    return sweep(X, y, spec["params"], method=spec["method"], n_iter=spec["n_iter"],
                 cv=spec["cv"], base=spec["fixed"], n_jobs=n_jobs or spec["n_jobs"],
                 backend=spec["backend"], scheduler=spec["scheduler"],
                 n_workers=spec["n_workers"], fits_per_task=spec["fits_per_task"], store=store,
                 project=spec["project"], sweep_id=resume, seed=spec["seed"],
                 standardize=spec["standardize"], verbose=verbose)


def _sweep_data(path: Path, spec: dict):
    from glassnet import datasets

    if spec["csv"] is not None:
        x, y, _ = datasets.load_csv(path.parent / spec["csv"], spec["target"])
        return x, y
    return datasets.load(spec["dataset"])


__all__ = ["SweepInterrupted", "SweepResult", "run_sweep_file", "sweep"]
