"""Layers: config round trips, Keras 2 input arguments, Dropout, Normalization, Flatten."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Activation, Dense, Dropout, Flatten, Input, Normalization


def test_dense_config_round_trip_rebuilds_the_same_layer():
    layer = Dense(4, activation="tanh", use_bias=True, kernel_initializer="he_normal",
                  bias_initializer=gn.initializers.Constant(0.3),
                  kernel_regularizer=gn.regularizers.L1L2(l1=0.01, l2=0.02),
                  bias_regularizer=gn.regularizers.L2(0.5),
                  kernel_constraint=gn.constraints.MaxNorm(2.0),
                  bias_constraint="non_neg", name="hidden")
    config = layer.get_config()
    copy = Dense.from_config(config)
    assert copy.get_config() == config
    assert config["units"] == 4 and config["activation"] == "tanh" and config["name"] == "hidden"
    assert isinstance(copy.kernel_regularizer, gn.regularizers.L1L2)
    assert (copy.kernel_regularizer.l1, copy.kernel_regularizer.l2) == (0.01, 0.02)
    copy.build((None, 3))
    np.testing.assert_array_equal(copy.bias.numpy(), np.full(4, 0.3, dtype=np.float32))


def test_layer_serialize_deserialize_gives_the_same_outputs_with_the_same_weights():
    layer = Dense(3, activation="sigmoid")
    x = np.random.default_rng(0).normal(size=(5, 2))
    expected = layer(x)
    twin = gn.layers.deserialize(gn.layers.serialize(layer))
    twin.build((None, 2))
    twin.set_weights(layer.get_weights())
    np.testing.assert_array_equal(twin(x), expected)


@pytest.mark.parametrize("first", [
    lambda: [Dense(3, input_dim=4)],
    lambda: [Dense(3, input_shape=(4,))],
    lambda: [Dense(3, batch_input_shape=(None, 4))],
    lambda: [Input(shape=(4,)), Dense(3)],
    lambda: [Input((4,)), Dense(3)],
], ids=["input_dim", "input_shape", "batch_input_shape", "Input", "Input_positional"])
def test_keras_2_and_keras_3_ways_to_declare_the_input(first):
    model = gn.Sequential(first() + [Dense(1)])
    assert model.built
    assert model.input_shape == (None, 4) and model.output_shape == (None, 1)
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 1), (1,)]


def test_model_without_declared_input_builds_on_first_data():
    model = gn.Sequential([Dense(2), Dense(1)])
    assert not model.built
    assert model.predict(np.ones((3, 5))).shape == (3, 1)
    assert model.input_shape == (None, 5)


def test_layer_names_count_up_like_keras():
    names = [Dense(1).name, Dense(1).name, Dropout(0.1).name, Dense(1).name]
    assert names == ["dense", "dense_1", "dropout", "dense_2"]


def test_dropout_is_the_identity_at_inference_and_predict_is_deterministic():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    with_dropout = gn.Sequential([Input(shape=(4,)), Dense(8, activation="relu"),
                                  Dropout(0.5), Dense(1)])
    without = gn.Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(1)])
    without.set_weights(with_dropout.get_weights())
    first = with_dropout.predict(x)
    np.testing.assert_array_equal(first, with_dropout.predict(x))
    np.testing.assert_allclose(first, without.predict(x), rtol=1e-6)
    with_dropout.compile(optimizer="sgd", loss="mse")
    without_loss = float(np.mean(without.predict(x) ** 2))
    assert without_loss > 0
    assert with_dropout.evaluate(x, np.zeros((50, 1)), verbose=0) == pytest.approx(
        without_loss, rel=1e-5)


def test_dropout_in_training_zeroes_rate_and_scales_the_rest_so_the_mean_is_kept():
    layer = Dropout(0.3, seed=0)
    layer.build((None, 200))
    x = np.ones((500, 200), dtype=np.float32)
    out = layer.forward(x, training=True).copy()
    kept = out != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    assert out.mean() == pytest.approx(1.0, abs=0.01)  # E[dropout(x)] = x
    # The backward pass lets the gradient through exactly where the input got through.
    dy = np.full_like(x, 2.0)
    np.testing.assert_allclose(layer.backward(dy), np.where(kept, 2.0 / 0.7, 0.0), rtol=1e-6)


def test_dropout_with_a_seed_draws_the_same_masks():
    masks = []
    for _ in range(2):
        layer = Dropout(0.5, seed=3)
        layer.build((None, 10))
        masks.append(layer.forward(np.ones((4, 10)), training=True).copy())
    np.testing.assert_array_equal(masks[0], masks[1])


def test_dropout_rate_zero_is_the_identity_even_in_training():
    layer = Dropout(0.0)
    layer.build((None, 3))
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer.forward(x, training=True), x)


def test_normalization_adapt_computes_numpys_mean_and_population_variance():
    rng = np.random.default_rng(1)
    data = rng.normal(loc=[10.0, -3.0, 0.0], scale=[2.0, 0.5, 1.0], size=(400, 3))
    layer = Normalization()
    layer.adapt(data)
    np.testing.assert_allclose(layer.mean.numpy(), data.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.variance.numpy(), data.var(axis=0), rtol=1e-5)
    out = layer(data)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-4)
    assert all(not v.trainable for v in layer.weights)


def test_normalization_of_a_constant_feature_is_finite():
    data = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    layer = Normalization()
    layer.adapt(data)
    out = layer(data)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[:, 1], 0.0)
    np.testing.assert_allclose(out[:, 0], (data[:, 0] - 2.0) / np.sqrt(2 / 3), rtol=1e-6)


def test_normalization_with_given_mean_and_variance_and_invert():
    layer = Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0])
    x = np.array([[3.0, 8.0]])
    np.testing.assert_allclose(layer(x), [[1.0, 2.0]])
    inverse = Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)
    np.testing.assert_allclose(inverse(np.array([[1.0, 2.0]])), x)


def test_normalization_statistics_are_non_trainable_in_a_model():
    layer = Normalization()
    layer.adapt(np.random.default_rng(2).normal(size=(20, 3)))
    model = gn.Sequential([Input(shape=(3,)), layer, Dense(2)])
    assert [v.path for v in model.non_trainable_variables] == [
        f"{layer.name}/mean", f"{layer.name}/variance", f"{layer.name}/count"]
    assert len(model.trainable_variables) == 2


@pytest.mark.parametrize("shape, flat", [((2, 3), 6), ((2, 3, 4), 24), ((5,), 5)])
def test_flatten_shapes(shape, flat):
    layer = Flatten()
    x = np.arange(7 * np.prod(shape), dtype=np.float32).reshape((7,) + shape)
    out = layer(x)
    assert out.shape == (7, flat)
    np.testing.assert_array_equal(out, x.reshape(7, -1))
    assert layer.compute_output_shape((None,) + shape) == (None, flat)
    assert layer.backward(np.ones((7, flat))).shape == (7,) + shape


def test_flatten_in_a_model_feeds_dense():
    model = gn.Sequential([Input(shape=(8, 8)), Flatten(), Dense(10)])
    assert model.output_shape == (None, 10)
    assert model.get_weights()[0].shape == (64, 10)
    assert model.predict(np.zeros((3, 8, 8))).shape == (3, 10)


def test_activation_layer_applies_its_function():
    x = np.array([[-1.0, 0.5, 2.0]])
    np.testing.assert_allclose(Activation("relu")(x), [[0.0, 0.5, 2.0]])
    np.testing.assert_allclose(Activation("tanh")(x), np.tanh(x), rtol=1e-6)
    assert Activation("softmax").get_config()["activation"] == "softmax"


def test_default_dense_initializers_are_glorot_uniform_and_zeros():
    layer = Dense(7)
    assert type(layer.kernel_initializer) is gn.initializers.GlorotUniform
    assert type(layer.bias_initializer) is gn.initializers.Zeros
    layer.build((None, 5))
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(7))
    limit = np.sqrt(6 / (5 + 7))
    assert np.abs(layer.kernel.numpy()).max() <= limit


def test_dense_without_bias_has_only_a_kernel():
    layer = Dense(2, use_bias=False)
    layer.build((None, 3))
    assert [v.name for v in layer.weights] == ["kernel"] and layer.bias is None
    layer.set_weights([np.ones((3, 2))])
    np.testing.assert_array_equal(layer(np.ones((1, 3))), [[3.0, 3.0]])


def test_dense_constraint_is_applied_after_each_update(float64):
    model = gn.Sequential([Input(shape=(1,)), Dense(1, kernel_constraint="non_neg")])
    model.set_weights([[[0.01]], [0.0]])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=1.0), loss="mse")
    model.train_on_batch(np.array([[1.0]]), np.array([[-10.0]]))  # pushes the weight < 0
    assert model.get_weights()[0][0, 0] == 0.0


def test_dense_on_3d_input_says_to_flatten_first():
    with pytest.raises(gn.errors.ShapeError, match="add Flatten first"):
        gn.Sequential([Input(shape=(2, 3)), Dense(1)])


def test_layer_rejects_input_of_the_wrong_width():
    layer = Dense(1, name="one")
    layer.build((None, 3))
    with pytest.raises(gn.errors.ShapeError, match=r"layer 'one' expects input of shape "
                                                   r"\(n, 3\), got \(2, 4\)"):
        layer(np.ones((2, 4)))


@pytest.mark.parametrize("axis", [0, (0, 1)])
def test_normalization_refuses_axes_it_does_not_implement(axis):
    with pytest.raises(gn.errors.ConfigError, match=r"axis(=| must be -1)"):
        layer = Normalization(axis=axis)
        layer.build((None, 3))


def test_normalization_accepts_the_last_axis_by_its_index():
    layer = Normalization(axis=1)
    layer.adapt(np.array([[0.0, 2.0], [2.0, 6.0]]))
    np.testing.assert_allclose(layer(np.array([[1.0, 4.0]])), [[0.0, 0.0]])


def test_constraints_follow_the_keras_formulas():
    w = np.array([[3.0, 0.1], [4.0, -0.2]])  # column norms 5 and sqrt(0.05)
    norms = np.sqrt((w ** 2).sum(axis=0, keepdims=True))
    np.testing.assert_allclose(gn.constraints.MaxNorm(2.0)(w),
                               w * np.minimum(norms, 2.0) / (1e-7 + norms))
    np.testing.assert_allclose(np.linalg.norm(gn.constraints.MaxNorm(2.0)(w), axis=0),
                               [2.0, np.sqrt(0.05)], rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(gn.constraints.UnitNorm()(w), axis=0), 1.0,
                               rtol=1e-6)
    pulled = gn.constraints.MinMaxNorm(min_value=0.5, max_value=1.0, rate=0.5)(w)
    # rate 0.5: halfway between each norm and its clipped value: (5 + 1) / 2, (0.224 + 0.5) / 2
    np.testing.assert_allclose(np.linalg.norm(pulled, axis=0),
                               [3.0, (np.sqrt(0.05) + 0.5) / 2], rtol=1e-6)
    np.testing.assert_array_equal(gn.constraints.NonNeg()(w), [[3.0, 0.1], [4.0, 0.0]])
    copy = gn.constraints.get(gn.constraints.serialize(gn.constraints.MaxNorm(3.0, axis=1)))
    assert copy.get_config() == {"max_value": 3.0, "axis": 1}
