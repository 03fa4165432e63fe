"""Train the 64-25-15-10 digits network, record it, and look at its weights and biases.

Run:  python examples/digits.py      (records into ./glassnet-runs; `glassnet runs` lists it)

The same steps as `glassnet demo`, written out with the Keras-shaped API.
"""

import numpy as np

import glassnet as gn
from glassnet.layers import Dense, Input, Normalization

gn.utils.set_random_seed(0)
X, y = gn.datasets.load_digits()                      # 1,797 images of 8x8 pixels, labels 0-9

# a stratified 80/20 split: a fifth of every digit is held out for the test
rng = np.random.default_rng(0)
test = np.concatenate([rng.permutation(np.flatnonzero(y == d))[:round((y == d).sum() * 0.2)]
                       for d in range(10)])
train = np.setdiff1d(np.arange(len(y)), test)

norm = Normalization()
norm.adapt(X[train])                                  # standardise with the training rows only
model = gn.Sequential([
    Input(shape=(64,)),
    norm,
    Dense(25, activation="relu"),
    Dense(15, activation="relu"),
    Dense(10, activation="linear"),                   # logits: softmax is fused into the loss
])
model.compile(optimizer="adam",
              loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.summary()

with gn.track.init(project="digits", name="example",
                   config={"hidden": [25, 15], "activation": "relu", "epochs": 30}) as run:
    run.log_dataset("digits", X=X[train], y=y[train])
    model.fit(X[train], y[train], epochs=30, batch_size=32, verbose=0,
              callbacks=[run.watch(log_freq=10, snapshots="epoch")])
    loss, accuracy = model.evaluate(X[test], y[test])
    run.log({"test/loss": loss, "test/accuracy": accuracy})
    run.log_model(model, "digits-mlp")

print(gn.inspect.describe(model))                     # every kernel and bias, described
for table in gn.report.tables(run.id).values():      # the ten tables of the run
    print(table)
for finding in gn.inspect.diagnose(model, X[train], y[train]):
    print(finding)
print(f"test accuracy: {accuracy * 100:.1f}%   (run {run.id})")
