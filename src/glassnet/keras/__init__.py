"""The ``keras`` namespace, so TF and Keras code runs with only its imports changed.

``from glassnet import keras``, ``import glassnet as tf; tf.keras.layers.Dense(1)``,
``from glassnet.keras.layers import Dense`` and ``from glassnet.keras.optimizers.schedules
import ExponentialDecay`` all work: each submodule here *is* the glassnet module of
the same name (``glassnet.keras.layers is glassnet.layers``), registered under this
package's name too, so whatever glassnet adds to them appears here at once.
``Sequential``, ``Model`` and ``Input`` are glassnet's, looked up on each access;
``ops`` (Keras 3's ``keras.ops`` on NumPy) is imported on first use.
"""

from __future__ import annotations

import sys
from importlib import import_module

# keras name -> the glassnet module that plays it
SUBMODULES = {
    "activations": "glassnet.activations", "backend": "glassnet.keras.backend",
    "callbacks": "glassnet.callbacks", "constraints": "glassnet.constraints",
    "datasets": "glassnet.datasets", "initializers": "glassnet.initializers",
    "layers": "glassnet.layers", "losses": "glassnet.losses", "metrics": "glassnet.metrics",
    "models": "glassnet.models", "optimizers": "glassnet.optimizers",
    "regularizers": "glassnet.regularizers", "saving": "glassnet.keras.saving",
    "utils": "glassnet.utils",
}
_FROM_GLASSNET = ("Input", "Model", "Sequential")

for _name, _target in SUBMODULES.items():
    _module = import_module(_target)
    globals()[_name] = _module
    sys.modules.setdefault(f"{__name__}.{_name}", _module)
sys.modules.setdefault(f"{__name__}.optimizers.schedules",
                       import_module("glassnet.optimizers").schedules)

__version__ = "3.0.0"  # the Keras API glassnet follows (code sometimes checks it)


def __getattr__(name):
    if name in _FROM_GLASSNET:
        return getattr(import_module("glassnet"), name)
    if name == "ops":  # Keras 3's ops, on NumPy; imported on first use
        return import_module("glassnet.keras.ops")
    raise AttributeError(f"module 'glassnet.keras' has no attribute {name!r}")


def __dir__():
    return __all__


__all__ = ["Input", "Model", "Sequential", "activations", "backend", "callbacks",
           "constraints", "datasets", "initializers", "layers", "losses", "metrics", "models",
           "ops", "optimizers", "regularizers", "saving", "utils"]
