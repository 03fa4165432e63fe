"""Backpropagation checked against central finite differences, in float64.

For every activation x every loss, a network holding every layer type (Flatten,
Dense, Dropout, Normalization, Activation) with L1/L2 penalties and sample weights
is differentiated twice:

- analytically, by the engine's own training path: ``Trainer.forward(x)`` then
  ``Trainer.loss_and_backward(y, sample_weight, output)``, which also takes the
  fused softmax/sigmoid + cross-entropy shortcut wherever the engine uses it;
- numerically, by nudging each weight and bias by +-h and re-evaluating the
  model's loss (inference forward with the same dropout mask applied + loss +
  regularization penalty): (L(w + h) - L(w - h)) / (2 h).

Relative error (per Variable, ||analytic - numeric|| / (||analytic|| + ||numeric||))
must stay below 1e-6. Kinks are avoided by the data: targets sit at least 0.4 away
from the outputs (MAE and Huber), ReLU-family inputs are random, so no z is near 0.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Activation, Dense, Dropout, Flatten, Input, Normalization
from glassnet.regularizers import L1, L1L2, L2

ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "gelu",
               "softplus", "silu"]

# loss name -> (loss factory, target kind)
LOSSES = {
    "mse": (lambda: gn.losses.MeanSquaredError(), "regression"),
    "mae": (lambda: gn.losses.MeanAbsoluteError(), "regression"),
    "huber": (lambda: gn.losses.Huber(delta=1.0), "regression"),
    "binary_ce": (lambda: gn.losses.BinaryCrossentropy(), "binary"),
    "binary_ce_logits": (lambda: gn.losses.BinaryCrossentropy(from_logits=True), "binary"),
    "categorical_ce": (lambda: gn.losses.CategoricalCrossentropy(), "onehot"),
    "categorical_ce_logits": (lambda: gn.losses.CategoricalCrossentropy(from_logits=True),
                              "onehot"),
    "sparse_ce": (lambda: gn.losses.SparseCategoricalCrossentropy(), "sparse"),
    "sparse_ce_logits": (
        lambda: gn.losses.SparseCategoricalCrossentropy(from_logits=True), "sparse"),
}

N_SAMPLES = 7
N_CLASSES = 3
STEP = 1e-6
TOLERANCE = 1e-6


def _output_layers(loss, target, activation):
    """The head for a loss: probabilities for cross-entropy, logits with from_logits.

    Regression heads end in the activation under test, so each activation is also
    checked as an output (not fused with anything).
    """
    # A non-zero bias: a sample whose hidden ReLUs are all off would otherwise sit at
    # z = 0 exactly, on the kink of a ReLU-family output.
    bias = "random_normal"
    if target == "regression":
        return [Dense(N_CLASSES, activation=activation, bias_initializer=bias)]
    if target == "binary":
        return [Dense(1, activation=None if loss.from_logits else "sigmoid",
                      bias_initializer=bias)]
    return [Dense(N_CLASSES, activation=None if loss.from_logits else "softmax",
                  bias_initializer=bias)]


def _build(activation, loss, target, head=None):
    rng = np.random.default_rng(0)
    layers = [
        Input(shape=(2, 3)),
        Flatten(),
        Dense(5, activation=activation, kernel_regularizer=L2(0.01), bias_regularizer=L1(0.02),
              bias_initializer="random_normal"),
        Dropout(0.3, seed=7),
        Normalization(mean=rng.normal(0, 0.1, 5), variance=rng.uniform(0.5, 2.0, 5)),
        Dense(4, kernel_regularizer=L1L2(l1=0.01, l2=0.02), bias_initializer="random_uniform"),
        Activation(activation),
    ]
    layers += head if head is not None else _output_layers(loss, target, activation)
    model = gn.Sequential(layers)
    model.compile(optimizer="sgd", loss=loss)
    return model


def _targets(target, output, rng):
    n = output.shape[0]
    if target == "regression":
        # |y - y_pred| in [0.4, 2]: away from MAE's kink, on both sides of Huber's delta.
        return output + rng.choice([-1.0, 1.0], output.shape) * rng.uniform(0.4, 2.0,
                                                                               output.shape)
    if target == "binary":
        return rng.integers(0, 2, (n, 1)).astype(np.float64)
    labels = rng.integers(0, N_CLASSES, n)
    return labels if target == "sparse" else np.eye(N_CLASSES)[labels]


def _inference_with_mask(model, x, masks):
    """Forward in inference mode, but applying the dropout mask the training pass drew."""
    for layer in model.layers:
        if isinstance(layer, Dropout):
            x = x * masks[layer.name]
        else:
            x = layer.forward(x, training=False)
    return x


def _model_loss(model, x, y, sample_weight, masks):
    output = _inference_with_mask(model, x, masks)
    # As Keras: penalties of trainable weights only (a frozen layer's is a constant).
    penalty = sum(v.regularizer(v.value) for v in model.trainable_variables
                  if v.regularizer is not None)
    return model.loss(y, output, sample_weight) + penalty


def _check(model, target, sample_weight, rng):
    x = rng.normal(0.0, 1.0, (N_SAMPLES, 2, 3))
    trainer = model._get_trainer()
    output = trainer.forward(x)
    masks = {layer.name: layer._mask.copy() for layer in model.layers
             if isinstance(layer, Dropout)}
    assert all(((m == 0) | np.isclose(m, 1 / 0.7)).all() for m in masks.values())
    y = _targets(target, output.copy(), rng)
    prepared = model.loss.prepare_targets(y, model.output_shape)
    analytic_loss = trainer.loss_and_backward(prepared, sample_weight, output)
    analytic = {v.path: v.grad.copy() for v in model.trainable_variables}

    base = _model_loss(model, x, y, sample_weight, masks)
    assert analytic_loss == pytest.approx(base, rel=1e-12, abs=1e-14)

    for variable in model.trainable_variables:
        numeric = np.zeros(variable.shape)
        for index in np.ndindex(variable.shape):
            original = variable.value[index]
            variable.value[index] = original + STEP
            plus = _model_loss(model, x, y, sample_weight, masks)
            variable.value[index] = original - STEP
            minus = _model_loss(model, x, y, sample_weight, masks)
            variable.value[index] = original
            numeric[index] = (plus - minus) / (2 * STEP)
        a = analytic[variable.path]
        scale = np.linalg.norm(a) + np.linalg.norm(numeric)
        error = np.linalg.norm(a - numeric) / scale if scale > 0 else 0.0
        assert error < TOLERANCE, (variable.path, error, a, numeric)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backprop_matches_finite_differences(float64, activation, loss_name, weighted):
    factory, target = LOSSES[loss_name]
    model = _build(activation, factory(), target)
    rng = np.random.default_rng([ACTIVATIONS.index(activation), list(LOSSES).index(loss_name)])
    sample_weight = rng.uniform(0.2, 2.0, N_SAMPLES) if weighted else None
    _check(model, target, sample_weight, rng)


# Heads that take the other paths: fused through an Activation layer, or not fused at all.
OTHER_HEADS = {
    "sigmoid_activation_layer_bce": (
        lambda: [Dense(1), Activation("sigmoid")], lambda: gn.losses.BinaryCrossentropy(),
        "binary"),
    "softmax_activation_layer_cce": (
        lambda: [Dense(N_CLASSES), Activation("softmax")],
        lambda: gn.losses.CategoricalCrossentropy(), "onehot"),
    "softmax_activation_layer_sparse": (
        lambda: [Dense(N_CLASSES), Activation("softmax")],
        lambda: gn.losses.SparseCategoricalCrossentropy(), "sparse"),
    "unfused_bce_on_tanh_probabilities": (
        # tanh of a softplus lies in (0, 1): probabilities that no fused path recognises.
        lambda: [Dense(1, activation="softplus"), Activation("tanh")],
        lambda: gn.losses.BinaryCrossentropy(), "binary"),
    "unfused_cce_on_sigmoid": (
        lambda: [Dense(N_CLASSES, activation="sigmoid")],
        lambda: gn.losses.CategoricalCrossentropy(), "onehot"),
    "unfused_sparse_on_sigmoid": (
        lambda: [Dense(N_CLASSES, activation="sigmoid")],
        lambda: gn.losses.SparseCategoricalCrossentropy(), "sparse"),
    "logits_through_linear_activation_layer": (
        lambda: [Dense(N_CLASSES), Activation("linear")],
        lambda: gn.losses.CategoricalCrossentropy(from_logits=True), "onehot"),
    "label_smoothing_softmax_cce": (
        lambda: [Dense(N_CLASSES, activation="softmax")],
        lambda: gn.losses.CategoricalCrossentropy(label_smoothing=0.1), "onehot"),
    "label_smoothing_logits_cce": (
        lambda: [Dense(N_CLASSES)],
        lambda: gn.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
        "onehot"),
    "label_smoothing_sigmoid_bce": (
        lambda: [Dense(1, activation="sigmoid")],
        lambda: gn.losses.BinaryCrossentropy(label_smoothing=0.1), "binary"),
    "label_smoothing_logits_bce": (
        lambda: [Dense(1)],
        lambda: gn.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.3), "binary"),
    "huber_small_delta": (
        lambda: [Dense(N_CLASSES, activation="tanh")], lambda: gn.losses.Huber(delta=0.5),
        "regression"),
    "no_bias_head": (
        lambda: [Dense(N_CLASSES, use_bias=False)], lambda: gn.losses.MeanSquaredError(),
        "regression"),
}


@pytest.mark.parametrize("head_name", list(OTHER_HEADS))
def test_fused_and_unfused_heads_match_finite_differences(float64, head_name):
    head, loss, target = OTHER_HEADS[head_name]
    rng = np.random.default_rng(3)
    model = _build("tanh", loss(), target, head=head())
    _check(model, target, rng.uniform(0.2, 2.0, N_SAMPLES), rng)


def test_fused_head_is_taken_where_expected(float64):
    """The cases above really exercise the fused shortcut (not only the generic path)."""
    fused = _build("relu", gn.losses.CategoricalCrossentropy(), "onehot")._get_trainer().fused
    through_layer = _build("relu", gn.losses.BinaryCrossentropy(), "binary",
                           head=[Dense(1), Activation("sigmoid")])._get_trainer().fused
    unfused = _build("relu", gn.losses.CategoricalCrossentropy(), "onehot",
                     head=[Dense(N_CLASSES, activation="sigmoid")])._get_trainer().fused
    assert (fused, through_layer, unfused) == ("dense", "activation", None)


def test_gradients_flow_through_a_frozen_layer(float64):
    """A frozen Dense in the middle still passes dx back; its own weights get no update."""
    model = _build("elu", gn.losses.CategoricalCrossentropy(from_logits=True), "onehot")
    frozen = [layer for layer in model.layers if isinstance(layer, Dense)][1]
    frozen.trainable = False
    model.compile(optimizer="sgd", loss=model.loss)
    assert frozen.kernel.path not in {v.path for v in model.trainable_variables}
    rng = np.random.default_rng(5)
    _check(model, "onehot", rng.uniform(0.2, 2.0, N_SAMPLES), rng)


def test_sparse_labels_as_a_column_give_the_same_gradients(float64):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(N_SAMPLES, 2, 3))
    labels = rng.integers(0, N_CLASSES, N_SAMPLES)
    grads = []
    for y in (labels, labels.reshape(-1, 1)):
        gn.utils.set_random_seed(0)  # the same initial weights for both models
        model = _build("gelu", gn.losses.SparseCategoricalCrossentropy(from_logits=True),
                       "sparse")
        trainer = model._get_trainer()
        output = trainer.forward(x)
        trainer.loss_and_backward(model.loss.prepare_targets(y, model.output_shape), None,
                                  output)
        grads.append([v.grad.copy() for v in model.trainable_variables])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_array_equal(a, b)
