"""Which input features matter to a trained model: permutation, weight paths, gradient × input.

A large weight is not an important feature: a weight's size depends on the scale of
its input (a feature in dollars gets a tiny weight, the same feature in thousands of
dollars a weight 1000× larger). ``"permutation"`` measures what the model loses when a
feature is shuffled, and is the one to trust; ``"weights"`` (sum over paths of the
products of |W|) and ``"gradient_x_input"`` are cheap views that ignore (weights) or
include (gradient × input) the scale of the inputs. See examples/importance_scales.py.
"""

from __future__ import annotations

import numpy as np

from glassnet._engine.table import Table
from glassnet.errors import ConfigError, NotCompiledError, unknown_name
from glassnet.inspect.propagation import (
    LayerPass,
    backward,
    forward,
    output_gradient,
    require_one_input_and_output,
)
from glassnet.io.frameworks import as_glassnet

METHODS = ("gradient_x_input", "permutation", "weights")


def importance(model, X, y=None, method: str = "permutation", feature_names=None,
               n_repeats: int = 5, seed: int = 0) -> Table:
    """Rank the input features of ``model`` by importance, most important first.

    Methods
    -------
    permutation
        Increase of the model's loss on (X, y) when one feature's column is shuffled,
        averaged over ``n_repeats`` seeded shuffles (``std`` is their spread). Needs y
        and a compiled model.
    weights
        Σ over paths from the feature to every output of the product of |W| along the
        path: the row sums of |W1| |W2| ... |Wk|. Ignores the data and its scale.
    gradient_x_input
        Mean over samples of |x_j · ∂s/∂x_j|, where s is the output logit (pre-activation)
        of the predicted class (the single output for one-output models).
    """
    model = as_glassnet(model)  # a PyTorch or Keras Sequential: its glassnet copy
    require_one_input_and_output(model, "importance")
    if method not in METHODS:
        raise unknown_name("importance method", method, METHODS)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ConfigError(f"importance needs X of shape (n_samples, n_features), got {X.shape}")
    names = list(feature_names) if feature_names is not None else \
        [f"x{j}" for j in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise ConfigError(f"feature_names has {len(names)} names for {X.shape[1]} features")
    spread = None
    if method == "permutation":
        scores, spread = _permutation(model, X, y, n_repeats, seed)
        unit = "loss increase"
    elif method == "weights":
        scores = _weight_paths(model)
        unit = "Σ path |W| products"
    else:
        scores = _gradient_x_input(model, X)
        unit = "mean |x · ∂logit/∂x|"
    order = np.argsort(-scores, kind="stable")
    total = float(np.sum(np.abs(scores)))
    rows = []
    for rank, j in enumerate(order, start=1):
        share = float(abs(scores[j]) / total) if total > 0 else float("nan")
        row = [rank, names[j], float(scores[j]), share]
        if spread is not None:
            row.append(float(spread[j]))
        rows.append(row)
    columns = ["rank", "feature", "importance", "share"] + (["std"] if spread is not None else [])
    return Table(columns, rows, title=f"Feature importance of {model.name!r} ({method})",
                 notes=[f"importance = {unit}; share = its part of the total"])


def _permutation(model, X, y, n_repeats, seed):
    if y is None:
        raise ConfigError("importance(method='permutation') needs y to measure the loss")
    if getattr(model, "loss", None) is None:
        raise NotCompiledError(f"model {model.name!r} has no loss: compile it before "
                               f"permutation importance")
    if not isinstance(n_repeats, int) or n_repeats < 1:
        raise ConfigError(f"n_repeats must be a positive int, got {n_repeats!r}")
    rng = np.random.default_rng(seed)

    def loss_of(data) -> float:
        return output_gradient(model, forward(model, data), y)[0]

    baseline = loss_of(X)
    increases = np.empty((X.shape[1], n_repeats))
    shuffled = X.copy()
    for j in range(X.shape[1]):
        for r in range(n_repeats):
            shuffled[:, j] = X[rng.permutation(X.shape[0]), j]
            increases[j, r] = loss_of(shuffled) - baseline
        shuffled[:, j] = X[:, j]
    return increases.mean(axis=1), increases.std(axis=1)


def _weight_paths(model) -> np.ndarray:
    if not model.is_chain:
        raise ConfigError(f"importance(method='weights') multiplies a chain of kernels; "
                          f"model {model.name!r} is a branched graph: use 'permutation' or "
                          f"'gradient_x_input'")
    from glassnet.layers import Dense

    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    if not dense:
        raise ConfigError(f"model {model.name!r} has no Dense layer to read weights from")
    product = np.abs(dense[0].kernel.value.astype(np.float64))
    for layer in dense[1:]:
        product = product @ np.abs(layer.kernel.value.astype(np.float64))
    return product.sum(axis=1)


def _gradient_x_input(model, X) -> np.ndarray:
    passes = forward(model, X)
    last_dense = max(i for i, p in enumerate(passes) if p.has_kernel)
    passes = passes[:last_dense + 1]
    last: LayerPass = passes[-1]
    logits = last.z
    chosen = logits.argmax(axis=1)
    seed = np.zeros_like(logits)
    seed[np.arange(logits.shape[0]), chosen] = 1.0
    last.dz = seed  # ∂s/∂z of the output layer: one-hot at the predicted class
    dx = backward(model, passes)
    return np.abs(X * dx).mean(axis=0)
