"""The ten tables of recorded runs: loss, weights, biases, their changes, correlation, timing.

Every figure comes from what the store recorded (metrics, weight snapshots, per-layer
timing), read through the store's query functions; nothing is recomputed by training.
The definitions of each column are in docs/tables.md.

Snapshots: the weight tables use the run's last snapshot; the per-epoch tables
(weight and bias changes, accuracy beside weights) need ``run.watch(snapshots="epoch")``
and fall back to the whole run (first to last snapshot) when only those exist.

Layers are listed in the order of the run's recorded model (``store.model_config``);
runs recorded without one fall back to a natural sort of the names (dense, dense_1...).
"""

from __future__ import annotations

import re

import numpy as np

from glassnet._engine.table import Table
from glassnet.errors import ConfigError
from glassnet.inspect.stats import summarize
from glassnet.track.architecture import in_model_order

TABLE_NAMES = ("loss", "weights", "biases", "weights_vs_biases", "weight_changes",
               "bias_changes", "correlation", "accuracy_vs_weights", "activations",
               "update_time")
LOSS_ROWS = 20  # loss rows per run, evenly spread over the steps, first and last kept


def tables(runs, store=None) -> dict[str, Table]:
    """The ten Tables of one or more recorded runs, keyed by ``TABLE_NAMES``.

    ``runs``: a run id (or unique prefix), a ``Run``, a run record from
    ``store.runs()``, or a list of them. ``store``: a Store or a folder (default: the
    Run's own store, else ``$GLASSNET_STORE`` / ./glassnet-runs).
    """
    store, records = resolve_runs(runs, store)
    runs_data = [_RunData(store, record) for record in records]
    return {
        "loss": loss_table(runs_data),
        "weights": variable_table(runs_data, "kernel"),
        "biases": variable_table(runs_data, "bias"),
        "weights_vs_biases": weights_vs_biases_table(runs_data),
        "weight_changes": changes_table(runs_data, "kernel"),
        "bias_changes": changes_table(runs_data, "bias"),
        "correlation": correlation_table(runs_data),
        "accuracy_vs_weights": accuracy_vs_weights_table(runs_data),
        "activations": activations_table(runs_data),
        "update_time": update_time_table(runs_data),
    }


def resolve_runs(runs, store=None):
    """``(Store, [run record])`` for a run id, Run, record, or list of them."""
    from glassnet.track import open_store

    items = list(runs) if isinstance(runs, (list, tuple)) else [runs]
    if not items:
        raise ConfigError("tables() needs at least one run, got an empty list")
    if store is None:
        owner = next((r for r in items if hasattr(r, "store")), None)
        store = owner.store if owner is not None else None
    store = open_store(store)
    store.flush()
    records = []
    for item in items:
        run_id = item if isinstance(item, str) else getattr(item, "id", None)
        if run_id is None and isinstance(item, dict):
            run_id = item.get("id")
        if not isinstance(run_id, str):
            raise ConfigError(f"a run is named by its id, a Run or a run record, got "
                              f"{type(item).__name__}")
        records.append(store.run(run_id))
    return store, records


def natural_key(name: str):
    """Sort key putting dense, dense_1, dense_2, …, dense_10 in creation order."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


class _RunData:
    """One run's records, read once: snapshots by step, epochs, metrics on demand."""

    def __init__(self, store, record):
        self.store, self.record = store, record
        self.id, self.name = record["id"], record["name"]
        self.label = f"{self.name} ({self.id[:8]})"
        self.snapshot_steps = store.snapshots(self.id)
        self._snapshots: dict[int, dict] = {}
        steps, epochs = store.metrics(self.id, "epoch")
        self.epoch_of_step = {int(s): int(e) for s, e in zip(steps, epochs, strict=True)}
        self.model_config = store.model_config(self.id)

    def in_layer_order(self, names) -> list[str]:
        """Layer names in the recorded model's order; natural sort for runs without one."""
        return in_model_order(names, self.model_config, natural_key)

    def snapshot(self, step) -> dict[str, np.ndarray]:
        if step not in self._snapshots:
            # float64 so that every mean and norm below is exact to ~1e-15
            self._snapshots[step] = {path: array.astype(np.float64) for path, array in
                                     self.store.snapshot(self.id, step).items()}
        return self._snapshots[step]

    @property
    def final(self) -> dict[str, np.ndarray] | None:
        return self.snapshot(self.snapshot_steps[-1]) if self.snapshot_steps else None

    def layers(self, kind: str) -> list[tuple[str, str]]:
        """``[(layer, path)]`` of the final snapshot's Variables of ``kind``, in layer order."""
        final = self.final or {}
        paths = {p.rsplit("/", 1)[0]: p for p in final if p.rsplit("/", 1)[-1] == kind}
        return [(layer, paths[layer]) for layer in self.in_layer_order(paths)]

    def metric(self, key):
        return self.store.metrics(self.id, key)


def loss_table(runs) -> Table:
    rows = []
    for run in runs:
        steps, values = run.store.metrics(run.id, "loss", max_points=LOSS_ROWS)
        for step, value in zip(steps, values, strict=True):
            rows.append((run.label, int(step), _epoch_at(run, int(step)), float(value)))
    return Table(["run", "step", "epoch", "loss"], rows, title="Loss per iteration",
                 notes=[f"the batch loss at each optimizer step; at most {LOSS_ROWS} steps "
                        "per run: each stretch's lowest and highest, first and last kept"])


def _epoch_at(run, step: int) -> int | None:
    """The epoch a step belongs to: the first epoch whose last step is at or after it."""
    for last_step in sorted(run.epoch_of_step):
        if step <= last_step:
            return run.epoch_of_step[last_step]
    return None


def variable_table(runs, kind: str) -> Table:
    rows = []
    for run in runs:
        for layer, path in run.layers(kind):
            value = run.final[path]
            s = summarize(value)
            rows.append((run.label, layer, tuple(value.shape), s["count"], s["mean"], s["std"],
                         s["min"], s["max"], float(np.abs(value).mean()), s["l2"],
                         s["neg_share"]))
    what = "weights" if kind == "kernel" else "biases"
    title = "Average weights per layer" if kind == "kernel" else "Biases per layer"
    return Table(["run", "layer", "shape", "count", "mean", "std", "min", "max", "mean_abs",
                  "l2", "neg_share"], rows, title=title,
                 notes=[f"each layer's {what} ({kind}) in the run's last snapshot"])


def weights_vs_biases_table(runs) -> Table:
    rows = []
    for run in runs:
        for layer, path in run.layers("kernel"):
            W = run.final[path]
            b = run.final.get(f"{layer}/bias")
            mean_abs_w = float(np.abs(W).mean())
            mean_abs_b = float(np.abs(b).mean()) if b is not None else float("nan")
            std_b = float(b.std()) if b is not None else float("nan")
            ratio = mean_abs_b / mean_abs_w if mean_abs_w else float("nan")
            rows.append((run.label, layer, W.size, 0 if b is None else b.size, mean_abs_w,
                         mean_abs_b, float(W.std()), std_b, ratio))
    return Table(["run", "layer", "weights", "biases", "mean_abs_w", "mean_abs_b", "std_w",
                  "std_b", "abs_b_over_abs_w"], rows, title="Weights beside biases",
                 notes=["last snapshot; abs_b_over_abs_w = mean |b| / mean |w|"])


def _spans(run) -> list[tuple[int | None, int, int]]:
    """``[(epoch, from_step, to_step)]`` between consecutive snapshots."""
    steps = run.snapshot_steps
    spans = []
    for start, end in zip(steps[:-1], steps[1:], strict=True):
        spans.append((run.epoch_of_step.get(end), start, end))
    return spans


def changes_table(runs, kind: str) -> Table:
    rows = []
    for run in runs:
        for epoch, start, end in _spans(run):
            before, after = run.snapshot(start), run.snapshot(end)
            for layer, path in run.layers(kind):
                if path not in before:
                    continue
                w0, w1 = before[path].astype(np.float64), after[path].astype(np.float64)
                delta = float(np.linalg.norm(w1 - w0))
                norm0 = float(np.linalg.norm(w0))
                # biases start at 0: a change relative to nothing is said, not nan
                relative = delta / norm0 if norm0 else ("from 0" if delta else float("nan"))
                rows.append((run.label, epoch, start, end, layer, float(np.abs(w0).mean()),
                             float(np.abs(w1).mean()), delta, relative))
    what = "weight" if kind == "kernel" else "bias"
    symbol = "W" if kind == "kernel" else "b"
    return Table(["run", "epoch", "from_step", "to_step", "layer", f"start_mean_abs_{symbol}",
                  f"end_mean_abs_{symbol}", f"norm_delta_{symbol}", f"relative_delta_{symbol}"],
                 rows, title=f"{what.capitalize()} changes during training",
                 notes=[f"between consecutive snapshots (from_step -1 = before training): "
                        f"‖Δ{symbol}‖ = Frobenius norm of the change, relative to ‖{symbol}‖ "
                        "at the start (\"from 0\" when it started at 0)"])


def correlation_table(runs) -> Table:
    rows = []
    for run in runs:
        for layer, path in run.layers("kernel"):
            W = run.final[path].astype(np.float64)
            b = run.final.get(f"{layer}/bias")
            units = W.shape[1]
            incoming = W.mean(axis=0)
            r = float("nan")
            if b is not None and units >= 2 and np.ptp(incoming) > 0 and np.ptp(b) > 0:
                r = float(np.corrcoef(incoming, b.astype(np.float64))[0, 1])
            rows.append((run.label, layer, units, r))
    return Table(["run", "layer", "units", "pearson_r"], rows,
                 title="Correlation between each unit's incoming weights and its bias",
                 notes=["per layer, Pearson's r across units between the mean of a unit's "
                        "incoming weights and its bias (last snapshot); nan when either is "
                        "constant across units"])


def _accuracy_key(run) -> str | None:
    keys = run.store.metric_keys(run.id)
    for preferred in ("epoch/val_accuracy", "epoch/accuracy"):
        if preferred in keys:
            return preferred
    candidates = [k for k in keys if k.startswith("epoch/") and "acc" in k]
    return sorted(candidates, key=lambda k: ("val_" not in k, k))[0] if candidates else None


def accuracy_vs_weights_table(runs) -> Table:
    rows = []
    for run in runs:
        key = _accuracy_key(run)
        accuracy = dict(zip(*run.metric(key), strict=True)) if key else {}
        metric = key.split("/", 1)[1] if key else None
        for step in run.snapshot_steps:
            if step < 0 or step not in run.epoch_of_step:
                continue
            snapshot = run.snapshot(step)
            value = float(accuracy[step]) if step in accuracy else None
            for layer, path in run.layers("kernel"):
                W = snapshot[path]
                rows.append((run.label, run.epoch_of_step[step], step, metric, value, layer,
                             float(W.std()), float((W > 0).mean())))
    return Table(["run", "epoch", "step", "metric", "accuracy", "layer", "std_w", "positive_w"],
                 rows, title="Accuracy beside weight distribution",
                 notes=["per epoch (snapshots='epoch'): validation accuracy when recorded, "
                        "else training accuracy, beside each layer's weight std and share "
                        "of positive weights at the end of that epoch"])


def activations_table(runs) -> Table:
    groups: dict[str, list] = {}
    for run in runs:
        activation = run.record["config"].get("activation", "(not in config)")
        groups.setdefault(str(activation), []).append(run)
    rows = []
    for activation, members in sorted(groups.items()):
        abs_w, mean_b, losses, accuracies = [], [], [], []
        for run in members:
            if run.final is None:
                continue
            kernels = [run.final[p].ravel() for _, p in run.layers("kernel")]
            biases = [run.final[p].ravel() for _, p in run.layers("bias")]
            abs_w.append(float(np.abs(np.concatenate(kernels)).mean()))
            mean_b.append(float(np.concatenate(biases).mean()) if biases else float("nan"))
            _, loss = run.metric("epoch/loss")
            losses.append(float(loss[-1]) if loss.size else float("nan"))
            key = _accuracy_key(run)
            if key:
                accuracies.append(float(run.metric(key)[1][-1]))
        rows.append((activation, len(members), _mean(losses), _mean(accuracies),
                     _mean(abs_w), _mean(mean_b)))
    return Table(["activation", "runs", "final_loss", "final_accuracy", "mean_abs_w", "mean_b"],
                 rows, title="Activation function beside weights and biases, across runs",
                 notes=["runs grouped by their config's 'activation'; each figure is the "
                        "mean over the group's runs of the run's value at its last snapshot "
                        "(all kernels / all biases together) or last epoch"])


def _mean(values) -> float | None:
    values = [v for v in values if v == v]
    return float(np.mean(values)) if values else None


def update_time_table(runs) -> Table:
    rows = []
    for run in runs:
        if run.final is not None:
            sizes = {path: array.size for path, array in run.final.items()}
        else:  # no snapshot: the watch's statistics count every Variable too
            sizes = {r["path"]: r["count"] for r in run.store.param_stats(run.id)}
        by_layer: dict[str, list] = {}
        for record in run.store.layer_stats(run.id):
            by_layer.setdefault(record["layer"], []).append(record)
        for layer in run.in_layer_order(by_layer):
            records = by_layer[layer]
            backward = np.array([r["backward_time"] for r in records], dtype=np.float64)
            update = np.array([r["update_time"] for r in records], dtype=np.float64)
            measured = np.isfinite(backward) & np.isfinite(update)
            params = sum(n for p, n in sizes.items() if p.rsplit("/", 1)[0] == layer)
            if not measured.any():
                rows.append((run.label, layer, params, 0, None, None, None, None))
                continue
            b_ms = float(backward[measured].mean() * 1e3)
            u_ms = float(update[measured].mean() * 1e3)
            total = b_ms + u_ms
            per_weight = total * 1e6 / params if params else None
            rows.append((run.label, layer, params, int(measured.sum()), b_ms, u_ms, total,
                         per_weight))
    return Table(["run", "layer", "params", "steps_measured", "backward_ms", "update_ms",
                  "total_ms", "ns_per_weight"], rows, title="Computation time per weight update",
                 notes=["measured during training on the steps the watch logged: mean "
                        "milliseconds per step in the layer's backward pass and its share of the "
                        "optimizer update; ns_per_weight = total (in ns) / (weights + biases)"])
