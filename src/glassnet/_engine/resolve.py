"""Turning what a user writes into an object: a name, a class, a config dict, an instance.

Keras lets ``"adam"``, ``Adam``, ``Adam(...)`` and ``{"class_name": "Adam", "config":
{...}}`` stand for an optimizer, and likewise for losses, metrics, initializers,
regularizers and constraints; each of those modules keeps a name-keyed table and
resolves through here, so an unknown name fails the same way everywhere: with the
valid names, sorted.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from glassnet.errors import unknown_name


def snake_case(name: str) -> str:
    """Keras's rule (``keras.src.utils.naming.to_snake_case``) for default names.

    Layer and loss names and a weights file's layer groups: ``Dense`` -> ``dense``,
    ``BatchNormalization`` -> ``batch_normalization``, ``ReLU`` -> ``re_lu``,
    ``MeanSquaredError`` -> ``mean_squared_error``; characters that cannot be in a
    Python name are dropped.
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def resolve(identifier, *, kind: str, base: type, names: dict[str, type],
            make: Callable | None = None):
    """The ``base`` instance ``identifier`` stands for.

    ``names`` maps the snake-case names (``"glorot_uniform"``) to classes; class names
    (``"GlorotUniform"``) are accepted too. ``make(cls, name)`` builds from a name when
    the plain ``cls()`` will not do.
    """
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    by_class = {cls.__name__: cls for cls in names.values()}
    if isinstance(identifier, dict):
        cls = by_class.get(identifier.get("class_name"))
        if cls is None:
            raise unknown_name(kind, identifier.get("class_name"), names)
        return cls.from_config(dict(identifier.get("config", {})))
    if isinstance(identifier, str):
        name = identifier if identifier in names else identifier.lower()
        if name in names:
            return make(names[name], name) if make is not None else names[name]()
        if identifier in by_class:
            return by_class[identifier]()
    raise unknown_name(kind, identifier, names)


def serialize(obj) -> dict | None:
    """``{"class_name": ..., "config": obj.get_config()}``, or None for None."""
    if obj is None:
        return None
    return {"class_name": type(obj).__name__, "config": obj.get_config()}
