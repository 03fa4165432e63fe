"""The public API is explicit: each module's ``__all__`` is pinned here.

A change to a public name is a change to this file, made on purpose.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import glassnet

PUBLIC = {
    "glassnet": [
        "Input", "Model", "Sequential", "Tensor", "Variable", "__version__", "activations",
        "backend", "callbacks", "constraints", "datasets", "errors", "initializers", "inspect",
        "io", "keras", "layers", "losses", "metrics", "models", "nn", "optimizers", "random",
        "regularizers", "report", "sklearn", "sweep", "track", "utils"],
    "glassnet.activations": [
        "ACTIVATIONS", "ActivationFn", "elu", "gelu", "get", "leaky_relu", "linear", "relu",
        "serialize", "sigmoid", "silu", "softmax", "softplus", "tanh"],
    "glassnet.backend": ["epsilon", "floatx", "set_epsilon", "set_floatx", "standardize_dtype"],
    "glassnet.callbacks": [
        "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
        "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "TerminateOnNaN"],
    "glassnet.constraints": ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get",
                             "serialize"],
    "glassnet.datasets": ["FRAUD_FEATURES", "load", "load_coffee", "load_csv", "load_digits",
                          "load_fraud", "load_house_prices", "names"],
    "glassnet.initializers": [
        "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "INITIALIZERS",
        "Initializer", "LecunNormal", "LecunUniform", "Ones", "RandomNormal", "RandomUniform",
        "TruncatedNormal", "VarianceScaling", "Zeros", "get", "serialize"],
    "glassnet.layers": ["Activation", "Add", "BatchNormalization", "Concatenate", "Dense",
                        "Dropout", "Flatten", "GaussianNoise", "Input", "InputLayer", "Layer",
                        "LeakyReLU", "Normalization", "ReLU", "Rescaling", "Softmax",
                        "add", "concatenate", "deserialize",
                        "serialize"],
    "glassnet.losses": [
        "BinaryCrossentropy", "CategoricalCrossentropy", "Huber", "LOSSES", "Loss",
        "MeanAbsoluteError", "MeanSquaredError", "SparseCategoricalCrossentropy", "get",
        "serialize"],
    "glassnet.keras": [
        "Input", "Model", "Sequential", "activations", "backend", "callbacks", "constraints",
        "datasets", "initializers", "layers", "losses", "metrics", "models", "ops",
        "optimizers", "regularizers", "saving", "utils"],
    "glassnet.keras.ops": [
        "abs", "absolute", "add", "arange", "argmax", "argmin", "cast", "clip",
        "concatenate", "convert_to_numpy", "convert_to_tensor", "divide", "dot", "equal",
        "exp", "expand_dims", "greater", "greater_equal", "less", "less_equal", "linspace",
        "log", "log_softmax", "logical_and", "logical_not", "logical_or", "matmul", "max",
        "maximum", "mean", "min", "minimum", "multiply", "negative", "norm", "not_equal",
        "one_hot", "ones", "ones_like", "power", "relu", "reshape", "shape", "sigmoid",
        "sign", "softmax", "sqrt", "square", "squeeze", "stack", "subtract", "sum", "tanh",
        "transpose", "true_divide", "where", "zeros", "zeros_like"],
    "glassnet.keras.saving": ["load_model", "save_model"],
    "glassnet.keras.backend": ["backend", "clear_session", "epsilon", "floatx", "set_epsilon",
                               "set_floatx", "standardize_dtype"],
    "glassnet.metrics": [
        "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
        "CategoricalCrossentropy", "FalseNegatives", "FalsePositives", "KLDivergence",
        "LogCoshError", "METRICS", "Mean", "MeanAbsoluteError", "MeanAbsolutePercentageError",
        "MeanMetricWrapper", "MeanSquaredError", "MeanSquaredLogarithmicError", "Metric",
        "Precision", "Recall", "RootMeanSquaredError", "SparseCategoricalAccuracy",
        "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy", "Sum",
        "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives", "get", "serialize"],
    "glassnet.models": ["Model", "Sequential", "load_model", "model_from_json"],
    "glassnet.nn": ["elu", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu",
                    "softmax", "softplus", "swish", "tanh"],
    "glassnet.optimizers": ["Adagrad", "Adam", "AdamW", "OPTIMIZERS", "Optimizer", "RMSprop",
                            "SGD", "get", "serialize"],
    "glassnet.random": ["generator", "normal", "seeded", "set_random_seed", "set_seed",
                        "uniform"],
    "glassnet.schedules": [
        "CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
        "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "SCHEDULES",
        "deserialize", "serialize"],
    "glassnet.tensor": ["Scalar", "Tensor", "as_result", "as_tensor"],
    "glassnet.regularizers": ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2",
                              "serialize"],
    "glassnet.utils": ["clear_session", "plot_model", "set_random_seed", "to_categorical"],
    "glassnet.variables": ["Variable"],
}

# Resolved on first use (they import heavier dependencies); checked by their own tests.
LAZY = {"inspect", "io", "keras", "nn", "report", "sklearn", "sweep", "track"}


@pytest.mark.parametrize("module_name", list(PUBLIC))
def test_all_is_pinned_and_sorted(module_name):
    module = importlib.import_module(module_name)
    assert module.__all__ == PUBLIC[module_name]
    assert list(module.__all__) == sorted(module.__all__)


@pytest.mark.parametrize("module_name", list(PUBLIC))
def test_every_public_name_exists(module_name):
    module = importlib.import_module(module_name)
    for name in module.__all__:
        if module_name == "glassnet" and name in LAZY:
            continue
        assert hasattr(module, name), f"{module_name}.{name}"


def test_dir_of_the_package_is_its_public_api():
    assert dir(glassnet) == PUBLIC["glassnet"]


def test_unknown_attribute_of_the_package_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'glassnet' has no attribute 'nope'"):
        glassnet.nope  # noqa: B018


def test_keras_style_code_runs_after_changing_the_imports():
    import glassnet as keras
    from glassnet import Input, Sequential
    from glassnet.layers import Dense

    keras.utils.set_random_seed(0)
    model = Sequential([Input(shape=(1,)), Dense(1, activation="sigmoid", name="L1")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=keras.losses.BinaryCrossentropy(), metrics=["accuracy"])
    history = model.fit(np.array([[0.0], [1.0]]), np.array([0, 1]), epochs=2, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert model.get_layer("L1").kernel.path == "L1/kernel"
    assert glassnet.__version__ == "0.1.0"
