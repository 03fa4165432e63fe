"""glassnet: see, understand and track the weights and biases of neural networks.

The engine (``layers``, ``models``, ``optimizers``...) imports NumPy and nothing heavier.
Tracking, inspection, reports, files and the scikit-learn bridge load on first use.

TF code runs with ``import glassnet as tf``: ``tf.keras`` (also ``from glassnet import
keras``), ``tf.nn``, ``tf.random.set_seed`` and the few helpers course code uses beside
them (``tf.constant``, ``tf.cast``, ``tf.float32``, ``tf.get_logger``...; see
``glassnet.tfcompat``), all resolved on first use.
"""

from __future__ import annotations

from importlib import import_module

from glassnet import (
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    errors,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    random,
    regularizers,
    utils,
)
from glassnet.layers import Input
from glassnet.models import Model, Sequential
from glassnet.tensor import Tensor
from glassnet.variables import Variable

__version__ = "0.1.0"

_LAZY_MODULES = ("inspect", "io", "keras", "nn", "report", "sklearn", "track")
_LAZY_ATTRIBUTES = {"sweep": ("glassnet.sklearn.sweeps", "sweep")}

# TF's names outside tf.keras (tf.constant, tf.float32...), kept out of __all__ and dir().
_TF_NAMES = {"bool": "bool_"}

__all__ = [
    "Input", "Model", "Sequential", "Tensor", "Variable", "__version__", "activations",
    "backend", "callbacks", "constraints", "datasets", "errors", "initializers", "inspect",
    "io", "keras", "layers", "losses", "metrics", "models", "nn", "optimizers", "random",
    "regularizers", "report", "sklearn", "sweep", "track", "utils",
]


def __getattr__(name):
    if name in _LAZY_MODULES:
        return import_module(f"glassnet.{name}")
    if name in _LAZY_ATTRIBUTES:
        module, attribute = _LAZY_ATTRIBUTES[name]
        return getattr(import_module(module), attribute)
    tfcompat = import_module("glassnet.tfcompat")
    if _TF_NAMES.get(name, name) in tfcompat.NAMES:
        return getattr(tfcompat, _TF_NAMES.get(name, name))
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")


def __dir__():
    return __all__
