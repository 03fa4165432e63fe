"""What to say when the training loss turns NaN or inf: one warning naming where it began.

``fit`` already has each batch's loss as a float; it calls :func:`warn_nonfinite` the
first time that float is not finite, and only then are the layers looked at. The
activations of the batch that gave the non-finite loss are still in each Dense layer
(``last_output``), computed with the weights as they were before the step, so the
first layer whose activations are non-finite is where the numbers broke down.
"""

from __future__ import annotations

import math
import warnings

import numpy as np


class NonFiniteLossWarning(RuntimeWarning):
    """The training loss became NaN or infinite (warned once per ``fit``)."""


def warn_nonfinite(model, loss: float, epoch: int, step: int, batch_x: np.ndarray,
                   callbacks=()) -> bool:
    """Warn that the loss of (epoch, step) is ``loss``, naming the layer where it began."""
    where = _first_nonfinite(model.layers, batch_x)
    rate = getattr(model.optimizer, "learning_rate", None)
    advice = [f"a smaller learning rate (now {rate:g})" if isinstance(rate, (int, float))
              else "a smaller learning rate",
              "scaled inputs (a Normalization layer adapted on X)"]
    from glassnet.callbacks import TerminateOnNaN

    stop = "" if any(isinstance(c, TerminateOnNaN) for c in callbacks) else \
        " Pass callbacks=[TerminateOnNaN()] to stop at the first non-finite loss."
    warnings.warn(
        f"the loss became {loss} at epoch {epoch + 1}, batch {step + 1}: {where}. "
        f"Try {' or '.join(advice)}.{stop}", NonFiniteLossWarning, stacklevel=4)
    return True


def _first_nonfinite(layers, batch_x: np.ndarray) -> str:
    """Which layer's activations (or else weights) first hold NaN or inf, in words."""
    previous = batch_x
    all_seen = True
    for layer in layers:
        output = getattr(layer, "last_output", None)
        if output is None:
            previous = None  # a layer that keeps no activations: its output is unknown
            all_seen = all_seen and not layer.weights
            continue
        if not _finite(output):
            kind = "NaN" if np.isnan(output).any() else "inf"
            inputs = ""
            if previous is not None:
                inputs = f" from finite inputs up to {_largest(previous):.3g} in size"
            return (f"layer {layer.name!r} is the first whose activations hold {kind}"
                    f"{inputs} (its weights {_largest_weight(layer)}): its weights or "
                    f"inputs are too large")
        previous = output
    if not all_seen:  # after the step, so only a hint: the update may have broken them
        for layer in layers:
            broken = [v.name for v in layer.weights if not _finite(v.value)]
            if broken:
                return (f"layer {layer.name!r} is the first with non-finite weights "
                        f"({', '.join(broken)})")
    size = f" (the outputs reach {_largest(previous):.3g})" if previous is not None else ""
    return (f"every layer's activations are finite{size}: the loss itself overflowed, "
            f"the outputs are too far from the targets")


def _finite(array: np.ndarray) -> bool:
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(math.isfinite(np.add.reduce(array, axis=None))) or \
            bool(np.isfinite(array).all())


def _largest(array: np.ndarray) -> float:
    finite = np.abs(array[np.isfinite(array)])
    return float(finite.max()) if finite.size else math.nan


def _largest_weight(layer) -> str:
    values = [_largest(v.value) for v in layer.weights if v.value.size]
    if not values:
        return "are none"
    largest = max(values)
    return ("are NaN after this step" if math.isnan(largest)
            else f"reach {largest:.3g} after this step")


__all__ = ["NonFiniteLossWarning", "warn_nonfinite"]
