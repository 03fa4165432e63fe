"""A large weight is not an important feature: raw weights vs permutation importance.

House prices from three features in their own units:
  size_sqft     (500 - 3500 square feet)    — drives the price: $150 per square foot
  bedrooms      (1 - 5)                      — matters a little: $10,000 per bedroom
  noise         (0 - 1, unrelated to price)  — does not matter at all
The fitted weights are 150 for size and 10,000 for bedrooms, so ranking features by
|weight| puts bedrooms first. But size moves the price by ±$130,000 across the data,
bedrooms by ±$14,000: shuffling size ruins the predictions, shuffling bedrooms barely
hurts. Permutation importance (and gradient × input, which includes the scale) rank
size first; the raw weights get it wrong because the features have different scales.

Run:  .venv/bin/python examples/importance_scales.py
"""

from __future__ import annotations

import numpy as np

import glassnet as gn
from glassnet.layers import Dense, Input

FEATURES = ["size_sqft", "bedrooms", "noise"]


def make_data(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    size = rng.uniform(500, 3500, n)
    bedrooms = rng.integers(1, 6, n).astype(float)
    noise = rng.uniform(0, 1, n)
    price = 150.0 * size + 10_000.0 * bedrooms + 50_000.0 + rng.normal(0, 5_000, n)
    X = np.column_stack([size, bedrooms, noise])
    return X, price / 1000.0  # price in $1000s


def fitted_model(X, y):
    """A one-unit linear model with the least-squares weights (what training converges to)."""
    gn.backend.set_floatx("float64")
    try:
        model = gn.Sequential([Input(shape=(X.shape[1],)), Dense(1, name="price")])
    finally:
        gn.backend.set_floatx("float32")
    design = np.column_stack([X, np.ones(len(X))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    model.set_weights([solution[:-1].reshape(-1, 1), solution[-1:]])
    model.compile(optimizer="sgd", loss="mse")
    return model


def main() -> dict:
    X, y = make_data()
    model = fitted_model(X, y)
    print(gn.inspect.describe(model))
    rankings = {}
    for method in ("weights", "permutation", "gradient_x_input"):
        table = gn.inspect.importance(model, X, y, method=method, feature_names=FEATURES)
        print(table)
        rankings[method] = table["feature"]
    print("ranked by |weight|:        ", " > ".join(rankings["weights"]))
    print("ranked by permutation:     ", " > ".join(rankings["permutation"]))
    return rankings


if __name__ == "__main__":
    main()
