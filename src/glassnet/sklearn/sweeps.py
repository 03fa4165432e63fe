"""Hyperparameter sweeps: grid or random search, each configuration scored by k-fold CV.

``gn.sweep(X, y, params={"learning_rate": [1e-3, 1e-2], "hidden": [[25], [25, 15]]})``
fits a GlassClassifier (or GlassRegressor) for every configuration and fold —
stratified folds for classes — in parallel through joblib: local processes by
default, or a dask.distributed cluster with ``backend="dask"``. Every fit is a
recorded run in one store, grouped under the sweep's id, so a sweep interrupted
(Ctrl-C, a killed worker) keeps its finished fits and, called again with the same
``sweep_id``, does only the ones that are missing.

scikit-learn does the model selection (ParameterGrid, ParameterSampler, KFold,
StratifiedKFold); joblib does the parallelism.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glassnet.errors import ConfigError, GlassnetError, require

SWEEPABLE = ("activation", "batch_size", "epochs", "hidden", "learning_rate", "optimizer")
ESTIMATOR_PARAMS = SWEEPABLE + ("early_stopping", "patience", "validation_fraction")


class SweepInterrupted(GlassnetError, RuntimeError):
    """A sweep stopped before every fit finished; the finished ones are recorded."""


@dataclass
class SweepResult:
    """What a sweep found: the table, the best configuration, and every run id."""

    sweep_id: str
    task: str
    trials: list[dict]
    run_ids: list[str] = field(default_factory=list)
    #: runs whose training loss ended NaN or inf (``glassnet sweep`` then exits non-zero)
    diverged: list[str] = field(default_factory=list)

    @property
    def best(self) -> dict:
        return max(self.trials, key=lambda t: t["cv_mean"])

    @property
    def best_params(self) -> dict:
        return dict(self.best["params"])

    @property
    def best_score(self) -> float:
        return self.best["cv_mean"]

    def records(self, timings: bool = True) -> list[dict]:
        """One row per configuration: hyperparameters, CV score, fit time, weight statistics."""
        rows = []
        for trial in self.trials:
            row = {"trial": trial["trial"]}
            for key in sorted(trial["params"]):
                value = trial["params"][key]
                row[key] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) \
                    else value
            row["cv_score"] = f"{trial['cv_mean']:.4f} ± {trial['cv_std']:.4f}"
            row["cv_mean"] = trial["cv_mean"]
            row["cv_std"] = trial["cv_std"]
            if timings:
                row["fit_time_s"] = round(trial["fit_time"], 3)
            row.update(trial["weights"])
            row["best"] = "★" if trial is self.best else ""
            rows.append(row)
        return rows

    @property
    def table(self):
        from glassnet._engine.table import Table

        records = self.records()
        # Configurations of different depths have different layer columns: take them all.
        columns = list(dict.fromkeys(key for record in records for key in record))
        return Table(columns, [[record.get(c) for c in columns] for record in records],
                     title=f"sweep {self.sweep_id}: best trial {self.best['trial']} "
                           f"(cv {self.best_score:.4f})",
                     notes=[f"best configuration: {self.best_params}"])

    def __str__(self) -> str:
        return str(self.table)


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


def _fit_one(X, y, train, test, params, base, task, fold, trial, trial_key, sweep_id, store,
             project, seed, standardize):
    """Fit and score one configuration on one fold, as a recorded run (runs in a worker)."""
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
    except BaseException as exc:
        run.finish("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    run.finish()
    return {"trial_key": trial_key, "fold": fold, "score": score, "fit_time": fit_time,
            "weights": weights, "run_id": run.id, "final_loss": loss}


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
            "weights": weights, "run_id": record["id"],
            "final_loss": summary.get("final_loss", 0.0)}
    return done


def sweep(X, y, params: dict, *, method: str = "grid", n_iter: int = 10, cv: int = 3,
          base: dict | None = None, n_jobs: int = 1, backend: str = "loky", client=None,
          store=None, project: str = "sweep", sweep_id: str | None = None, seed: int = 0,
          standardize: bool = False, verbose: bool = False) -> SweepResult:
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
    n_jobs, backend : joblib workers and backend (``"loky"`` processes or ``"dask"``,
        which uses ``client`` or the current dask.distributed client).
    sweep_id : resume the sweep with this id: finished fits are not done again.
    """
    require("sklearn", "sklearn")
    joblib = require("joblib", "sklearn")
    from sklearn.model_selection import KFold, StratifiedKFold

    from glassnet import track

    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()  # a column of labels, as the built-in binary sets give
    if X.ndim != 2 or len(X) != len(y):
        raise ConfigError(f"sweep expects X of shape (n_samples, n_features) and y of "
                          f"(n_samples,), got {X.shape} and {y.shape}")
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
    store_path = opened.location  # a folder or a postgresql:// URL: what workers reopen
    sweep_id = sweep_id or uuid.uuid4().hex[:8]
    done = _recorded(opened, sweep_id)
    keys = [_trial_key({**base, **c}) for c in configs]
    todo = [(t, f) for t in range(len(configs)) for f in range(cv)
            if (keys[t], f) not in done]
    if verbose:
        print(f"sweep {sweep_id}: {len(configs)} configurations x {cv} folds; "
              f"{len(configs) * cv - len(todo)} already done, {len(todo)} to run")
    jobs = (joblib.delayed(_fit_one)(X, y, folds[f][0], folds[f][1], configs[t], base, task, f,
                                     t, keys[t], sweep_id, store_path, project, seed,
                                     standardize) for t, f in todo)
    try:
        if backend == "dask":
            require("distributed", "dask")
            with joblib.parallel_config(backend="dask", **({"client": client} if client else {})):
                results = joblib.Parallel(n_jobs=n_jobs)(jobs)
        else:
            results = joblib.Parallel(n_jobs=n_jobs, backend=backend)(jobs)
    except KeyboardInterrupt:
        _report_interrupt(opened, sweep_id, len(configs) * cv)
        raise
    except Exception as exc:
        finished = len(_recorded(opened, sweep_id))
        raise SweepInterrupted(
            f"sweep {sweep_id} stopped after {finished} of {len(configs) * cv} fits "
            f"({type(exc).__name__}: {exc}); resume with sweep(..., sweep_id={sweep_id!r}) "
            f"or `glassnet sweep CONFIG --resume {sweep_id}`") from exc
    for result in results:
        done[(result["trial_key"], result["fold"])] = result
    trials = []
    for t, config in enumerate(configs):
        fits = [done[(keys[t], f)] for f in range(cv)]
        scores = np.array([fit["score"] for fit in fits])
        weights = {k: float(np.mean([fit["weights"].get(k, np.nan) for fit in fits]))
                   for k in fits[0]["weights"]}
        trials.append({"trial": t, "params": config, "cv_mean": float(scores.mean()),
                       "cv_std": float(scores.std()), "scores": scores.tolist(),
                       "fit_time": float(np.mean([fit["fit_time"] for fit in fits])),
                       "weights": weights, "run_ids": [fit["run_id"] for fit in fits]})
    run_ids = [rid for trial in trials for rid in trial["run_ids"]]
    diverged = [fit["run_id"] for fit in done.values() if fit["run_id"] in run_ids
                and not np.isfinite(fit.get("final_loss", 0.0))]
    return SweepResult(sweep_id=sweep_id, task=task, trials=trials, run_ids=run_ids,
                       diverged=diverged)


def _report_interrupt(store, sweep_id, total):
    finished = len(_recorded(store, sweep_id))
    print(f"sweep {sweep_id} interrupted: {finished} of {total} fits finished and recorded; "
          f"resume with sweep(..., sweep_id={sweep_id!r})")


# -- sweep files ---------------------------------------------------------------------------
def run_sweep_file(path, store=None, resume: str | None = None, n_jobs: int | None = None,
                   verbose: bool = True) -> SweepResult:
    """Run the sweep a TOML file describes (see docs/sweeps.md); ``resume`` a sweep id.

    The file is checked key by key first (``glassnet.sklearn.sweep_file``): nothing runs on a
    bad file.
    """
    from glassnet.sklearn.sweep_file import read_sweep_file

    path = Path(path)
    spec = read_sweep_file(path)
    X, y = _sweep_data(path, spec)
    client = None
    if spec["backend"] == "dask" and spec["scheduler"]:
        client = require("distributed", "dask").Client(spec["scheduler"])
    return sweep(X, y, spec["params"], method=spec["method"], n_iter=spec["n_iter"],
                 cv=spec["cv"], base=spec["fixed"], n_jobs=n_jobs or spec["n_jobs"],
                 backend=spec["backend"], client=client, store=store,
                 project=spec["project"], sweep_id=resume, seed=spec["seed"],
                 standardize=spec["standardize"], verbose=verbose)


def _sweep_data(path: Path, spec: dict):
    from glassnet import datasets

    if spec["csv"] is not None:
        x, y, _ = datasets.load_csv(path.parent / spec["csv"], spec["target"])
        return x, y
    return datasets.load(spec["dataset"])


__all__ = ["SweepInterrupted", "SweepResult", "run_sweep_file", "sweep"]
