"""BatchNormalization, ReLU, LeakyReLU, Softmax, GaussianNoise and Rescaling.

Truths: central finite differences of the training-mode loss (float64), the real
Keras 3 (torch backend) trained side by side from the same weights on the same
batches, Keras's own ``.keras`` files, onnxruntime, and closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need
from glassnet.errors import ConfigError
from glassnet.layers import (
    BatchNormalization,
    Dense,
    GaussianNoise,
    Input,
    LeakyReLU,
    ReLU,
    Rescaling,
    Softmax,
)
from glassnet.regularizers import L1, L2


def _network(dtype="float64", bias_before_bn=True):
    gn.random.set_random_seed(0)
    return gn.Sequential([
        Input(shape=(4,)),
        Rescaling(0.5, offset=0.1, dtype=dtype),
        Dense(6, bias_initializer="random_normal", use_bias=bias_before_bn, dtype=dtype),
        BatchNormalization(gamma_initializer="random_uniform", beta_initializer="random_normal",
                           gamma_regularizer=L2(0.01), beta_regularizer=L1(0.02), dtype=dtype),
        ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2, dtype=dtype),
        GaussianNoise(0.2, seed=5, dtype=dtype),
        Dense(5, use_bias=bias_before_bn, dtype=dtype),
        BatchNormalization(center=False, momentum=0.9, epsilon=1e-2, dtype=dtype),
        LeakyReLU(negative_slope=0.25, dtype=dtype),
        Dense(3, dtype=dtype),
        Softmax(dtype=dtype),
    ])


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "mse"])
def test_training_gradients_equal_finite_differences(loss):
    model = _network()
    model.compile(optimizer="sgd", loss=loss)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(9, 4))
    y = rng.integers(0, 3, 9) if loss.startswith("sparse") else rng.uniform(size=(9, 3))
    model.build((None, 4))
    model._flatten_variables()
    trainer = model._get_trainer()
    targets = gn._engine.prepare._prepare_y(model, y)
    noise = model.layers[4]

    def loss_value():
        noise._rng = gn.random.generator(5)  # the same noise on every pass
        return trainer.loss_and_backward(targets, None, trainer.forward(x))

    loss_value()
    analytic = {v.path: v.grad.copy() for v in model.trainable_variables}
    assert {"batch_normalization/gamma", "batch_normalization/beta",
            "batch_normalization_1/gamma"} <= set(analytic)
    for variable in model.trainable_variables:
        numeric = np.empty(variable.size)
        flat = variable.value.reshape(-1)
        for i in range(variable.size):
            keep = flat[i]
            flat[i] = keep + 1e-6
            up = loss_value()
            flat[i] = keep - 1e-6
            down = loss_value()
            flat[i] = keep
            numeric[i] = (up - down) / 2e-6
        got = analytic[variable.path].reshape(-1)
        if variable.path in ("dense/bias", "dense_1/bias"):
            # Batch statistics cancel a shift just before BatchNormalization: dL/db = 0.
            assert np.abs(got).max() < 1e-9 and np.abs(numeric).max() < 1e-7
            continue
        error = np.linalg.norm(got - numeric) / (np.linalg.norm(got) + np.linalg.norm(numeric))
        assert error < 1e-6, (variable.path, error)


def test_batch_norm_input_gradient_equals_finite_differences():
    layer = BatchNormalization(dtype="float64", gamma_initializer="random_normal",
                               beta_initializer="random_normal")
    rng = np.random.default_rng(2)
    x, weights = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    layer(x)
    layer.forward(x, training=True)
    dx = layer.backward(weights)
    numeric = np.empty_like(x)
    for index in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[index] += 1e-6
        up = (layer.forward(shifted, training=True) * weights).sum()
        shifted[index] -= 2e-6
        down = (layer.forward(shifted, training=True) * weights).sum()
        numeric[index] = (up - down) / 2e-6
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-8)


def test_batch_norm_closed_forms_train_and_infer():
    layer = BatchNormalization(momentum=0.9, epsilon=1e-3, dtype="float64")
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])
    y = layer.forward(_built(layer, x), training=True)
    mean, var = np.array([3.0, 12.0]), np.array([8 / 3, 8.0])
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3))
    np.testing.assert_allclose(layer.moving_mean.value, 0.1 * mean)
    np.testing.assert_allclose(layer.moving_variance.value, 0.9 + 0.1 * var)
    # inference uses the moving statistics and leaves them alone
    np.testing.assert_allclose(layer(x), (x - 0.1 * mean) / np.sqrt(0.9 + 0.1 * var + 1e-3))
    np.testing.assert_allclose(layer.moving_mean.value, 0.1 * mean)


def _built(layer, x):
    layer.build((None,) + x.shape[1:])
    return x


def test_relu_options_closed_form():
    x = np.array([[-10.0, -5.0, 0.0, 0.5, 1.0, 5.0, 10.0]])
    np.testing.assert_allclose(ReLU()(x), [[0, 0, 0, 0.5, 1, 5, 10]])
    np.testing.assert_allclose(ReLU(max_value=5.0)(x), [[0, 0, 0, 0.5, 1, 5, 5]])
    np.testing.assert_allclose(ReLU(negative_slope=0.5)(x), [[-5, -2.5, 0, 0.5, 1, 5, 10]])
    np.testing.assert_allclose(ReLU(threshold=5.0)(x), [[0, 0, 0, 0, 0, 0, 10]])
    np.testing.assert_allclose(LeakyReLU()(x), [[-3, -1.5, 0, 0.5, 1, 5, 10]])
    np.testing.assert_allclose(LeakyReLU(alpha=0.1)(x), [[-1, -0.5, 0, 0.5, 1, 5, 10]])


@pytest.mark.parametrize("make, message", [
    (lambda: ReLU(max_value=-1), "max_value"), (lambda: ReLU(negative_slope=-0.1), "slope"),
    (lambda: LeakyReLU(negative_slope=None), "negative_slope"),
    (lambda: GaussianNoise(2.0), "stddev"), (lambda: BatchNormalization(momentum=2), "momentum"),
    (lambda: BatchNormalization(renorm=True), "renorm"), (lambda: Rescaling("x"), "scale"),
])
def test_bad_settings_are_refused_by_name(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_gaussian_noise_adds_noise_in_training_only():
    layer = GaussianNoise(0.5, seed=3)
    x = np.zeros((4000, 5), np.float32)
    np.testing.assert_array_equal(layer(x), x)
    noisy = layer.forward(_built(layer, x), training=True)
    assert abs(noisy.std() - 0.5) < 0.01 and abs(noisy.mean()) < 0.01
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), 1.0)


@pytest.mark.parametrize("layer", [
    lambda: BatchNormalization(momentum=0.8, epsilon=0.01, center=False, name="bn"),
    lambda: ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5),
    lambda: LeakyReLU(0.1), lambda: Softmax(), lambda: GaussianNoise(0.3, seed=1),
    lambda: Rescaling([0.5, 1.0, 2.0], offset=-1.0)])
def test_config_round_trips(layer):
    original = layer()
    copy = gn.layers.deserialize(gn.layers.serialize(original))
    assert type(copy) is type(original) and copy.get_config() == original.get_config()
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(copy(x), original(x), rtol=1e-6)


def test_native_file_round_trip_keeps_moving_statistics(tmp_path):
    model = _network("float32")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(40, 4))
    y = np.random.default_rng(1).integers(0, 3, 40)
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.glassnet")
    loaded = gn.models.load_model(tmp_path / "m.glassnet")
    for a, b in zip(model.weights, loaded.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


# -- the real Keras ------------------------------------------------------------------------
def _keras_network(keras, bias_before_bn=True):
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(4,)),
        layers.Rescaling(0.5, offset=0.1),
        layers.Dense(6, bias_initializer="random_normal", use_bias=bias_before_bn),
        layers.BatchNormalization(gamma_initializer="random_uniform",
                                  beta_initializer="random_normal",
                                  gamma_regularizer=keras.regularizers.L2(0.01),
                                  beta_regularizer=keras.regularizers.L1(0.02)),
        layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2),
        layers.GaussianNoise(0.2),
        layers.Dense(5, use_bias=bias_before_bn),
        layers.BatchNormalization(center=False, momentum=0.9, epsilon=1e-2),
        layers.LeakyReLU(negative_slope=0.25),
        layers.Dense(3),
        layers.Softmax(),
    ])


def _glassnet_twin(keras_model, bias_before_bn):
    model = _network("float32", bias_before_bn)
    for layer in model.layers:  # same noise-free training as Keras's below
        if isinstance(layer, GaussianNoise):
            layer.stddev = 0.0
    model.build((None, 4))
    model.set_weights(keras_model.get_weights())
    return model


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_equals_keras(optimizer):
    keras = need("keras")
    keras.utils.set_random_seed(0)
    # Just before BatchNormalization a bias's true gradient is 0; each side's is float32
    # round-off, which Adam's normalised step would turn into ±lr moves: no such bias.
    bias_before_bn = optimizer == "sgd"
    reference = _keras_network(keras, bias_before_bn)
    for layer in reference.layers:
        if isinstance(layer, keras.layers.GaussianNoise):
            layer.stddev = 0.0  # its noise cannot be drawn alike; its passing-through can
    model = _glassnet_twin(reference, bias_before_bn)
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, size=(48, 4)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    np.testing.assert_allclose(model.predict(x), reference.predict(x, verbose=0), atol=1e-5)
    make = {"sgd": lambda k: k.optimizers.SGD(0.1), "adam": lambda k: k.optimizers.Adam(0.01)}
    reference.compile(optimizer=make[optimizer](keras), loss="sparse_categorical_crossentropy")
    model.compile(optimizer=make[optimizer](gn), loss="sparse_categorical_crossentropy")
    theirs = reference.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    ours = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(ours.history["loss"], theirs.history["loss"], rtol=1e-4)
    names = [v.path for v in model.weights]
    assert len(names) == len(reference.get_weights())
    for name, mine, keras_value in zip(names, model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(mine, keras_value, rtol=1e-4, atol=1e-5, err_msg=name)
    assert any("moving_variance" in n for n in names)
    np.testing.assert_allclose(model.predict(x), reference.predict(x, verbose=0), atol=1e-5)


@pytest.mark.slow
def test_frozen_batch_norm_trains_in_inference_mode_as_keras():
    keras = need("keras")
    keras.utils.set_random_seed(1)
    reference = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4),
                                  keras.layers.BatchNormalization(moving_mean_initializer=
                                                                  "random_normal"),
                                  keras.layers.Dense(1)])
    reference.layers[1].trainable = False
    model = gn.Sequential([Input(shape=(3,)), Dense(4), BatchNormalization(), Dense(1)])
    model.layers[1].trainable = False
    model.build((None, 3))
    model.set_weights(reference.get_weights())
    x = np.random.default_rng(3).normal(size=(32, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    for m, lib in ((reference, keras), (model, gn)):
        m.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
        m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for mine, keras_value in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(mine, keras_value, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_gaussian_noise_passes_through_at_inference_as_keras():
    keras = need("keras")
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    theirs = keras.layers.GaussianNoise(0.4, seed=2)
    np.testing.assert_array_equal(GaussianNoise(0.4, seed=2)(x),
                                  keras.ops.convert_to_numpy(theirs(x)))


@pytest.mark.slow
def test_keras_file_with_every_new_layer_loads_and_predicts_alike(tmp_path):
    keras = need("keras")
    keras.utils.set_random_seed(0)
    reference = _keras_network(keras)
    reference.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    reference.fit(x, np.arange(32) % 3, epochs=1, verbose=0)  # moving statistics move
    reference.save(tmp_path / "m.keras")
    model = gn.io.load_keras(tmp_path / "m.keras")
    assert [type(layer).__name__ for layer in model.layers] == [
        type(layer).__name__ for layer in reference.layers]
    assert [layer.name for layer in model.layers] == [layer.name for layer in reference.layers]
    np.testing.assert_allclose(model.predict(x), reference.predict(x, verbose=0), atol=1e-5)


def test_onnx_export_runs_alike_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = _network("float32")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    model.fit(x, np.arange(32) % 3, epochs=2, verbose=0)
    gn.io.export_onnx(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out, model.predict(x), atol=1e-5)


# -- Normalization(axis=None) --------------------------------------------------------------
def test_normalization_axis_none_uses_one_mean_and_variance():
    data = np.array([[1.0, 2.0], [3.0, 6.0]])
    layer = gn.layers.Normalization(axis=None)
    layer.adapt(data)
    assert layer.mean.shape == () and layer.variance.shape == ()
    assert layer.mean.numpy() == 3.0 and layer.variance.numpy() == pytest.approx(3.5)
    np.testing.assert_allclose(layer(data), (data - 3.0) / np.sqrt(3.5), rtol=1e-6)
    given = gn.layers.Normalization(axis=None, mean=[3.0], variance=4.0)
    np.testing.assert_allclose(given(data), (data - 3.0) / 2.0)
    with pytest.raises(ConfigError, match="takes one mean"):
        gn.layers.Normalization(axis=None, mean=[1.0, 2.0], variance=[1.0, 1.0]).build((None, 2))


@pytest.mark.slow
def test_normalization_axis_none_equals_keras_in_the_regression_tutorial(tmp_path):
    # tensorflow.org's regression tutorial: one column, Normalization(axis=None), adapt.
    keras = need("keras")
    horsepower = np.random.default_rng(0).uniform(40, 230, 50).astype(np.float32)
    theirs = keras.layers.Normalization(axis=None)
    theirs.adapt(horsepower)
    ours = gn.layers.Normalization(input_shape=[1], axis=None)
    ours.adapt(horsepower)
    np.testing.assert_allclose(ours.mean.numpy(), keras.ops.convert_to_numpy(theirs.mean)
                               .reshape(()), rtol=1e-6)
    np.testing.assert_allclose(ours(horsepower[:5]), keras.ops.convert_to_numpy(
        theirs(horsepower[:5])).reshape(5, -1), rtol=1e-5)
    # a Keras file with it loads and predicts alike
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(1,)), theirs, keras.layers.Dense(1)])
    model.save(tmp_path / "hp.keras")
    loaded = gn.io.load_keras(tmp_path / "hp.keras")
    assert loaded.layers[0].axis is None
    x = horsepower.reshape(-1, 1)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x, verbose=0), rtol=1e-5)
    # and the native file round-trips it
    loaded.save(tmp_path / "hp.glassnet")
    np.testing.assert_array_equal(gn.models.load_model(tmp_path / "hp.glassnet").predict(x),
                                  loaded.predict(x))


def test_check_gradients_refuses_layers_that_train_differently():
    model = _network("float32")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.build((None, 4))
    with pytest.raises(ConfigError, match="batch_normalization, gaussian_noise, "
                                          "batch_normalization_1 compute a different"):
        gn.inspect.check_gradients(model, np.ones((4, 4)), np.zeros(4))
