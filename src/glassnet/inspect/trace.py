"""Trace forward (and backward) propagation through a model, layer by layer, with the numbers.

``trace(model, x)`` shows, for each layer, the inputs x, the weights W and biases b,
the pre-activation z = xW + b and the output a = g(z). With a target,
``trace(model, x, y)`` adds the loss and the backward pass: dL/da, dz = dL/da · g'(z),
dW = xᵀ dz and db = Σ dz. A small layer seen on one sample is written as the actual
arithmetic ("z = 1.0 × 200.0 + 100.0 = 300.0"); a large one as shapes and statistics.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet._engine.table import Table
from glassnet.inspect.propagation import LayerPass, backward, forward, output_gradient
from glassnet.inspect.stats import summarize
from glassnet.io.frameworks import as_glassnet

# A layer is written out term by term when it sees one sample and has at most this
# many weights; beyond that the arithmetic stops being readable.
ARITHMETIC_MAX_WEIGHTS = 12
_QUANTITIES = ("x", "W", "b", "z", "a", "da", "dz", "dW", "db")


def trace(model, x, y=None, sample_weight=None, training=False) -> Trace:
    """Propagate ``x`` (one sample or a batch) through ``model``; with ``y``, back again.

    The layers' own forward and backward — what ``fit`` runs — on a float64 copy of the
    model with its current weights; the model is not changed. By default the inference
    function (Dropout off, BatchNormalization's moving statistics); ``training=True``
    gives the training pass ``train_on_batch(x, y)`` would compute next, with the
    Dropout masks it would draw. Returns a :class:`Trace`: print it, or read its
    ``layers`` (one :class:`~glassnet.inspect.propagation.LayerPass` each), ``loss``,
    ``to_records()`` and ``tables()``.
    """
    model = as_glassnet(model)  # a PyTorch or Keras Sequential: its glassnet copy
    passes = forward(model, x, training=training)
    loss = fused = None
    if y is not None:
        loss, fused = output_gradient(model, passes, y, sample_weight)
        backward(model, passes)
    return Trace(model.name, passes, loss, fused, None if y is None else np.asarray(y),
                 getattr(getattr(model, "loss", None), "name", None))


class Trace:
    """The numbers of one forward (and backward) pass; readable with ``print``."""

    def __init__(self, model_name, layers: list[LayerPass], loss, fused, target, loss_name):
        self.model_name = model_name
        self.layers = layers
        self.loss = loss
        self.fused = fused
        self.target = target
        self.loss_name = loss_name

    @property
    def output(self) -> np.ndarray:
        return self.layers[-1].a

    def __getitem__(self, name: str) -> LayerPass:
        for p in self.layers:
            if p.name == name:
                return p
        raise KeyError(f"trace has no layer {name!r}; layers: {[p.name for p in self.layers]}")

    # -- structured views ----------------------------------------------------------
    def to_records(self) -> list[dict]:
        """One dict per layer and quantity: shape, mean, std, min, max, and the values if few."""
        records = []
        for p in self.layers:
            for q in _QUANTITIES:
                value = getattr(p, q)
                if value is None:
                    continue
                s = summarize(value)
                records.append({
                    "layer": p.name, "kind": p.kind, "activation": p.activation,
                    "quantity": q, "shape": tuple(value.shape), "mean": s["mean"],
                    "std": s["std"], "min": s["min"], "max": s["max"],
                    "values": value.tolist() if value.size <= 64 else None,
                })
        return records

    def tables(self) -> dict[str, Table]:
        """``{"forward": Table, "backward": Table}`` of per-layer statistics."""
        out = {}
        for direction, quantities in (("forward", ("x", "W", "b", "z", "a")),
                                      ("backward", ("da", "dz", "dW", "db"))):
            rows = [(r["layer"], r["quantity"], r["shape"], r["mean"], r["std"], r["min"],
                     r["max"]) for r in self.to_records() if r["quantity"] in quantities]
            title = f"{direction.capitalize()} pass through {self.model_name!r}"
            if direction == "backward" and self.loss is not None:
                title += f" (loss {self.loss:.6g})"
            out[direction] = Table(["layer", "quantity", "shape", "mean", "std", "min", "max"],
                                   rows, title=title)
        return out

    # -- reading -----------------------------------------------------------------------
    def __str__(self) -> str:
        lines = [f"Trace of {self.model_name!r}: forward propagation"
                 + (" and backward propagation" if self.loss is not None else "")]
        for p in self.layers:
            lines.append("")
            lines.extend(_describe_forward(p))
        if self.loss is not None:
            lines.append("")
            lines.append(f"loss ({self.loss_name}) against y = {_array(self.target)}: "
                         f"{_num(self.loss)}")
            if self.fused:
                lines.append("  output activation and loss are fused: dz = (a − y) / n")
            for p in reversed(self.layers):
                if not p.has_kernel:
                    continue
                lines.append("")
                lines.extend(_describe_backward(p))
        return "\n".join(lines) + "\n"

    def __rich__(self):
        from rich.text import Text

        return Text(str(self))

    def __repr__(self) -> str:
        return f"Trace({self.model_name!r}, {len(self.layers)} layers, loss={self.loss})"

    def _repr_html_(self) -> str:  # a notebook cell's rich display (glassnet.report.display)
        from glassnet.report.display_trace import trace_html
        return trace_html(self)

    def _repr_markdown_(self) -> str:
        return "```\n" + str(self) + "```\n"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython in a terminal: the text
        printer.text(str(self))


def _readable(p: LayerPass) -> bool:
    return p.x.shape[0] == 1 and p.W is not None and p.W.size <= ARITHMETIC_MAX_WEIGHTS


def _describe_forward(p: LayerPass) -> list[str]:
    if not p.has_kernel:
        head = f"layer {p.name} ({p.kind}{', ' + p.activation if p.activation else ''})"
        return [head, _stat_line("x", p.x), _stat_line("a", p.a)]
    n_in, units = p.W.shape
    lines = [f"layer {p.name} (Dense, {n_in} → {units}, {p.activation})"]
    if not _readable(p):
        lines += [_stat_line("x", p.x), _stat_line("W", p.W)]
        if p.b is not None:
            lines.append(_stat_line("b", p.b))
        lines += [_stat_line("z = xW + b", p.z), _stat_line(f"a = {p.activation}(z)", p.a)]
        return lines
    x = p.x[0]
    lines.append(f"  x = {_array(x)}")
    for j in range(units):
        terms = " + ".join(f"{_num(x[i]) if i == 0 else _term(x[i])} × {_term(p.W[i, j])}"
                           for i in range(n_in))
        bias = "" if p.b is None else f" + {_term(p.b[j])}"
        lines.append(f"  unit {j}: z = {terms}{bias} = {_num(p.z[0, j])}")
        lines.append(f"  {' ' * len(str(j))}       a = {p.activation}({_num(p.z[0, j])}) = "
                     f"{_num(p.a[0, j])}")
    return lines


def _describe_backward(p: LayerPass) -> list[str]:
    n_in, units = p.W.shape
    lines = [f"layer {p.name} backward"]
    if not _readable(p):
        if p.da is not None:
            lines.append(_stat_line("dL/da", p.da))
        lines += [_stat_line(f"dz = dL/da · {p.activation}'(z)" if p.da is not None else "dz",
                             p.dz), _stat_line("dW = xᵀ dz", p.dW)]
        if p.db is not None:
            lines.append(_stat_line("db = Σ dz", p.db))
        return lines
    x = p.x[0]
    for j in range(units):
        if p.da is not None:
            slope = p.dz[0, j] / p.da[0, j] if p.da[0, j] != 0 else float("nan")
            derivative = _term(slope) if math.isfinite(slope) else f"{p.activation}'(z)"
            lines.append(f"  unit {j}: dz = dL/da × {p.activation}'(z) = {_num(p.da[0, j])} × "
                         f"{derivative} = {_num(p.dz[0, j])}")
        else:
            lines.append(f"  unit {j}: dz = {_num(p.dz[0, j])}")
        for i in range(n_in):
            lines.append(f"          dW[{i},{j}] = x[{i}] × dz = {_num(x[i])} × "
                         f"{_term(p.dz[0, j])} = {_num(p.dW[i, j])}")
        if p.db is not None:
            lines.append(f"          db[{j}] = dz = {_num(p.db[j])}")
    return lines


def _stat_line(label: str, value: np.ndarray) -> str:
    s = summarize(value)
    shape = "(" + ", ".join(str(d) for d in value.shape) + ("," if value.ndim == 1 else "") + ")"
    return (f"  {label:<22} {shape:<10} mean {_num(s['mean'])}  std {_num(s['std'])}  "
            f"min {_num(s['min'])}  max {_num(s['max'])}")


def _num(value) -> str:
    """1.0, 200.0, 0.7311, 3.4e-05: whole numbers keep one decimal, others 4 significant digits."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e6:
        return f"{value:.1f}"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:.3e}"
    return f"{value:.4g}"


def _term(value) -> str:
    text = _num(value)
    return f"({text})" if text.startswith("-") else text


def _array(values) -> str:
    values = np.asarray(values).reshape(-1)
    if values.size > 8:
        return f"[{', '.join(_num(v) for v in values[:8])}, … ({values.size} values)]"
    return "[" + ", ".join(_num(v) for v in values) + "]"
