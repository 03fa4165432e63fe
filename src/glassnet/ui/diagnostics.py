"""Diagnose a recorded run from what the store holds: no live model needed.

Each finding is a dict shaped like ``glassnet.inspect.Finding``: ``severity`` ("error",
"warning", "info"), ``layer`` (or None), ``what``, ``evidence`` (numbers) and
``advice``. When the run's model can be brought back (its registered version, or its
``glassnet train`` config, with the weights of its last snapshot) and it logged its
data, ``glassnet.inspect.diagnose`` runs on them too (source ``"model"``); the checks
on recorded numbers are marked source ``"recorded"``.
"""

from __future__ import annotations

import math

import numpy as np

DEAD_SHARE = 0.5
SATURATED_SHARE = 0.5
RATIO_LOW, RATIO_HIGH = 1e-5, 1e-1  # update/weight ratio: ~1e-3 is the usual healthy middle
GRADIENT_SPREAD = 1e3
MAX_LIVE_SAMPLES = 2000


def _finding(severity, layer, what, evidence, advice) -> dict:
    return {"severity": severity, "layer": layer, "what": what, "evidence": evidence,
            "advice": advice, "source": "recorded"}


def recorded_findings(store, run_id: str) -> list[dict]:
    """Findings from the run's metrics, per-Variable statistics, layer statistics, snapshots."""
    run_id = store.resolve_run_id(run_id)
    keys = set(store.metric_keys(run_id))
    findings = _loss_findings(store, run_id, keys)
    findings += _layer_findings(store, run_id)
    findings += _param_findings(store, run_id)
    findings += _symmetry_findings(store, run_id)
    return findings


def _loss_findings(store, run_id, keys) -> list[dict]:
    out = []
    if "loss" in keys:
        steps, values = store.metrics(run_id, "loss")
        bad = ~np.isfinite(values)
        if bad.any():
            out.append(_finding("error", None, "the loss became NaN or infinite",
                                {"first_bad_step": int(steps[bad][0])},
                                "lower the learning rate, scale the inputs, or clip gradients"))
    key = "epoch/loss" if "epoch/loss" in keys else ("loss" if "loss" in keys else None)
    if key:
        _, values = store.metrics(run_id, key)
        values = values[np.isfinite(values)]
        if len(values) >= 2 and values[-1] >= values[0]:
            out.append(_finding("warning", None, "the training loss did not go down",
                                {"first": float(values[0]), "last": float(values[-1])},
                                "check the learning rate and that the targets match the loss"))
    if "epoch/val_loss" in keys:
        _, val = store.metrics(run_id, "epoch/val_loss")
        val = val[np.isfinite(val)]
        if len(val) >= 3:
            best = int(np.argmin(val))
            if best < len(val) - 1 and val[-1] > 1.1 * val[best]:
                out.append(_finding("info", None, "validation loss rose after its best epoch",
                                    {"best_epoch": best, "best": float(val[best]),
                                     "last": float(val[-1])},
                                    "the network overfits: stop earlier (EarlyStopping), "
                                    "regularise, or get more data"))
    return out


def _last_by(rows, group: str) -> dict:
    last = {}
    for row in rows:
        last[row[group]] = row  # rows come ordered by group, then step
    return last


def _layer_findings(store, run_id) -> list[dict]:
    out = []
    for layer, row in _last_by(store.layer_stats(run_id), "layer").items():
        dead, saturated = row["dead_share"], row["saturated_share"]
        if math.isfinite(dead) and dead >= DEAD_SHARE:
            out.append(_finding("warning", layer, f"{dead:.0%} of the ReLU units are dead",
                                {"dead_share": dead, "step": row["step"]},
                                "lower the learning rate, use He initialisation or leaky_relu"))
        if math.isfinite(saturated) and saturated >= SATURATED_SHARE:
            out.append(_finding("warning", layer, f"{saturated:.0%} of the units are saturated",
                                {"saturated_share": saturated, "step": row["step"]},
                                "scale the inputs, use Glorot initialisation, or relu"))
    return out


def _param_findings(store, run_id) -> list[dict]:
    out = []
    rows = [r for r in store.param_stats(run_id) if r["path"].endswith("/kernel")]
    by_path: dict[str, list] = {}
    for row in rows:
        by_path.setdefault(row["path"], []).append(row)
    rms = {}
    for path, series in by_path.items():
        layer = path.rsplit("/", 1)[0]
        last = series[-1]
        if not all(math.isfinite(last[k]) for k in ("mean", "std", "min", "max")):
            out.append(_finding("error", layer, "the weights are not finite",
                                {"step": last["step"]}, "lower the learning rate"))
            continue
        tail = [r["update_ratio"] for r in series[len(series) * 4 // 5:]]
        tail = [t for t in tail if math.isfinite(t)]
        if tail:
            ratio = float(np.median(tail))
            if ratio < RATIO_LOW:
                out.append(_finding("info", layer, "updates are tiny next to the weights",
                                    {"update_ratio": ratio},
                                    "the learning rate may be too low (~1e-3 is typical)"))
            elif ratio > RATIO_HIGH:
                out.append(_finding("warning", layer, "updates are large next to the weights",
                                    {"update_ratio": ratio},
                                    "the learning rate may be too high (~1e-3 is typical)"))
        if last["count"] and math.isfinite(last["grad_l2"]):
            rms[layer] = last["grad_l2"] / math.sqrt(last["count"])
    values = [v for v in rms.values() if v > 0]
    if len(values) >= 2 and max(values) / min(values) > GRADIENT_SPREAD:
        layers = list(rms)
        kind = "vanishing" if rms[layers[0]] < rms[layers[-1]] else "exploding"
        out.append(_finding("warning", None, f"{kind} gradients across layers",
                            {"gradient_rms": rms},
                            "use relu with He initialisation, or normalise the inputs"))
    return out


def _symmetry_findings(store, run_id) -> list[dict]:
    """Units that started interchangeable: the same incoming weights, bias and outgoing weights.

    Such units get the same gradient at every step, so they stay copies of each other;
    identical incoming weights alone are not enough (a random next layer breaks the tie).
    """
    from glassnet.ui.network import layer_order

    steps = store.snapshots(run_id)
    if not steps:
        return []
    arrays = store.snapshot(run_id, steps[0])
    order = layer_order(arrays, store.model_config(run_id))
    out = []
    for i, layer in enumerate(order):
        kernel = arrays[f"{layer}/kernel"]
        if kernel.shape[1] < 2:
            continue
        same = np.all(kernel == kernel[:, :1])
        bias = arrays.get(f"{layer}/bias")
        if bias is not None:
            same = same and np.all(bias == bias.flat[0])
        if i + 1 < len(order):
            outgoing = arrays[f"{order[i + 1]}/kernel"]
            same = same and outgoing.shape[0] == kernel.shape[1] and \
                bool(np.all(outgoing == outgoing[:1, :]))
        if same:
            out.append(_finding("error", layer,
                                "every unit started as a copy of the others",
                                {"step": steps[0], "units": int(kernel.shape[1]),
                                 "weight": float(kernel.flat[0])},
                                "the copies get the same gradient and stay copies: "
                                "use a random kernel initializer (glorot_uniform, he_normal)"))
    return out


def live_findings(store, run_id: str) -> list[dict]:
    """``glassnet.inspect.diagnose`` on the run's model at its last snapshot, on its logged data.

    The model and data come back through :mod:`glassnet.apps.recorded` (the registry version
    the run logged, or a model rebuilt from a ``glassnet train`` config; the data set
    logged with ``X`` and ``y``). Raises NotFoundError when the run has neither.
    """
    from glassnet.apps.recorded import data_for_run, model_for_run
    from glassnet.inspect import diagnose

    run = store.run(run_id)
    model = model_for_run(store, run)
    x, y, _ = data_for_run(store, run)
    found = diagnose(model, x[:MAX_LIVE_SAMPLES], y[:MAX_LIVE_SAMPLES])
    return [{**f.to_dict(), "source": "model"} for f in found]


def findings(store, run_id: str) -> dict:
    """Every finding for a run, recorded and (when possible) live, worst first."""
    from glassnet.errors import NotFoundError

    found = recorded_findings(store, run_id)
    note = "Checked: the recorded metrics and statistics, and the model on its logged data."
    try:
        found += live_findings(store, run_id)
    except NotFoundError as exc:
        note = f"Checked the recorded metrics and statistics only: {exc}"
    except Exception as exc:  # a model that cannot be rebuilt leaves the recorded findings
        note = f"Checks on the model skipped ({type(exc).__name__}: {exc})"
    order = {"error": 0, "warning": 1, "info": 2}
    found.sort(key=lambda f: order.get(str(f["severity"]).lower(), 3))
    return {"findings": found, "note": note}
