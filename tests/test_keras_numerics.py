"""Same start, same batches, same optimizer: glassnet ends where Keras 3 ended.

Each fixture in tests/data/keras_numerics/ was made by scripts/make_keras_fixtures.py
with the real Keras 3 (torch backend, float32): the data, the initial weights, the
final weights after ``fit(shuffle=False)``, Keras's per-epoch loss and its running
loss after each batch, and (in the safetensors metadata) a JSON ``case`` describing
the layers, the loss and the optimizer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Dense, Input

FIXTURES = sorted((Path(__file__).parent / "data" / "keras_numerics").glob("*.safetensors"))

# float32 training for 15 steps: Adam divides by sqrt(v), which magnifies the last
# bits of tiny gradients, so weights agree to ~3e-5 relative; the rest to ~1e-6.
RTOL, ATOL = 1e-4, 1e-5


def _load(path):
    from safetensors import safe_open

    with safe_open(str(path), "np") as handle:
        case = json.loads(handle.metadata()["case"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    return case, tensors


def _weights(tensors, prefix):
    count = sum(1 for key in tensors if key.startswith(prefix + "/"))
    return [tensors[f"{prefix}/{i}"] for i in range(count)]


def _loss(spec):
    config = spec["config"]
    kwargs = {}
    if "from_logits" in config:
        kwargs["from_logits"] = config["from_logits"]
    if spec["class"] == "Huber":
        kwargs["delta"] = spec.get("args", {}).get("delta", config.get("delta", 1.0))
    return getattr(gn.losses, spec["class"])(**kwargs)


def _optimizer(spec):
    # Keras's get_config() holds every argument; pass those glassnet shares with it.
    return getattr(gn.optimizers, spec["class"])(**spec["args"])


def _model(case):
    layers = [Input(shape=tuple(case["input_shape"]))]
    for spec in case["layers"]:
        regularizer = spec["kernel_regularizer"]
        layers.append(Dense(spec["units"], activation=spec["activation"],
                            use_bias=spec["use_bias"], name=spec["name"],
                            kernel_regularizer=gn.regularizers.L2(regularizer["l2"])
                            if regularizer else None))
    return gn.Sequential(layers)


@pytest.mark.skipif(not FIXTURES, reason="no Keras fixtures: run scripts/make_keras_fixtures.py")
@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_training_ends_with_the_weights_keras_reached(path):
    case, tensors = _load(path)
    assert case["floatx"] == "float32" and case["shuffle"] is False
    model = _model(case)
    model.set_weights(_weights(tensors, "init"))
    model.compile(optimizer=_optimizer(case["optimizer"]), loss=_loss(case["loss"]))
    batch_losses = []
    running = gn.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: batch_losses.append([]),
        on_train_batch_end=lambda batch, logs: batch_losses[-1].append(logs["loss"]))
    history = model.fit(tensors["X"], tensors["y"], batch_size=case["batch_size"],
                        epochs=case["epochs"], shuffle=False, verbose=0, callbacks=[running])

    final = _weights(tensors, "final")
    got = model.get_weights()
    assert len(got) == len(final)
    for i, (mine, theirs) in enumerate(zip(got, final, strict=True)):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{case['name']}: weight {i} ({case['weights'][i]})")
    np.testing.assert_allclose(history.history["loss"], tensors["history/loss"], rtol=RTOL,
                               err_msg=f"{case['name']}: per-epoch loss")
    np.testing.assert_allclose(batch_losses, tensors["history/batch_loss"], rtol=RTOL,
                               err_msg=f"{case['name']}: running loss after each batch")


def test_the_fixture_set_covers_every_optimizer_and_loss():
    if not FIXTURES:
        pytest.skip("no Keras fixtures")
    cases = [_load(p)[0] for p in FIXTURES]
    optimizers = {c["optimizer"]["class"] for c in cases}
    losses = {c["loss"]["class"] for c in cases}
    assert optimizers >= {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}
    assert losses >= {"MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
                      "CategoricalCrossentropy", "SparseCategoricalCrossentropy"}


@pytest.mark.skipif(not FIXTURES, reason="no Keras fixtures")
@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_optimizer_settings_and_defaults_equal_keras_config(path):
    """Every setting Keras's get_config() recorded, glassnet's optimizer has the same."""
    case, _ = _load(path)
    keras_config = case["optimizer"]["config"]
    mine = _optimizer(case["optimizer"]).get_config()
    shared = sorted(set(keras_config) & set(mine) - {"name"})
    assert {"learning_rate", "weight_decay", "clipnorm", "clipvalue"} <= set(shared)
    for key in shared:
        theirs, ours = keras_config[key], mine[key]
        if isinstance(theirs, float) and ours is not None:
            assert ours == pytest.approx(theirs, rel=1e-7), key  # Keras holds float32
        else:
            assert ours == theirs, key
