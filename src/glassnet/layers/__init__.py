"""Layers: Input, Dense, Activation, Dropout, Flatten, Normalization, BatchNormalization,
ReLU, LeakyReLU, Softmax, GaussianNoise, Rescaling.

One module a concept: ``base`` (Layer, Input, naming, training buffers), ``dense``,
``core`` (layers without weights), ``normalization``, ``batch_normalization``,
``activation_layers``, ``noise``, ``preprocessing``. This package's namespace is what
users import, as ``tensorflow.keras.layers``.
"""

from __future__ import annotations

from glassnet.layers.activation_layers import LeakyReLU, ReLU, Softmax
from glassnet.layers.base import (  # noqa: F401
    Input,
    InputLayer,
    Layer,
    _as_weight,
    reset_names,
    unique_name,
)
from glassnet.layers.batch_normalization import BatchNormalization
from glassnet.layers.core import Activation, Dropout, Flatten
from glassnet.layers.dense import Dense
from glassnet.layers.merging import Add, Concatenate, add, concatenate
from glassnet.layers.noise import GaussianNoise
from glassnet.layers.normalization import Normalization
from glassnet.layers.preprocessing import Rescaling

LAYERS = {cls.__name__: cls for cls in (InputLayer, Dense, Activation, Dropout, Flatten,
                                        Normalization)}
LAYERS.update({cls.__name__: cls for cls in (BatchNormalization, ReLU, LeakyReLU, Softmax,
                                             GaussianNoise, Rescaling)})
LAYERS.update({cls.__name__: cls for cls in (Add, Concatenate)})


def deserialize(config: dict) -> Layer:
    """Build a layer from ``{"class_name": ..., "config": {...}}``."""
    cls = LAYERS.get(config.get("class_name"))
    if config.get("class_name") == "Functional":  # a model nested as a layer
        from glassnet.models.functional import Model as cls
    if config.get("class_name") == "Sequential":  # a Sequential nested in a Sequential
        from glassnet.models.nested_sequential import NestedSequential as cls
    if cls is None:
        from glassnet.errors import unknown_name

        raise unknown_name("layer class", config.get("class_name"), LAYERS)
    return cls.from_config(dict(config["config"]))


def serialize(layer: Layer) -> dict:
    return {"class_name": getattr(layer, "serialized_class_name", type(layer).__name__),
            "config": layer.get_config()}


__all__ = ["Activation", "Add", "BatchNormalization", "Concatenate", "Dense", "Dropout",
           "Flatten", "GaussianNoise", "Input", "InputLayer", "Layer", "LeakyReLU",
           "Normalization", "ReLU", "Rescaling", "Softmax", "add", "concatenate",
           "deserialize", "serialize"]
