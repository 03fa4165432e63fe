"""Results of calling layers, models, activations, losses and metrics answer .numpy().

TF code calls ``.numpy()`` on each of them; glassnet's are NumPy already. They must
stay full ndarrays (or floats), and ``.numpy()`` must be the same memory, no copy.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.tensor import Scalar, Tensor

X = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]], dtype=np.float32)


def _model():
    model = gn.Sequential([gn.Input(shape=(2,)), gn.layers.Dense(3, activation="relu"),
                           gn.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.array([[1.0, -1.0, 0.5], [0.5, 2.0, -1.0]], np.float32),
                       np.array([0.1, 0.0, -0.2], np.float32),
                       np.array([[1.0], [-0.5], [2.0]], np.float32), np.array([0.3], np.float32)])
    return model


def _by_hand(x):
    hidden = np.maximum(x @ np.array([[1.0, -1.0, 0.5], [0.5, 2.0, -1.0]]) + [0.1, 0.0, -0.2], 0)
    return 1.0 / (1.0 + np.exp(-(hidden @ np.array([[1.0], [-0.5], [2.0]]) + 0.3)))


def test_model_call_is_an_ndarray_with_numpy_sharing_its_memory():
    out = _model()(X)
    assert isinstance(out, np.ndarray) and isinstance(out, Tensor)
    plain = out.numpy()
    assert type(plain) is np.ndarray and np.shares_memory(plain, out)
    np.testing.assert_allclose(plain, _by_hand(X), rtol=1e-6)


def test_predict_stays_a_plain_ndarray_as_in_keras():
    assert type(_model().predict(X, verbose=0)) is np.ndarray


def test_comparisons_slices_and_elements_of_a_result_answer_numpy():
    p = _model()(X)
    decided = (p >= 0.5).numpy()
    assert type(decided) is np.ndarray and decided.dtype == bool
    np.testing.assert_array_equal(decided, _by_hand(X) >= 0.5)
    assert p[1].numpy().shape == (1,)
    element = p[0, 0].numpy()
    assert isinstance(element, np.float32) and element == pytest.approx(_by_hand(X)[0, 0])
    assert float(p.sum().numpy()) == pytest.approx(_by_hand(X).sum(), rel=1e-6)


def test_layer_call_answers_numpy_and_the_layer_keeps_plain_arrays_inside():
    layer = gn.layers.Dense(2, activation="linear")
    out = layer(X)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.numpy(), X @ layer.kernel.numpy() + layer.bias.numpy(),
                               rtol=1e-6)
    assert type(layer.forward(X)) is np.ndarray  # inside: no Tensor


def test_training_loop_sees_plain_arrays():
    model = _model()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    seen = []
    original = model.loss.fused_value_and_grad

    def spy(y, output, weights, dz):
        seen.append(type(output))
        return original(y, output, weights, dz)

    model.loss.fused_value_and_grad = spy
    history = model.fit(gn.tfcompat.constant(X), np.array([1, 0, 1]), epochs=2, verbose=0)
    assert seen and all(kind is np.ndarray for kind in seen)
    assert all(type(value) is float for value in history.history["loss"])


def test_activations_and_nn_functions_answer_numpy():
    z = np.array([[1.0, 2.0, 3.0]])
    expected = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(gn.activations.softmax(z).numpy(), expected, rtol=1e-7)
    np.testing.assert_allclose(gn.nn.softmax(z).numpy(), expected, rtol=1e-7)
    np.testing.assert_allclose(gn.nn.softmax(z.T, axis=0).numpy(), expected.T, rtol=1e-7)
    assert gn.nn.sigmoid(np.array([0.0])).numpy()[0] == 0.5
    np.testing.assert_array_equal(gn.nn.relu(np.array([-1.0, 2.0])).numpy(), [0.0, 2.0])
    np.testing.assert_allclose(gn.nn.leaky_relu(np.array([-1.0, 2.0])).numpy(), [-0.2, 2.0])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*")
def test_nn_functions_match_keras_ops():
    from frameworks import need

    keras = need("keras")
    z = np.random.RandomState(0).standard_normal((4, 5)).astype(np.float32) * 3
    for name in ("softmax", "log_softmax", "sigmoid", "relu", "tanh", "elu", "softplus",
                 "silu"):
        expected = keras.ops.convert_to_numpy(getattr(keras.ops, name)(z))
        np.testing.assert_allclose(getattr(gn.nn, name)(z).numpy(), expected, rtol=2e-6,
                                   atol=1e-6, err_msg=name)
    for approximate in (False, True):  # tf.nn.gelu's default is the exact one
        expected = keras.ops.convert_to_numpy(keras.ops.gelu(z, approximate=approximate))
        np.testing.assert_allclose(gn.nn.gelu(z, approximate=approximate).numpy(), expected,
                                   rtol=2e-6, atol=1e-6)
    expected = keras.ops.convert_to_numpy(keras.ops.leaky_relu(z, negative_slope=0.2))
    np.testing.assert_allclose(gn.nn.leaky_relu(z).numpy(), expected, rtol=1e-6)


def test_loss_call_is_a_float_that_answers_numpy():
    loss = gn.losses.BinaryCrossentropy()(np.array([[1.0], [0.0]]), np.array([[0.8], [0.4]]))
    assert isinstance(loss, float) and isinstance(loss, Scalar)
    value = loss.numpy()
    assert isinstance(value, np.float32)
    assert value == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2, rel=1e-6)


def test_metric_result_answers_numpy():
    metric = gn.metrics.BinaryAccuracy()
    metric.update_state(np.array([[1.0], [0.0]]), np.array([[0.8], [0.6]]))
    assert metric.result().numpy() == np.float32(0.5)
    several = gn.metrics.Precision(thresholds=[0.5, 0.7])
    several.update_state(np.array([1, 0]), np.array([0.8, 0.6]))
    np.testing.assert_array_equal(several.result().numpy(), [0.5, 1.0])


def test_scalar_numpy_follows_floatx(float64):
    assert isinstance(Scalar(0.25).numpy(), np.float64)


def test_a_result_of_several_values_formats_each_as_the_progress_bar_asks():
    assert f"{np.array([0.5, 0.25]).view(Tensor):.2f}" == "[0.50 0.25]"
    assert f"{np.array(0.5).view(Tensor):.1f}" == "0.5"


def test_fit_with_a_metric_at_several_thresholds_prints_its_values(capsys):
    model = _model()
    model.compile(loss="binary_crossentropy",
                  metrics=[gn.metrics.Precision(thresholds=[0.3, 0.6])])
    model.fit(X, np.array([1, 0, 1]), epochs=1, verbose=1)
    assert "precision: [" in capsys.readouterr().out
