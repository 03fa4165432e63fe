"""Diagnose a network's weights and biases: the common ways training goes wrong, with evidence.

``diagnose(model, X, y)`` runs every check below on the model as it is now and returns
a list of :class:`Finding` — empty for a healthy network. Each finding names the
layer, says what is wrong, gives the numbers that show it, and what to do.

Checks, and the thresholds that trigger them (chosen so that healthy trained networks
— digits 64-25-15-10 with Adam, the coffee-roasting network — report nothing):

- non-finite weights: any NaN or inf in a Variable;
- symmetric start: a hidden layer whose units have identical incoming weights, biases
  and outgoing weights (zero or constant initialisation) get identical gradients forever;
- dead ReLU units: ≥ 50% of a ReLU layer's units output 0 for every sample of X;
- saturated sigmoid/tanh units: ≥ 25% of a hidden layer's units are stuck at one end
  of their range, where g'(z) < 1% of its peak (sigmoid a < 0.01 or a > 0.99, tanh
  a < -0.99 or a > 0.99), for ≥ 90% of the samples;
- vanishing / exploding gradients: the RMS of the backpropagated error dL/dz at the
  first Dense layer over that at the last, below 1e-3 or above 1e3;
- update-to-weight ratio: ‖ΔW‖/‖W‖ of one would-be optimizer step (the model's own
  optimizer, learning rate and state, on a batch of 32 samples) above 1e-1 or below
  1e-6 (a healthy ratio is around 1e-3);
- bias dominance: ≥ 25% of a layer's units have |b| > 10 × std over samples of their
  weighted input xW (the bias drowns the input: the unit is nearly constant);
- output bias on imbalanced binary data: positive share p < 0.25 or > 0.75, the
  output bias more than 1 from log(p/(1−p)) and the mean predicted probability more
  than 1 (in log-odds) from p.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet._engine.table import Table
from glassnet.inspect.propagation import forward, require_one_input_and_output
from glassnet.io.frameworks import as_glassnet

DEAD_SHARE = 0.5
SATURATED_SHARE = 0.25
SATURATED_SAMPLES = 0.9
GRADIENT_RATIO_LOW, GRADIENT_RATIO_HIGH = 1e-3, 1e3
UPDATE_RATIO_LOW, UPDATE_RATIO_HIGH = 1e-6, 1e-1
BIAS_DOMINANCE = 10.0
BIAS_DOMINANT_SHARE = 0.25
IMBALANCE = 0.25
LOG_ODDS_GAP = 1.0
UPDATE_BATCH = 32


@dataclass
class Finding:
    """One problem found in a network: how bad, where, what, the numbers, what to do."""

    severity: str            # "error" (training cannot work) or "warning"
    layer: str | None        # layer name, or None for the whole model
    what: str
    evidence: dict = field(default_factory=dict)
    advice: str = ""

    def __str__(self) -> str:
        numbers = ", ".join(f"{k}={_short(v)}" for k, v in self.evidence.items())
        where = f" [{self.layer}]" if self.layer else ""
        return f"{self.severity.upper()}{where} {self.what} ({numbers}). {self.advice}"

    def to_dict(self) -> dict:
        return {"severity": self.severity, "layer": self.layer, "what": self.what,
                "evidence": dict(self.evidence), "advice": self.advice}


class Findings(list):
    """What :func:`diagnose` returns: a plain list of Finding that shows itself in a notebook."""

    def _repr_html_(self) -> str:
        from glassnet.report.display import findings_html
        return findings_html(self)

    def _repr_markdown_(self) -> str:
        from glassnet.report.display import findings_markdown
        return findings_markdown(self)


def findings_table(findings: list[Finding], title: str = "Diagnosis") -> Table:
    """The findings as a Table (one row each), for printing or export."""
    rows = [(f.severity, f.layer or "", f.what,
             "; ".join(f"{k}={_short(v)}" for k, v in f.evidence.items()), f.advice)
            for f in findings]
    return Table(["severity", "layer", "what", "evidence", "advice"], rows,
                 title=title if findings else f"{title}: nothing found")


def diagnose(model, X, y=None) -> list[Finding]:
    """Check a network for the common problems of weights and biases; [] when healthy.

    ``X`` (and ``y`` for the gradient, update and output-bias checks) should be data
    the model trains on. The model is not changed (a would-be update is undone).
    """
    model = as_glassnet(model)  # a PyTorch or Keras Sequential: its glassnet copy
    require_one_input_and_output(model, "diagnose")
    findings = _non_finite(model)
    if findings:
        return Findings(findings)  # every other number would be NaN too
    X = np.asarray(X)
    passes = forward(model, X)
    dense = [p for p in passes if p.has_kernel]
    findings += _symmetric(dense)
    stuck = _dead_and_saturated(dense)
    findings += stuck
    findings += _bias_dominance(dense)
    if y is not None and getattr(model, "loss", None) is not None:
        findings += _gradient_flow(model, X, y, dense)
        findings += _update_ratio(model, X, y, stuck)
        findings += _output_bias(model, dense, y)
    order = {"error": 0, "warning": 1}
    return Findings(sorted(findings, key=lambda f: order.get(f.severity, 2)))


def _non_finite(model) -> list[Finding]:
    out = []
    for v in model.weights:
        bad = int(np.count_nonzero(~np.isfinite(v.value)))
        if bad:
            out.append(Finding(
                "error", v.path.split("/")[0], f"{v.path} has non-finite values",
                {"nan": int(np.count_nonzero(np.isnan(v.value))),
                 "inf": int(np.count_nonzero(np.isinf(v.value))), "count": v.size},
                "training diverged: lower the learning rate, scale the inputs, clip "
                "gradients (clipnorm=1.0), and add TerminateOnNaN to stop at the first NaN"))
    return out


def _symmetric(dense) -> list:
    out = []
    for p, following in zip(dense[:-1], dense[1:], strict=True):
        units = p.W.shape[1]
        if units < 2:
            continue
        same_in = np.ptp(p.W, axis=1).max(initial=0.0)
        same_b = 0.0 if p.b is None else float(np.ptp(p.b))
        same_out = np.ptp(following.W, axis=0).max(initial=0.0)
        if same_in == 0 and same_b == 0 and same_out == 0:
            out.append(Finding(
                "error", p.name, f"all {units} units are identical (symmetric start)",
                {"units": units, "kernel_value": float(p.W.flat[0]),
                 "spread_across_units": float(same_in)},
                "identical units get identical gradients and stay copies of each other: "
                "initialise the kernel randomly (glorot_uniform, he_normal), not with "
                "zeros or a constant"))
    return out


def _dead_and_saturated(dense) -> list:
    out = []
    for index, p in enumerate(dense):
        units = p.a.shape[1]
        if p.activation == "relu":
            dead = ~np.any(p.a > 0, axis=0)
            share = float(dead.mean())
            if share >= DEAD_SHARE:
                out.append(Finding(
                    "error" if share == 1.0 else "warning", p.name,
                    f"{int(dead.sum())} of {units} ReLU units are dead (output 0 for every sample)",
                    {"dead_share": share, "dead_units": np.flatnonzero(dead).tolist()[:20],
                     "mean_bias_of_dead": float(p.b[dead].mean()) if p.b is not None else 0.0},
                    "a dead unit gets no gradient and never recovers: lower the learning "
                    "rate, use he_normal initialisation, a small positive bias, or leaky_relu"))
        elif p.activation in ("sigmoid", "tanh") and index < len(dense) - 1:
            # A confident output unit is meant to sit near 0 or 1, and a trained hidden
            # unit may act as a sharp threshold; the problem is a hidden unit stuck at
            # one end for nearly every sample: it carries no signal and gets no gradient.
            low = -0.99 if p.activation == "tanh" else 0.01
            stuck_low = (p.a < low).mean(axis=0)
            stuck_high = (p.a > 0.99).mean(axis=0)
            saturated = np.maximum(stuck_low, stuck_high) >= SATURATED_SAMPLES
            share = float(saturated.mean())
            if share >= SATURATED_SHARE:
                out.append(Finding(
                    "warning", p.name,
                    f"{int(saturated.sum())} of {units} {p.activation} units are saturated",
                    {"saturated_share": share,
                     "saturated_units": np.flatnonzero(saturated).tolist()[:20],
                     "mean_abs_z": float(np.abs(p.z).mean())},
                    f"in its flat region {p.activation}'(z) ≈ 0 and the unit barely learns: "
                    "normalise the inputs (Normalization layer), use smaller initial "
                    "weights, or relu"))
    return out


def _bias_dominance(dense) -> list:
    out = []
    for p in dense:
        if p.b is None or p.x.shape[0] < 2:
            continue
        spread = (p.x @ p.W).std(axis=0)
        magnitude = np.abs(p.b)
        dominated = (magnitude > BIAS_DOMINANCE * spread) & (magnitude > 1e-6)
        share = float(dominated.mean())
        if share >= BIAS_DOMINANT_SHARE:
            ratio = magnitude[dominated] / np.maximum(spread[dominated], 1e-300)
            out.append(Finding(
                "warning", p.name,
                f"the bias dominates the weighted input in {int(dominated.sum())} of "
                f"{p.b.size} units",
                {"dominated_share": share, "median_abs_bias": float(np.median(magnitude)),
                 "median_std_xW": float(np.median(spread)),
                 "median_ratio": float(np.median(ratio))},
                "these units output nearly the same value for every sample: check the "
                "bias initialiser (zeros is the usual start) and the input scaling"))
    return out


def _gradient_flow(model, X, y, dense) -> list:
    """Compare the backpropagated error dL/dz reaching the first Dense layer with the last's.

    dz, not dW: in a stack whose activations grow layer by layer, dW = xᵀdz multiplies
    a growing x by a shrinking dz and hides the explosion; dz is what the chain rule
    multiplies by Wᵀ and g'(z) once per layer.
    """
    from glassnet.inspect.propagation import backward, forward, output_gradient

    if len(dense) < 2:
        return []
    passes = forward(model, X)
    output_gradient(model, passes, y)
    backward(model, passes)
    rms = {p.name: float(np.sqrt(np.mean(np.square(p.dz)))) for p in passes if p.has_kernel}
    first, last = rms[dense[0].name], rms[dense[-1].name]
    if last == 0 or not np.isfinite(first / last):
        return []
    ratio = first / last
    evidence = {"ratio_first_to_last": ratio, **{f"rms_dz_{k}": v for k, v in rms.items()}}
    if ratio < GRADIENT_RATIO_LOW:
        return [Finding("warning", dense[0].name, "vanishing gradients: the first layer "
                        "gets almost no gradient", evidence,
                        "use relu (not sigmoid/tanh) in deep stacks, he_normal "
                        "initialisation, fewer layers, or normalised inputs")]
    if ratio > GRADIENT_RATIO_HIGH:
        return [Finding("warning", dense[0].name, "exploding gradients: the first layer's "
                        "gradient is far larger than the last's", evidence,
                        "use smaller initial weights (glorot/he), normalise the inputs, "
                        "or clip gradients (clipnorm=1.0)")]
    return []


def _update_ratio(model, X, y, stuck=()) -> list:
    """One optimizer step on a batch, measured per kernel, then undone exactly.

    ``stuck``: the dead and saturated unit findings, named when a kernel does not move.
    """
    from glassnet.inspect.gradcheck import gradients

    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return []
    model._flatten_variables()
    if not optimizer.built:
        return []
    rng = np.random.default_rng(0)
    n = X.shape[0]
    batch = np.sort(rng.choice(n, size=min(UPDATE_BATCH, n), replace=False))
    y_array = np.asarray(y)
    gradients(model, X[batch], y_array[batch])  # fills every Variable.grad
    params = optimizer.params
    before = params.copy()
    slots = {k: v.copy() for k, v in optimizer.slots.items()}
    iterations, rate = optimizer.iterations, optimizer._learning_rate
    try:
        optimizer.step()
        delta = params.astype(np.float64) - before
    finally:
        np.copyto(params, before)
        for k, v in slots.items():
            np.copyto(optimizer.slots[k], v)
        optimizer.iterations, optimizer._learning_rate = iterations, rate
    out = []
    for v, segment in zip(model.trainable_variables, model._segments, strict=True):
        if not v.path.endswith("/kernel"):
            continue
        norm = float(np.linalg.norm(before[segment].astype(np.float64)))
        if norm == 0:
            continue
        ratio = float(np.linalg.norm(delta[segment])) / norm
        evidence = {"update_ratio": ratio, "learning_rate": rate,
                    "optimizer": type(optimizer).__name__}
        if ratio > UPDATE_RATIO_HIGH:
            out.append(Finding("warning", v.path.split("/")[0],
                               "updates are too large for the weights (learning rate too high)",
                               evidence, f"‖ΔW‖/‖W‖ should be near 1e-3: divide the learning "
                               f"rate by about {ratio / 1e-3:.0f}"))
        elif ratio < UPDATE_RATIO_LOW:
            advice = (f"‖ΔW‖/‖W‖ should be near 1e-3: multiply the learning rate by about "
                      f"{1e-3 / ratio:.1g}" if ratio > 0 else _no_gradient_advice(stuck))
            out.append(Finding("warning", v.path.split("/")[0],
                               "updates are too small to change the weights (learning rate "
                               "too low)" if ratio > 0 else "the weights do not move at all",
                               evidence, advice))
    return out


def _no_gradient_advice(stuck) -> str:
    """Why a kernel gets no gradient, naming the dead or saturated units found, if any."""
    listed = []
    for finding in stuck:
        for key, kind in (("dead_units", "dead"), ("saturated_units", "saturated")):
            units = finding.evidence.get(key)
            if units:
                first = " (the first 20)" if len(units) == 20 else ""
                listed.append(f"{finding.layer} has {kind} units {units}{first}")
    if not listed:
        return ("the update is exactly zero: the gradient does not reach this layer; "
                "check that the loss depends on the model's output")
    return ("the update is exactly zero: the gradient does not reach this layer, "
            "because " + "; ".join(listed) + " (they pass no gradient back)")


def _output_bias(model, dense, y) -> list:
    last = dense[-1] if dense else None
    if last is None or last.b is None or last.W.shape[1] != 1:
        return []
    loss = model.loss
    from_logits = getattr(loss, "from_logits", False)
    if not (last.activation == "sigmoid" or (last.activation == "linear" and from_logits)):
        return []
    labels = np.asarray(y, dtype=np.float64).reshape(-1)
    if labels.size == 0 or not np.all((labels == 0) | (labels == 1)):
        return []
    p = float(labels.mean())
    if not (0 < p < 1) or min(p, 1 - p) >= IMBALANCE:
        return []
    target = float(np.log(p / (1 - p)))
    probabilities = last.a if last.activation == "sigmoid" else 1 / (1 + np.exp(-last.a))
    mean_prediction = float(np.clip(probabilities.mean(), 1e-12, 1 - 1e-12))
    prediction_log_odds = float(np.log(mean_prediction / (1 - mean_prediction)))
    bias = float(last.b[0])
    if abs(bias - target) > LOG_ODDS_GAP and abs(prediction_log_odds - target) > LOG_ODDS_GAP:
        return [Finding(
            "warning", last.name, "the output bias is far from the class prior's log-odds",
            {"positive_share": p, "bias": bias, "prior_log_odds": target,
             "mean_prediction": mean_prediction},
            f"start the output bias at log(p/(1-p)) = {target:.3f} "
            f"(bias_initializer=Constant({target:.3f})): the first epochs then learn "
            "features instead of the class balance")]
    return []


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
