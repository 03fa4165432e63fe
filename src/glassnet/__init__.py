"""glassnet: see, understand and track the weights and biases of neural networks.

The engine (``layers``, ``models``, ``optimizers``...) imports NumPy and nothing heavier.
Tracking, inspection, reports, files and the scikit-learn bridge load on first use.
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
    regularizers,
    utils,
)
from glassnet.layers import Input
from glassnet.models import Model, Sequential
from glassnet.variables import Variable

__version__ = "0.1.0"

_LAZY_MODULES = ("inspect", "io", "report", "sklearn", "track")
_LAZY_ATTRIBUTES = {"sweep": ("glassnet.sweeps", "sweep")}

__all__ = [
    "Input", "Model", "Sequential", "Variable", "__version__", "activations", "backend",
    "callbacks", "constraints", "datasets", "errors", "initializers", "inspect", "io",
    "layers", "losses", "metrics", "models", "optimizers", "regularizers", "report",
    "sklearn", "sweep", "track", "utils",
]


def __getattr__(name):
    if name in _LAZY_MODULES:
        return import_module(f"glassnet.{name}")
    if name in _LAZY_ATTRIBUTES:
        module, attribute = _LAZY_ATTRIBUTES[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")


def __dir__():
    return __all__
