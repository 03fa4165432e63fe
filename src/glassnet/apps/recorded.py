"""Bring a recorded run back to life: its model (at its last snapshot) and its data.

What ``glassnet show``, ``diagnose`` and ``compare`` use to look at a run after the
process that trained it has gone. The model is rebuilt from the architecture the
run's watch recorded (``store.model_config``, compiled with its recorded compile
config); for runs recorded without one, it comes from the registry version the run
logged (``run.log_model``), or, when it logged none, is rebuilt from the run's config
(``hidden``, ``activation``, ``task``, ``n_features``, ``n_outputs`` as ``glassnet
train`` records them). Either way its weights are then set from the run's snapshot, so
they are the ones recorded at that step.
"""

from __future__ import annotations

import numpy as np

from glassnet.errors import NotFoundError

_CONFIG_KEYS = ("hidden", "activation", "task", "n_features", "n_outputs")


def model_for_run(store, run, step="end"):
    """The run's model with the weights of its snapshot at ``step`` (default: the last)."""
    from glassnet import track

    logged = [m for m in store.models() if m["run_id"] == run.id]
    snapshots = store.snapshots(run.id)
    recorded = store.model_config(run.id)
    if recorded is not None and snapshots:  # without a snapshot, only a logged model has weights
        model = _model_from_recorded(store, run.id, recorded)
    elif logged:
        entry = logged[-1]
        model = track.load_model(f"{entry['name']}:v{entry['version']}", store)
    else:
        model = _model_from_config(run)
    if snapshots:
        arrays = store.snapshot(run.id, step)
        missing = [v.path for v in model.weights if v.path not in arrays]
        if missing:
            raise NotFoundError(f"run {run.id}: its snapshot has no {', '.join(missing)} "
                                f"(snapshot holds {', '.join(sorted(arrays))})")
        for variable in model.weights:
            variable.assign(_as_recorded(arrays[variable.path], variable.shape))
    elif not logged:
        raise NotFoundError(f"run {run.id} recorded no snapshot and no model, so its weights "
                            f"are unknown (record with run.watch(snapshots='end'))")
    return model


def _as_recorded(array: np.ndarray, shape: tuple) -> np.ndarray:
    """A snapshot's array for a Variable of ``shape``: as stored, except that snapshots
    written before the blob store kept 0-d arrays hold a scalar (Normalization's
    ``count``) as shape (1,). Any other difference is left for assign() to refuse."""
    if shape == () and array.shape == (1,):
        return array.reshape(())
    return array


def weights_for_run(store, run, step="end") -> dict[str, np.ndarray]:
    """Every Variable of the run at its snapshot ``step``: ``{path: array}``."""
    return store.snapshot(run.id, step)


def data_for_run(store, run) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X, y, "name:vN")``: the first data set the run logged with ``X`` and ``y`` arrays."""
    from glassnet import track

    logged = store.run_datasets(run.id)
    for name, version in logged:
        spec = f"{name}:v{version}"
        try:
            arrays = track.load_dataset(spec, store)
        except LookupError:
            continue  # logged without its data (save=False)
        if "X" in arrays and "y" in arrays:
            return arrays["X"], arrays["y"], spec
    names = ", ".join(f"{n}:v{v}" for n, v in logged) or "none"
    raise NotFoundError(f"run {run.id} logged no data set with arrays X and y (logged: "
                        f"{names}); log it with run.log_dataset(name, X=..., y=...)")


def _model_from_recorded(store, run_id: str, config: dict):
    """The Sequential of the run's recorded ``get_config()``, compiled as it was."""
    from glassnet.models import Sequential

    model = Sequential.from_config(config)
    compile_config = store.model_compile_config(run_id)
    if compile_config is not None:
        model.compile_from_config(compile_config)
    return model


def _model_from_config(run):
    from glassnet.apps.train_job import build_model, compile_for_task
    from glassnet.utils import clear_session

    config = run.config
    absent = [key for key in _CONFIG_KEYS if key not in config]
    if absent:
        raise NotFoundError(f"run {run.id} logged no model, and its config lacks "
                            f"{', '.join(absent)} to rebuild one from (log the model with "
                            f"run.log_model(model, name))")
    n_features = int(config["n_features"])
    placeholder = np.zeros((1, n_features)) if config.get("standardize") else None
    clear_session()  # layer names as `glassnet train` made them: dense, dense_1, ...
    # with standardize, the placeholder only builds the Normalization layer: the snapshot
    # brings the real mean and variance
    model = build_model(n_features, config["hidden"], config["activation"], config["task"],
                        int(config["n_outputs"]), x_train=placeholder)
    return compile_for_task(model, config["task"], config.get("optimizer", "adam"),
                            float(config.get("learning_rate", 1e-3)))


__all__ = ["data_for_run", "model_for_run", "weights_for_run"]
