"""Small helpers with Keras's names: seeding, one-hot labels, clearing layer names,
a picture of the model (``plot_model``)."""

from __future__ import annotations

import numpy as np

from glassnet.errors import DataError
from glassnet.random import set_random_seed


def to_categorical(y, num_classes=None, dtype="float32") -> np.ndarray:
    """Integer labels (n,) -> one-hot matrix (n, num_classes)."""
    labels = np.asarray(y).reshape(-1)
    if labels.size and (labels.min() < 0 or np.any(labels != np.round(labels))):
        raise DataError("to_categorical expects non-negative integer labels")
    labels = labels.astype(int)
    k = int(num_classes) if num_classes is not None else (int(labels.max()) + 1 if labels.size
                                                           else 0)
    if labels.size and labels.max() >= k:
        raise DataError(f"label {labels.max()} does not fit num_classes={k}")
    out = np.zeros((labels.size, k), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def plot_model(model, to_file="model.png", **kwargs):
    """Draw the model's layers, weights and biases counted apart, to ``to_file``
    (.svg without any dependency; .png/.pdf with matplotlib). See glassnet.report.plot_model."""
    from glassnet.report.plot_model import plot_model as draw

    return draw(model, to_file, **kwargs)


def clear_session() -> None:
    """Forget generated layer names, so the next model's layers are ``dense``, ``dense_1``..."""
    from glassnet.layers import reset_names

    reset_names()


__all__ = ["clear_session", "plot_model", "set_random_seed", "to_categorical"]
