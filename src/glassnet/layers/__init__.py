"""Layers: Input, Dense, Activation, Dropout, Flatten, Normalization.

One module a concept: ``base`` (Layer, Input, naming, training buffers), ``dense``,
``core`` (layers without weights), ``normalization``. This package's namespace is what
users import, as ``tensorflow.keras.layers``.
"""

from __future__ import annotations

from glassnet.layers.base import (  # noqa: F401
    Input,
    InputLayer,
    Layer,
    _as_weight,
    _snake_case,
    reset_names,
    unique_name,
)
from glassnet.layers.core import Activation, Dropout, Flatten
from glassnet.layers.dense import Dense
from glassnet.layers.normalization import Normalization

LAYERS = {cls.__name__: cls for cls in (InputLayer, Dense, Activation, Dropout, Flatten,
                                        Normalization)}


def deserialize(config: dict) -> Layer:
    """Build a layer from ``{"class_name": ..., "config": {...}}``."""
    cls = LAYERS.get(config.get("class_name"))
    if cls is None:
        from glassnet.errors import unknown_name

        raise unknown_name("layer class", config.get("class_name"), LAYERS)
    return cls.from_config(dict(config["config"]))


def serialize(layer: Layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Layer",
           "Normalization", "deserialize", "serialize"]
