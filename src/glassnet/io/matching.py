"""Putting weights read from a file into a model: by position, checked, and said when odd.

Keras matches a weights file to a model by position (the n-th layer's n-th
variable), never by the layer names a fresh model generates (``dense_7`` in a new
session is ``dense`` in the one that saved). ``by_position`` does the same for
glassnet's own files, which record their Variables in model order. Every pairing is
checked before the first weight is set, so a file that does not fit leaves the model
as it was.

A file's weights may be NaN or infinite (a run that diverged before it was saved).
They are loaded, as Keras loads them, but ``warn_non_finite`` says so, naming each
such variable, with a ``NonFiniteWeightsWarning``.
"""

from __future__ import annotations

import warnings

import numpy as np

from glassnet.errors import FileFormatError, ShapeError


class NonFiniteWeightsWarning(UserWarning):
    """Weights loaded from a file hold NaN or infinite values."""


class WeightShapeError(FileFormatError, ShapeError):
    """A file's weights do not fit the model's Variables (both a file and a shape error)."""


def by_position(model, ordered: list[tuple[str, np.ndarray]], where) -> list:
    """Pair each Variable of ``model`` with the array at its position in ``ordered``.

    ``ordered`` is (name in the file, array), in the model order of the model that
    wrote the file. Returns (variable, array) pairs; raises ``WeightShapeError``
    naming the layer and variable that do not fit.
    """
    slots = [(layer, variable) for layer in model.layers for variable in layer.weights]
    if len(slots) != len(ordered):
        raise WeightShapeError(f"{where}: the file holds {len(ordered)} weight arrays, "
                               f"model {model.name!r} has {len(slots)} Variables")
    pairs = []
    for i, ((layer, variable), (name, array)) in enumerate(zip(slots, ordered, strict=True)):
        if tuple(array.shape) != tuple(variable.shape):
            raise WeightShapeError(
                f"{where}: weight array {i} ({name!r}) has shape {tuple(array.shape)}, "
                f"layer {layer.name!r} variable {variable.name!r} needs "
                f"{tuple(variable.shape)}")
        if array.dtype.kind not in "fiub":
            raise FileFormatError(f"{where}: {name!r} is {array.dtype}, not numbers")
        pairs.append((variable, array))
    return pairs


def warn_non_finite(pairs, where) -> None:
    """Warn once, naming every variable whose array holds NaN or infinity."""
    bad = [f"{variable.path!r}" for variable, array in pairs
           if np.asarray(array).dtype.kind == "f" and not np.isfinite(array).all()]
    if bad:
        warnings.warn(f"{where}: weights hold NaN or infinite values in {', '.join(bad)}; "
                      f"loaded as they are (predictions may be NaN)",
                      NonFiniteWeightsWarning, stacklevel=4)


def set_all(pairs, where) -> None:
    """Set every variable from its array, after warning about non-finite ones."""
    warn_non_finite(pairs, where)
    for variable, array in pairs:
        variable.value[...] = array
