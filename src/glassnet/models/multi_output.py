"""Compiling and training a functional Model with several outputs, by Keras 3's rules.

``compile(loss=...)`` takes one loss for every output, a list in output order, or a
dict by output name; ``loss_weights`` a list or a dict; ``metrics`` a list of lists
(or a list with one metric per output) or a dict. The total loss is
``sum(weight_i * loss_i)``; the logs are ``loss``, then ``<output>_loss`` for each
output, then ``<output>_<metric>`` (sorted by name, as Keras 3 lists them).

``fit``, ``evaluate`` and ``train_on_batch`` batch and shuffle one array of rows:
:meth:`OutputLosses.prepare_targets` lays each output's targets side by side in one
such array, and the losses and metrics here split it again per output.
"""

from __future__ import annotations

import numpy as np

from glassnet import losses as gnlosses
from glassnet import metrics as gnmetrics
from glassnet._engine.data_checks import numeric_targets
from glassnet.errors import ConfigError, DataError, ValueTypeError


def _by_output(model, value, what: str, allow_single: bool) -> list:
    """``value`` (one for all, a list in output order, or a dict by output name) as a list
    with one entry per output."""
    names = model.output_keys
    if isinstance(value, dict):
        missing = [n for n in names if n not in value]
        unknown = sorted(str(k) for k in value if k not in names)
        if missing or unknown:
            raise ConfigError(f"{what} for model {model.name!r} is a dict keyed by output "
                              f"name {names}; missing {missing}, unknown {unknown}")
        return [value[n] for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ConfigError(f"model {model.name!r} has {len(names)} outputs {names}, but "
                              f"{what} lists {len(value)}: give one per output, or a dict "
                              f"by output name")
        return list(value)
    if not allow_single:
        raise ConfigError(f"model {model.name!r} has {len(names)} outputs {names}: give "
                          f"{what} as a list with one entry per output or a dict by output "
                          f"name, got {value!r}")
    return [value] * len(names)


def _metric_lists(model, metrics) -> list[list]:
    if metrics is None:
        return [[] for _ in model.output_keys]
    if isinstance(metrics, dict):
        unknown = sorted(str(k) for k in metrics if k not in model.output_keys)
        if unknown:
            raise ConfigError(f"metrics for model {model.name!r} name outputs {unknown}, "
                              f"which it does not have; its outputs: {model.output_keys}")
        listed = [metrics.get(n) for n in model.output_keys]
    else:
        listed = _by_output(model, metrics, "metrics", allow_single=False)
    return [[] if m is None else list(m) if isinstance(m, (list, tuple)) else [m]
            for m in listed]


def compile_outputs(model, loss, loss_weights, metrics, weighted_metrics):
    """``(OutputLosses, per-output metric specs)`` for ``model.compile``."""
    if weighted_metrics:
        raise ConfigError(f"model {model.name!r} has several outputs; glassnet does not "
                          f"take weighted_metrics for such models yet (metrics work)")
    if loss is None:
        return None, _metric_lists(model, metrics)
    losses = [gnlosses.get(spec) if spec is not None else None
              for spec in _by_output(model, loss, "loss", allow_single=True)]
    if any(item is None for item in losses):
        missing = [n for n, item in zip(model.output_keys, losses) if item is None]
        raise ConfigError(f"every output of model {model.name!r} needs a loss; none for "
                          f"{missing}")
    weights = [1.0] * len(losses) if loss_weights is None else _by_output(
        model, loss_weights, "loss_weights", allow_single=False)
    for name, weight in zip(model.output_keys, weights):
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)):
            raise ValueTypeError(f"loss_weights for output {name!r} must be a number, got "
                                 f"{weight!r}")
    specs = _metric_lists(model, metrics)
    outputs = OutputLosses(model, losses, [float(w) for w in weights])
    outputs.metrics(specs)  # fail at compile on a metric name, not in fit
    return outputs, specs


def single_output_specs(model, loss, loss_weights, metrics, weighted_metrics):
    """A one-output model's settings given in the several-output spelling (``loss=["mse"]``,
    ``{"out": "mse"}``, ``metrics=[["mae"]]``), as Keras takes them, made plain."""
    names = list(getattr(model, "output_keys", []))

    def plain(value, flat_list_is_one: bool):
        if isinstance(value, dict) and len(value) == 1 and list(value) == names:
            return next(iter(value.values()))
        if isinstance(value, (list, tuple)) and len(value) == 1 and (
                flat_list_is_one or isinstance(value[0], (list, tuple))):
            return value[0]
        return value

    return (plain(loss, True), plain(loss_weights, True) if loss_weights is not None
            else None, plain(metrics, False), plain(weighted_metrics, False))


class OutputLosses:
    """The loss of a several-output model: each output's own, weighted and summed.

    It answers what the trainer asks of a loss (``prepare_targets``, ``per_sample``, and
    ``value_and_grads`` with one gradient per output); it never fuses with an output
    activation, since an output may also feed other layers.
    """

    fuses_with = None
    from_logits = False
    name = "loss"

    def __init__(self, model, losses: list, weights: list[float]):
        self.model = model
        self.names = list(model.output_keys)
        self.shapes = [tuple(t.shape) for t in model.outputs]
        self.losses = losses
        self.weights = weights
        self._layout: list[tuple] | None = None  # per output: (width, shape, dtype)

    # -- targets: several arrays in, one array of rows ---------------------------------
    def prepare_targets(self, y, name: str = "y") -> np.ndarray:
        """``y`` (a list in output order, or a dict by output name) checked per output and
        laid side by side in one (n, total) array of the model's float dtype."""
        arrays = self._targets_by_output(y, name)
        dtype = self.model.weights[0].dtype if self.model.weights else np.float32
        prepared, layout, rows = [], [], None
        for out, loss, shape, data in zip(self.names, self.losses, self.shapes, arrays):
            what = f"{name} for output {out!r}"
            target = loss.prepare_targets(numeric_targets(data, what), shape)
            if rows is not None and len(target) != rows[1]:
                raise DataError(f"{name}: output {out!r} has {len(target)} samples but "
                                f"output {rows[0]!r} has {rows[1]}")
            rows = rows or (out, len(target))
            layout.append((int(np.prod(target.shape[1:], dtype=np.int64)), target.shape[1:],
                           target.dtype if target.dtype.kind != "f" else dtype))
            prepared.append(target.reshape(len(target), -1))
        self._layout = layout
        return np.ascontiguousarray(np.concatenate(prepared, axis=1), dtype=dtype)

    def _targets_by_output(self, y, name: str) -> list:
        if isinstance(y, dict):
            missing = [n for n in self.names if n not in y]
            unknown = sorted(str(k) for k in y if k not in self.names)
            if missing or unknown:
                raise DataError(f"{name} for model {self.model.name!r} is a dict keyed by "
                                f"output name {self.names}; missing {missing}, unknown "
                                f"{unknown}")
            return [y[n] for n in self.names]
        if not isinstance(y, (list, tuple)):
            raise ValueTypeError(f"model {self.model.name!r} has {len(self.names)} outputs "
                                 f"{self.names}: pass {name} as a list of "
                                 f"{len(self.names)} arrays or a dict by output name, got "
                                 f"{type(y).__name__}")
        if len(y) != len(self.names):
            raise DataError(f"model {self.model.name!r} has {len(self.names)} outputs "
                            f"{self.names}, but {name} holds {len(y)} arrays")
        return list(y)

    def split_targets(self, packed: np.ndarray) -> list[np.ndarray]:
        """The per-output targets held side by side in ``packed`` (a batch of rows)."""
        parts, start = [], 0
        for width, shape, dtype in self._layout:
            part = packed[:, start:start + width].reshape((-1,) + tuple(shape))
            parts.append(part.astype(dtype, copy=False))
            start += width
        return parts

    def split_outputs(self, outputs) -> list[np.ndarray]:
        """The model's outputs as a list (inference gives them packed side by side)."""
        return outputs if isinstance(outputs, list) else self.model.unpack_outputs(outputs)

    # -- the loss --------------------------------------------------------------------
    def per_sample(self, y, outputs) -> np.ndarray:
        """sum_i weight_i * loss_i per sample (its batch mean is Keras's total loss)."""
        total = 0.0
        for loss, weight, target, out in zip(self.losses, self.weights,
                                             self.split_targets(y), self.split_outputs(outputs)):
            total = total + weight * loss.per_sample(target, out)
        return total

    def value_and_grads(self, y, outputs, sample_weight, grads: list) -> float:
        """The weighted total loss; each output's weighted gradient written into ``grads``."""
        value = 0.0
        for loss, weight, target, out, grad in zip(self.losses, self.weights,
                                                   self.split_targets(y), outputs, grads):
            value += weight * loss.value_and_grad(target, out, sample_weight, grad)
            if weight != 1.0:
                grad *= weight
        return value

    # -- logs ------------------------------------------------------------------------
    def metrics(self, specs: list[list]) -> list:
        """New metric objects: each output's loss, then each output's metrics by name."""
        trackers = [OutputLoss(self, i, f"{name}_loss") for i, name in enumerate(self.names)]
        named = []
        for i, (name, loss, shape, wanted) in enumerate(zip(self.names, self.losses,
                                                            self.shapes, specs)):
            for spec in wanted:
                metric = gnmetrics.get(spec, loss, shape[-1])
                named.append(OutputMetric(self, i, f"{name}_{metric.name}", metric))
        return trackers + sorted(named, key=lambda m: m.name)

    def compile_config(self) -> dict:
        """loss, loss_weights and metrics by output name (what ``compile`` takes back)."""
        specs = self.model._metric_specs
        return {"loss": {n: gnlosses.serialize(loss) for n, loss in zip(self.names,
                                                                          self.losses)},
                "loss_weights": dict(zip(self.names, self.weights)),
                "metrics": {n: [s if isinstance(s, str) else gnmetrics.serialize(s)
                                for s in wanted] for n, wanted in zip(self.names, specs)},
                "weighted_metrics": None}

    def __repr__(self) -> str:
        return "<OutputLosses " + ", ".join(f"{n}: {w:g} x {loss.name}" for n, w, loss in zip(
            self.names, self.weights, self.losses)) + ">"


class OutputMetric(gnmetrics.Metric):
    """A metric of one output, named ``<output>_<metric>`` as Keras 3 logs it."""

    weighs_samples = False  # as Keras: sample weights weigh the losses, not ``metrics``

    def __init__(self, losses: OutputLosses, index: int, name: str, metric):
        self._losses, self.index, self.metric = losses, index, metric
        super().__init__(name=name)

    def reset_state(self) -> None:
        self.metric.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        target = self._losses.split_targets(y_true)[self.index]
        self.metric.update_state(target, self._losses.split_outputs(y_pred)[self.index],
                                 sample_weight)

    def result(self):
        return self.metric.result()


class OutputLoss(OutputMetric):
    """One output's own loss (before its loss weight), averaged over the samples seen:
    ``<output>_loss``."""

    weighs_samples = True  # the loss itself does

    def __init__(self, losses: OutputLosses, index: int, name: str):
        super().__init__(losses, index, name, None)

    def reset_state(self) -> None:
        self._total, self._count = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        from glassnet.losses import _reduce

        target = self._losses.split_targets(y_true)[self.index]
        out = self._losses.split_outputs(y_pred)[self.index]
        self._total += _reduce(self._losses.losses[self.index].per_sample(target, out),
                               sample_weight) * len(out)
        self._count += len(out)

    def result(self):
        return self._total / max(self._count, 1)


__all__ = ["OutputLosses", "compile_outputs", "single_output_specs"]
