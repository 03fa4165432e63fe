"""Each optimizer's steps checked against its update rule, written here independently.

The reference rules are Keras 3's (keras/src/optimizers/*.py, the `update_step` of
each class), restated in plain NumPy with one line per formula. Order within a step,
as Keras's ``BaseOptimizer.apply``: clip the gradients, apply weight decay
``w <- w - w * weight_decay * lr``, then the update rule. t counts steps from 1.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ConfigError
from glassnet.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop

RNG = np.random.default_rng(0)
W0 = RNG.normal(size=7)
GRADS = [RNG.normal(size=7) for _ in range(3)]
SEGMENTS = [slice(0, 4), slice(4, 7)]  # two "variables": a (2, 2) kernel and a (3,) bias


# -- the reference rules, one function per optimizer: (w, g, state, t) -> w -------------
def sgd(lr):
    def step(w, g, state, t):
        return w - lr * g
    return step


def sgd_momentum(lr, momentum, nesterov=False):
    def step(w, g, state, t):
        m = state.get("m", np.zeros_like(w))
        m = momentum * m - lr * g
        state["m"] = m
        return w + momentum * m - lr * g if nesterov else w + m
    return step


def adam(lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    def step(w, g, state, t):
        m = state.get("m", np.zeros_like(w)) + (g - state.get("m", np.zeros_like(w))) * (
            1 - beta_1)
        v = state.get("v", np.zeros_like(w)) + (g**2 - state.get("v", np.zeros_like(w))) * (
            1 - beta_2)
        state["m"], state["v"] = m, v
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        if amsgrad:
            v = np.maximum(state.get("v_hat", np.zeros_like(w)), v)
            state["v_hat"] = v
        return w - alpha * m / (np.sqrt(v) + epsilon)
    return step


def rmsprop(lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    def step(w, g, state, t):
        velocity = rho * state.get("velocity", np.zeros_like(w)) + (1 - rho) * g**2
        state["velocity"] = velocity
        if centered:
            average = rho * state.get("average", np.zeros_like(w)) + (1 - rho) * g
            state["average"] = average
            denominator = velocity - average**2 + epsilon
        else:
            denominator = velocity + epsilon
        increment = lr * g / np.sqrt(denominator)
        if momentum > 0:
            state["m"] = momentum * state.get("m", np.zeros_like(w)) + increment
            return w - state["m"]
        return w - increment
    return step


def adagrad(lr, initial_accumulator_value=0.1, epsilon=1e-7):
    def step(w, g, state, t):
        accumulator = state.get("acc", np.full_like(w, initial_accumulator_value)) + g**2
        state["acc"] = accumulator
        return w - lr * g / np.sqrt(accumulator + epsilon)
    return step


def with_weight_decay(rule, lr, weight_decay):
    def step(w, g, state, t):
        return rule(w - w * weight_decay * lr, g, state, t)
    return step


CASES = {
    "sgd": (lambda: SGD(learning_rate=0.1), sgd(0.1)),
    "sgd_momentum": (lambda: SGD(learning_rate=0.1, momentum=0.9), sgd_momentum(0.1, 0.9)),
    "sgd_nesterov": (lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
                     sgd_momentum(0.1, 0.9, nesterov=True)),
    "adam": (lambda: Adam(learning_rate=0.01), adam(0.01)),
    "adam_custom_betas": (lambda: Adam(learning_rate=0.02, beta_1=0.8, beta_2=0.99,
                                       epsilon=1e-3), adam(0.02, 0.8, 0.99, 1e-3)),
    "adam_amsgrad": (lambda: Adam(learning_rate=0.01, amsgrad=True), adam(0.01, amsgrad=True)),
    "adamw": (lambda: AdamW(learning_rate=0.01, weight_decay=0.1),
              with_weight_decay(adam(0.01), 0.01, 0.1)),
    "adamw_default_decay": (lambda: AdamW(learning_rate=0.01),
                            with_weight_decay(adam(0.01), 0.01, 0.004)),
    "rmsprop": (lambda: RMSprop(learning_rate=0.01), rmsprop(0.01)),
    "rmsprop_momentum": (lambda: RMSprop(learning_rate=0.01, momentum=0.5),
                         rmsprop(0.01, momentum=0.5)),
    "rmsprop_centered": (lambda: RMSprop(learning_rate=0.01, centered=True),
                         rmsprop(0.01, centered=True)),
    "rmsprop_centered_momentum": (
        lambda: RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5, centered=True),
        rmsprop(0.01, rho=0.8, momentum=0.5, centered=True)),
    "adagrad": (lambda: Adagrad(learning_rate=0.05), adagrad(0.05)),
    "sgd_weight_decay": (lambda: SGD(learning_rate=0.1, weight_decay=0.05),
                         with_weight_decay(sgd(0.1), 0.1, 0.05)),
    "adam_weight_decay": (lambda: Adam(learning_rate=0.01, weight_decay=0.2),
                          with_weight_decay(adam(0.01), 0.01, 0.2)),
}


def _run_glassnet(optimizer, steps):
    params, grads = W0.copy(), np.zeros_like(W0)
    optimizer.build(params, grads, SEGMENTS)
    for g in GRADS[:steps]:
        grads[...] = g
        optimizer.step()
    return params


def _run_reference(rule, steps):
    w, state = W0.copy(), {}
    for t, g in enumerate(GRADS[:steps], start=1):
        w = rule(w, g, state, t)
    return w


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("name", list(CASES))
def test_update_matches_the_keras_formula(name, steps):
    make, rule = CASES[name]
    np.testing.assert_allclose(_run_glassnet(make(), steps), _run_reference(rule, steps),
                               rtol=1e-12, atol=1e-14)
    assert not np.allclose(_run_reference(rule, steps), W0)  # the step really moved w


def test_first_adam_step_moves_each_weight_by_about_the_learning_rate():
    # A closed form: after one step m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1,
    # so w moves by lr * g / (|g| + eps / sqrt(0.001)) ~ lr * sign(g).
    moved = W0 - _run_glassnet(Adam(learning_rate=0.01), 1)
    g = GRADS[0]
    np.testing.assert_allclose(moved, 0.01 * g / (np.abs(g) + 1e-7 / np.sqrt(0.001)),
                               rtol=1e-12)
    np.testing.assert_allclose(moved, 0.01 * np.sign(g), rtol=1e-3)


def test_clipvalue_clips_each_gradient_entry():
    big = [g * 10 for g in GRADS]
    optimizer = SGD(learning_rate=0.1, clipvalue=0.5)
    params, grads = W0.copy(), np.zeros_like(W0)
    optimizer.build(params, grads, SEGMENTS)
    grads[...] = big[0]
    optimizer.step()
    np.testing.assert_allclose(params, W0 - 0.1 * np.clip(big[0], -0.5, 0.5), rtol=1e-12)


def test_clipnorm_scales_each_variable_to_at_most_the_norm():
    # Keras: g * clipnorm / max(||g||, clipnorm), per variable.
    optimizer = SGD(learning_rate=1.0, clipnorm=0.5)
    params, grads = W0.copy(), np.zeros_like(W0)
    optimizer.build(params, grads, SEGMENTS)
    g = GRADS[0] * 3
    grads[...] = g
    optimizer.step()
    expected = W0.copy()
    for segment in SEGMENTS:
        piece = g[segment]
        expected[segment] -= piece * 0.5 / max(np.linalg.norm(piece), 0.5)
    np.testing.assert_allclose(params, expected, rtol=1e-12)


def test_clipnorm_leaves_a_small_gradient_alone():
    optimizer = SGD(learning_rate=1.0, clipnorm=1e6)
    np.testing.assert_allclose(_run_glassnet(optimizer, 1), W0 - GRADS[0], rtol=1e-12)


def test_global_clipnorm_scales_all_gradients_together():
    optimizer = SGD(learning_rate=1.0, global_clipnorm=0.5)
    params, grads = W0.copy(), np.zeros_like(W0)
    optimizer.build(params, grads, SEGMENTS)
    grads[...] = GRADS[0]
    optimizer.step()
    norm = np.linalg.norm(GRADS[0])
    np.testing.assert_allclose(params, W0 - GRADS[0] * 0.5 / max(norm, 0.5), rtol=1e-12)


def test_only_one_clipping_argument_is_accepted_as_in_keras():
    with pytest.raises(ConfigError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ConfigError, match="only one of"):
        Adam(clipnorm=1.0, global_clipnorm=1.0)


def test_optimizer_updates_the_model_weights_in_place(float64):
    """Through a model: the optimizer's flat buffer is the Variables' storage."""
    model = gn.Sequential([gn.layers.Input(shape=(2,)), gn.layers.Dense(1)])
    model.set_weights([[[1.0], [2.0]], [0.5]])
    model.compile(optimizer=SGD(learning_rate=0.1, momentum=0.9), loss="mse")
    x, y = np.array([[1.0, 1.0]]), np.array([[0.0]])
    # y_pred = 3.5; dL/dy_pred = 7; dW = (7, 7), db = 7; m = -0.7; w = w - 0.7
    model.train_on_batch(x, y)
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), [[0.3], [1.3]], atol=1e-12)
    np.testing.assert_allclose(model.layers[0].bias.numpy(), [-0.2], atol=1e-12)
    # Second step: y_pred = 1.4, g = 2.8; m = 0.9 * -0.7 - 0.28 = -0.91.
    model.train_on_batch(x, y)
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), [[-0.61], [0.39]], atol=1e-12)


def test_learning_rate_can_be_changed_between_steps():
    optimizer = SGD(learning_rate=0.1)
    params, grads = W0.copy(), np.zeros_like(W0)
    optimizer.build(params, grads, SEGMENTS)
    grads[...] = GRADS[0]
    optimizer.learning_rate = 0.01
    optimizer.step()
    np.testing.assert_allclose(params, W0 - 0.01 * GRADS[0], rtol=1e-12)
    assert optimizer.iterations == 1


@pytest.mark.parametrize("name, cls", [("sgd", SGD), ("adam", Adam), ("adamw", AdamW),
                                       ("rmsprop", RMSprop), ("adagrad", Adagrad),
                                       ("Adam", Adam), ("SGD", SGD)])
def test_names_resolve_to_keras_defaults(name, cls):
    optimizer = gn.optimizers.get(name)
    assert type(optimizer) is cls
    defaults = {SGD: 0.01, Adam: 0.001, AdamW: 0.001, RMSprop: 0.001, Adagrad: 0.001}
    assert optimizer.learning_rate == defaults[cls]


def test_keras_default_hyperparameters():
    adam_ = Adam()
    assert (adam_.beta_1, adam_.beta_2, adam_.epsilon, adam_.amsgrad) == (0.9, 0.999, 1e-7,
                                                                        False)
    assert AdamW().weight_decay == 0.004
    rms = RMSprop()
    assert (rms.rho, rms.momentum, rms.epsilon, rms.centered) == (0.9, 0.0, 1e-7, False)
    assert Adagrad().initial_accumulator_value == 0.1
    assert (SGD().momentum, SGD().nesterov) == (0.0, False)


def test_config_round_trip_rebuilds_the_same_optimizer():
    original = RMSprop(learning_rate=0.02, rho=0.8, momentum=0.3, centered=True, clipnorm=2.0)
    copy = gn.optimizers.get(gn.optimizers.serialize(original))
    assert type(copy) is RMSprop and copy.get_config() == original.get_config()
