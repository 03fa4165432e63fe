"""The weights API: known weights give hand-computed outputs; get_weights gives copies;
set_weights checks everything before it writes anything."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import DataError, NotBuiltError, ShapeError
from glassnet.layers import Dense, Input
from glassnet.variables import Variable


def test_linear_unit_with_set_weights_gives_w_x_plus_b():
    layer = Dense(1, activation="linear")
    layer(np.array([[1.0]]))  # builds: kernel (1, 1), bias (1,)
    layer.set_weights([np.array([[200]]), np.array([100])])
    # 200 * 1 + 100 = 300; 200 * 2 + 100 = 500
    np.testing.assert_array_equal(layer(np.array([[1.0], [2.0]])), [[300.0], [500.0]])


def test_sigmoid_unit_with_set_weights_gives_the_logistic_of_w_x_plus_b():
    layer = Dense(1, activation="sigmoid")
    layer.build((None, 1))
    layer.set_weights([[[2.0]], [-4.5]])
    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    z = 2.0 * x - 4.5
    np.testing.assert_allclose(layer(x), 1.0 / (1.0 + np.exp(-z)), rtol=1e-6)


def test_two_unit_layer_computes_x_at_kernel_plus_bias_by_hand():
    layer = Dense(2)
    layer.build((None, 3))
    layer.set_weights([[[1, 2], [3, 4], [5, 6]], [10, 20]])
    # (1, 1, 1) -> (1 + 3 + 5 + 10, 2 + 4 + 6 + 20) = (19, 32); (1, 0, -1) -> (6, 16)
    np.testing.assert_array_equal(layer(np.array([[1.0, 1, 1], [1, 0, -1]])),
                                  [[19, 32], [6, 16]])


def test_model_with_known_weights_gives_the_hand_computed_output(float64):
    model = gn.Sequential([Input(shape=(2,)), Dense(2, activation="relu"), Dense(1)])
    model.set_weights([[[1.0, -1.0], [2.0, 1.0]], [0.0, 0.5], [[3.0], [-2.0]], [1.0]])
    # x = (1, 1): z1 = (1 + 2, -1 + 1 + 0.5) = (3, 0.5); relu -> (3, 0.5); 9 - 1 + 1 = 9
    # x = (-2, 0): z1 = (-2, 2.5); relu -> (0, 2.5); 0 - 5 + 1 = -4
    np.testing.assert_allclose(model.predict(np.array([[1.0, 1.0], [-2.0, 0.0]])),
                               [[9.0], [-4.0]])


def test_get_weights_returns_copies():
    layer = Dense(2)
    layer.build((None, 2))
    before = [w.copy() for w in layer.get_weights()]
    kernel, bias = layer.get_weights()
    kernel += 100.0
    bias[:] = -1.0
    for now, then in zip(layer.get_weights(), before, strict=True):
        np.testing.assert_array_equal(now, then)
    layer.kernel.numpy()[0, 0] = 7.0
    assert layer.kernel.value[0, 0] == before[0][0, 0]


def test_model_get_weights_returns_copies_also_of_the_flat_buffer_views():
    model = gn.Sequential([Input(shape=(2,)), Dense(2), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    weights = model.get_weights()
    snapshot = [w.copy() for w in weights]
    for w in weights:
        w[...] = 123.0
    for now, then in zip(model.get_weights(), snapshot, strict=True):
        np.testing.assert_array_equal(now, then)


def test_set_weights_accepts_ints_and_nested_lists_and_casts_to_the_layer_dtype():
    layer = Dense(2)
    layer.build((None, 1))
    layer.set_weights([[[3, 4]], [1, 2]])
    kernel, bias = layer.get_weights()
    assert kernel.dtype == np.float32 and bias.dtype == np.float32
    np.testing.assert_array_equal(kernel, [[3.0, 4.0]])
    layer64 = Dense(1, dtype="float64")
    layer64.build((None, 1))
    layer64.set_weights([np.array([[2]], dtype=np.int64), np.array([1], dtype=np.int32)])
    assert all(w.dtype == np.float64 for w in layer64.get_weights())


def test_set_weights_names_the_layer_and_the_weight_and_spots_a_transpose():
    layer = Dense(3, name="hidden")
    layer.build((None, 4))
    with pytest.raises(ShapeError, match=r"layer 'hidden' expects kernel of shape \(4, 3\), "
                                         r"got \(3, 4\) — transposed\?"):
        layer.set_weights([np.zeros((3, 4)), np.zeros(3)])
    with pytest.raises(ShapeError, match=r"layer 'hidden' expects bias of shape \(3,\), "
                                         r"got \(4,\)$"):
        layer.set_weights([np.zeros((4, 3)), np.zeros(4)])
    with pytest.raises(ShapeError, match=r"layer 'hidden' expects 2 weight arrays "
                                         r"\(kernel, bias\), got 1"):
        layer.set_weights([np.zeros((4, 3))])


def test_set_weights_on_a_model_checks_the_count_and_names_the_layer():
    model = gn.Sequential([Input(shape=(2,)), Dense(3, name="L1"), Dense(1, name="L2")])
    with pytest.raises(ShapeError, match=r"expects 4 weight arrays .*got 3"):
        model.set_weights([np.zeros((2, 3)), np.zeros(3), np.zeros((3, 1))])
    with pytest.raises(ShapeError, match=r"layer 'L2' expects kernel of shape \(3, 1\), got "
                                         r"\(1, 3\) — transposed\?"):
        model.set_weights([np.zeros((2, 3)), np.zeros(3), np.zeros((1, 3)), np.zeros(1)])


def test_set_weights_is_all_or_nothing():
    model = gn.Sequential([Input(shape=(2,)), Dense(3), Dense(1)])
    before = model.get_weights()
    with pytest.raises(ShapeError):
        model.set_weights([np.ones((2, 3)), np.ones(3), np.ones((3, 2)), np.ones(1)])
    for now, then in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(now, then)  # the good first arrays were not written
    layer = Dense(2)
    layer.build((None, 2))
    kept = layer.get_weights()
    with pytest.raises(ShapeError):
        layer.set_weights([np.ones((2, 2)), np.ones(5)])
    np.testing.assert_array_equal(layer.get_weights()[0], kept[0])


def test_set_weights_rejects_non_numeric_values():
    layer = Dense(1, name="out")
    layer.build((None, 1))
    with pytest.raises(DataError, match="layer 'out' expects kernel as a numeric array"):
        layer.set_weights([[["a"]], [0.0]])


def test_set_weights_before_build_says_how_to_build():
    with pytest.raises(NotBuiltError, match="call it on data or build"):
        Dense(1, name="late").set_weights([[[1.0]], [0.0]])


def test_variable_has_a_path_and_its_gradient_and_assign_checks_the_shape():
    model = gn.Sequential([Input(shape=(2,)), Dense(3, name="hidden")])
    kernel = model.get_layer("hidden").kernel
    assert kernel.path == "hidden/kernel" and kernel.shape == (2, 3) and kernel.trainable
    assert kernel.grad.shape == (2, 3)
    kernel.assign(np.ones((2, 3)))
    np.testing.assert_array_equal(kernel.numpy(), np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"'hidden/kernel' has shape \(2, 3\).*\(3, 2\)"):
        kernel.assign(np.ones((3, 2)))


def test_variables_are_views_into_one_flat_buffer_after_compile():
    model = gn.Sequential([Input(shape=(2,)), Dense(3), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    flat = model._flat_params
    assert all(np.shares_memory(v.value, flat) for v in model.trainable_variables)
    model.set_weights([np.full((2, 3), 1.0), np.full(3, 2.0), np.full((3, 1), 3.0),
                       np.full(1, 4.0)])
    np.testing.assert_array_equal(flat, [1.0] * 6 + [2.0] * 3 + [3.0] * 3 + [4.0])


def test_variable_copies_its_initial_value():
    source = np.zeros(3)
    variable = Variable(source, name="bias", path="d/bias")
    source[0] = 5.0
    assert variable.value[0] == 0.0
    assert np.asarray(variable).shape == (3,)
