"""TF and Keras code runs with only its imports changed to glassnet.

``import glassnet as tf`` / ``from glassnet import keras`` / ``from glassnet.keras.layers
import Dense``; the helpers course code reaches for beside tf.keras; and the small
Keras behaviours that such code meets next (bias_initializer=None, Constant of an
array, to_categorical, plot_model, metrics_names) — checked against the real Keras.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import glassnet as gn
from frameworks import need

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*")


def test_tf_spelling_reaches_the_same_objects():
    from glassnet.keras.layers import Dense
    from glassnet.keras.losses import BinaryCrossentropy  # noqa: F401
    from glassnet.keras.optimizers.schedules import ExponentialDecay

    import glassnet as tf
    from glassnet import keras

    assert tf.keras is keras
    assert keras.layers is gn.layers and Dense is gn.layers.Dense
    assert keras.Sequential is gn.Sequential and keras.Model is gn.Model
    assert keras.Input is gn.Input
    assert tf.keras.optimizers.schedules.ExponentialDecay is ExponentialDecay
    assert tf.keras.activations.sigmoid is gn.activations.sigmoid
    assert callable(tf.keras.utils.to_categorical) and callable(tf.keras.utils.plot_model)
    assert tf.keras.backend.floatx() == "float32"
    for name in keras.__all__:
        assert getattr(keras, name) is not None


def test_tf_helpers_course_code_uses():
    import glassnet as tf

    assert isinstance(tf.get_logger(), logging.Logger)
    tf.get_logger().setLevel("ERROR")
    assert tf.autograph.set_verbosity(0) is None
    assert tf.constant([1.0, 2.0]).dtype == np.float32  # TF's default float
    assert tf.constant([1, 2]).numpy().dtype.kind == "i"
    np.testing.assert_array_equal(tf.cast(tf.constant([1.7, -1.2]), tf.int32).numpy(), [1, -1])
    assert tf.float32 is np.float32 and tf.bool is np.bool_
    assert tf.convert_to_tensor(np.ones(3)).numpy().dtype == np.float64
    assert tf.config.list_physical_devices("GPU") == []
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tf.nope  # noqa: B018


def test_tf_random_set_seed_makes_runs_repeatable():
    import glassnet as tf

    tf.random.set_seed(42)
    first = gn.layers.Dense(3)(np.ones((1, 4))).numpy().copy()
    sample = tf.random.normal((2, 2)).numpy()
    tf.random.set_seed(42)
    np.testing.assert_array_equal(gn.layers.Dense(3)(np.ones((1, 4))).numpy(), first)
    np.testing.assert_array_equal(tf.random.normal((2, 2)).numpy(), sample)
    assert tf.random.uniform((1000,)).numpy().min() >= 0.0


@pytest.mark.slow
def test_import_glassnet_and_its_tf_names_stays_light():
    code = ("import sys, glassnet as tf; tf.keras.layers; tf.nn.softmax; tf.constant(1.0); "
            "heavy = [m for m in ('pandas', 'matplotlib', 'torch', 'keras', 'IPython', 'h5py',"
            " 'scipy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def _neurons_and_layers_lab(tf, Dense, Sequential):
    """The first course lab's code, with its imports passed in."""
    X_train = np.array([[1.0], [2.0]], dtype=np.float32)
    linear_layer = Dense(units=1, activation="linear")
    linear_layer(X_train[0].reshape(1, 1))
    linear_layer.set_weights([np.array([[200]]), np.array([100])])
    a_lin = linear_layer(X_train[0].reshape(1, 1)).numpy()
    prediction_tf = linear_layer(X_train).numpy()
    model = Sequential([Dense(1, input_dim=1, activation="sigmoid", name="L1")])
    model.get_layer("L1").set_weights([np.array([[2]]), np.array([-4.5])])
    a_log = model.predict(X_train[0].reshape(1, 1), verbose=0)
    called = model(X_train).numpy()
    return a_lin, prediction_tf, a_log, called, (called >= 0.5)


@pytest.mark.slow
def test_the_neurons_and_layers_lab_gives_keras_numbers():
    keras = need("keras")
    from glassnet.keras.layers import Dense

    import glassnet as tf
    from glassnet.keras import Sequential

    ours = _neurons_and_layers_lab(tf, Dense, Sequential)
    theirs = _neurons_and_layers_lab_keras(keras)  # torch tensors brought to NumPy
    for got, expected in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(got, np.float64), expected, rtol=1e-6)


def _neurons_and_layers_lab_keras(keras):
    X_train = np.array([[1.0], [2.0]], dtype=np.float32)
    linear_layer = keras.layers.Dense(units=1, activation="linear")
    linear_layer(X_train[0].reshape(1, 1))
    linear_layer.set_weights([np.array([[200]]), np.array([100])])
    numpy = keras.ops.convert_to_numpy
    a_lin = numpy(linear_layer(X_train[0].reshape(1, 1)))
    prediction = numpy(linear_layer(X_train))
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(1, activation="sigmoid", name="L1")])
    model.get_layer("L1").set_weights([np.array([[2]]), np.array([-4.5])])
    a_log = model.predict(X_train[0].reshape(1, 1), verbose=0)
    called = numpy(model(X_train))
    return a_lin, prediction, a_log, called, called >= 0.5


@pytest.mark.slow
def test_dense_with_none_initializers_draws_glorot_uniform_as_keras():
    keras = need("keras")
    theirs = keras.layers.Dense(200, bias_initializer=None, kernel_initializer=None)
    theirs.build((None, 50))
    ours = gn.layers.Dense(200, bias_initializer=None, kernel_initializer=None)
    ours.build((None, 50))
    for kind in ("kernel", "bias"):
        expected = np.asarray(keras.ops.convert_to_numpy(getattr(theirs, kind)))
        got = getattr(ours, kind).numpy()
        fans = (50 + 200) if kind == "kernel" else 400  # a bias's fans are its length twice
        limit = np.sqrt(6.0 / fans)
        assert np.abs(got).max() <= limit and np.abs(expected).max() <= limit
        # both uniform on [-limit, limit]: the same spread (std limit / sqrt 3)
        assert got.std() == pytest.approx(limit / np.sqrt(3), rel=0.15)
        assert expected.std() == pytest.approx(limit / np.sqrt(3), rel=0.15)


def test_constant_initializer_takes_a_one_element_array_as_the_tutorial_does():
    pos, neg = 10, 990
    initial_bias = np.log([pos / neg])
    layer = gn.layers.Dense(1, activation="sigmoid",
                            bias_initializer=gn.initializers.Constant(initial_bias))
    layer.build((None, 3))
    np.testing.assert_allclose(layer.bias.numpy(), np.log([pos / neg]).astype(np.float32))
    np.testing.assert_array_equal(gn.initializers.Constant([1.0, 2.0])((2, 2)),
                                  [[1.0, 2.0], [1.0, 2.0]])
    again = gn.initializers.Constant.from_config(gn.initializers.Constant([1, 2]).get_config())
    np.testing.assert_array_equal(again((2,)), [1.0, 2.0])
    with pytest.raises(gn.errors.ShapeError, match="does not fit"):
        gn.initializers.Constant([1.0, 2.0, 3.0])((2,))


@pytest.mark.slow
def test_to_categorical_matches_keras():
    keras = need("keras")
    for labels, k in (([0, 2, 1, 2], None), (np.array([[1], [0]]), 3)):
        np.testing.assert_array_equal(gn.keras.utils.to_categorical(labels, k),
                                      keras.utils.to_categorical(labels, k))


def test_metrics_names_zip_with_evaluate_as_the_imbalanced_data_tutorial_does():
    metrics = [gn.metrics.BinaryCrossentropy(name="cross entropy"),
               gn.metrics.MeanSquaredError(name="Brier score"),
               gn.metrics.TruePositives(name="tp"), gn.metrics.FalsePositives(name="fp"),
               gn.metrics.TrueNegatives(name="tn"), gn.metrics.FalseNegatives(name="fn"),
               gn.metrics.BinaryAccuracy(name="accuracy"), gn.metrics.Precision(name="precision"),
               gn.metrics.Recall(name="recall"), gn.metrics.AUC(name="auc"),
               gn.metrics.AUC(name="prc", curve="PR")]
    model = gn.keras.Sequential([gn.keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                                 gn.keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics)
    names = ["loss", "cross entropy", "Brier score", "tp", "fp", "tn", "fn", "accuracy",
             "precision", "recall", "auc", "prc"]
    assert model.metrics_names == names
    x = np.random.RandomState(0).standard_normal((40, 3))
    y = (x[:, 0] > 0.5).astype(float)
    results = model.evaluate(x, y, verbose=0)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert dict(zip(model.metrics_names, results)) == as_dict


def test_keras_saving_round_trips_a_model(tmp_path):
    from glassnet import keras

    model = _digits_model()
    keras.saving.save_model(model, tmp_path / "m.glassnet")
    again = keras.saving.load_model(tmp_path / "m.glassnet")
    x = np.random.RandomState(0).standard_normal((3, 64)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_lowercase_regularizers_of_the_overfitting_tutorial():
    from glassnet.keras import regularizers

    layer = gn.layers.Dense(4, kernel_regularizer=regularizers.l2(0.001))
    assert isinstance(layer.kernel_regularizer, gn.regularizers.L2)
    assert layer.kernel_regularizer.l2 == 0.001
    assert regularizers.l1_l2 is gn.regularizers.L1L2


def _digits_model():
    return gn.Sequential([gn.Input(shape=(64,)), gn.layers.Dense(25, activation="relu"),
                          gn.layers.Dropout(0.2), gn.layers.Dense(10, name="logits")])


def test_plot_model_svg_counts_weights_and_biases_without_any_dependency(tmp_path):
    plot = gn.keras.utils.plot_model(_digits_model(), to_file=tmp_path / "m.svg")
    text = (tmp_path / "m.svg").read_text()
    root = ET.fromstring(text)  # well-formed
    assert root.tag.endswith("svg")
    shown = " ".join("".join(t.itertext()) for t in root.iter() if t.tag.endswith("text"))
    for fragment in ("shape (None, 64)", "dense · Dense", "output (None, 25) · relu",
                     "1,600 weights", "25 biases", "no weights or biases", "logits · Dense",
                     "250 weights", "10 biases",
                     "1,850 weights + 35 biases = 1,885 parameters"):
        assert fragment in shown, fragment
    assert plot._repr_svg_() == text


def test_plot_model_png_leaves_the_matplotlib_backend_alone(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    before = matplotlib.get_backend()
    had_pyplot = "matplotlib.pyplot" in sys.modules
    plot = gn.keras.utils.plot_model(_digits_model(), to_file=tmp_path / "m.png", dpi=50)
    data = plot._repr_png_()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert matplotlib.get_backend() == before
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot
    assert not list(tmp_path.glob("*.part*"))


def test_plot_model_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(gn.errors.ConfigError, match=r"\.svg, \.png or \.pdf"):
        gn.keras.utils.plot_model(_digits_model(), to_file=tmp_path / "m.gif")
    with pytest.raises(gn.errors.ConfigError, match="rankdir"):
        gn.keras.utils.plot_model(_digits_model(), to_file=tmp_path / "m.svg", rankdir="BT")
