"""Which file format a model's ``save`` / ``save_weights`` / ``load_weights`` / ``load_model`` use.

The file name decides, as in Keras:

- ``.keras``: a Keras 3 model file (``glassnet.io.keras_write`` / ``glassnet.io.keras``);
- ``.weights.h5`` (any ``.h5`` for weights): Keras's weights file;
- ``.glassnet``: glassnet's own model file; ``.safetensors``: its weights file
  (``glassnet.io.native``).

This is the one module of ``io`` that ``models`` imports (``models`` sits below ``io``:
io builds models, so models reach files only through here, and lazily).

Loading weights matches them to the model by position, as Keras does, so a freshly
built model of the same layers takes them whatever its generated layer names.
"""

from __future__ import annotations

from pathlib import Path


def _name(filepath) -> str:
    return Path(filepath).name


def save(model, filepath, include_optimizer=True) -> None:
    """``model.save``: Keras's format for ``.keras``, glassnet's own otherwise."""
    if _name(filepath).endswith(".keras"):
        from glassnet.io.keras_write import save_keras

        save_keras(model, filepath, include_optimizer=include_optimizer)
        return
    from glassnet.io.native import save_model

    save_model(model, filepath, include_optimizer=include_optimizer)


def save_weights(model, filepath) -> None:
    """``model.save_weights``: Keras's ``.weights.h5`` or glassnet's ``.safetensors``."""
    if _name(filepath).endswith(".h5"):
        from glassnet.io.keras_write import save_weights_h5

        save_weights_h5(model, filepath)
        return
    from glassnet.io.native_weights import save_weights as save_native

    save_native(model, filepath)


def load_weights(model, filepath) -> None:
    """``model.load_weights`` from ``.weights.h5``, ``.keras``, ``.safetensors``, ``.glassnet``."""
    name = _name(filepath)
    if name.endswith((".h5", ".keras")):
        from glassnet.io.keras import load_weights_h5

        load_weights_h5(model, filepath)
        return
    from glassnet.io.native_weights import load_weights as load_native

    load_native(model, filepath)


def load_model(filepath, compile=True):
    """``glassnet.models.load_model``: a ``.keras`` file or a ``.glassnet`` file."""
    if _name(filepath).endswith(".keras"):
        from glassnet.io.keras import load_keras

        return load_keras(filepath, compile=compile)
    from glassnet.io.native import load_model as load_native

    return load_native(filepath, compile=compile)


def model_from_keras_config(document: dict, where: str):
    """The glassnet model a Keras architecture describes (``model_from_json`` of
    Keras's own JSON, translated as a ``.keras`` file's config is)."""
    from glassnet.io.keras_models import model_from_keras

    return model_from_keras(document, where)
