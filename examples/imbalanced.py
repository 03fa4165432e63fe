"""Imbalanced data: start the output bias at the prior's log-odds, then compare.

Run:  python examples/imbalanced.py

With 1% positives, an output bias of 0 makes the untrained network predict 50% for
everyone, and the first epochs go into learning the base rate. Starting the bias at
log(p / (1 - p)) makes it predict p from the first step.
"""

import math

import numpy as np

import glassnet as gn
from glassnet.layers import Dense, Input, Normalization

X, y = gn.datasets.load_fraud()                       # 20,000 transactions, 1% fraudulent
rng = np.random.default_rng(0)
test = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:round((y == c).sum() * 0.2)]
                       for c in (0, 1)])
train = np.setdiff1d(np.arange(len(y)), test)
y_train = y[train].reshape(-1, 1).astype("float32")
p = float(y_train.mean())
log_odds = math.log(p / (1 - p))
print(f"p = {p:.4f}, log(p / (1 - p)) = {log_odds:.4f}")

for label, bias in (("bias 0", 0.0), ("bias log-odds", log_odds)):
    gn.utils.set_random_seed(0)
    norm = Normalization()
    norm.adapt(X[train])
    model = gn.Sequential([Input(shape=(X.shape[1],)), norm, Dense(16, activation="relu"),
                           Dense(1, activation="sigmoid", name="output")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.get_layer("output").bias.assign(np.array([bias]))
    before = model.evaluate(X[train], y_train)[0]
    model.fit(X[train], y_train, epochs=5, batch_size=32, verbose=0)
    predicted = model.predict(X[test], verbose=0)[:, 0] >= 0.5
    actual = y[test] == 1
    true_positives = np.sum(predicted & actual)
    recall = true_positives / actual.sum()
    precision = true_positives / max(predicted.sum(), 1)
    after = float(model.get_layer("output").bias.numpy()[0])
    print(f"{label:>14}: loss before training {before:.4f}, bias {bias:.4f} -> {after:.4f}, "
          f"recall {recall:.3f}, precision {precision:.3f}")
