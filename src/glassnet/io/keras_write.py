"""Keras 3 files out: ``save_keras(model, "m.keras")``, ``save_weights_h5(model, "w.weights.h5")``.

What is written is what Keras 3 itself writes, so ``keras.saving.load_model`` and
Keras's ``model.load_weights`` read it (tested against the real Keras):

- ``config.json``: the Keras architecture (``Sequential`` of ``InputLayer`` then each
  layer as ``{"module", "class_name", "config", "registered_name", "build_config"}``;
  glassnet's layer, initializer, regularizer, constraint, loss, metric and optimizer
  configs already use Keras's names and keys) and the ``compile_config``;
- ``metadata.json``: the Keras format version this follows and glassnet's version;
- ``model.weights.h5``: ``layers/<group>/vars/0, 1, ...`` per layer, the group named
  as Keras names it (class in snake case, numbered in model order), the ``vars``
  group's ``name`` attribute the layer's name; ``vars`` (the model's own, empty);
  and ``optimizer/vars``: step count, learning rate, then the slots in Keras's
  layout (``keras_optimizer``).

No pickle, no code: JSON and HDF5 only. Writing is atomic, as for native files.
Only the layers glassnet can read back from Keras files are written; any other
raises ``FileFormatError`` naming it.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from glassnet.errors import FileFormatError, require
from glassnet.io.keras_config import SUPPORTED_LAYERS
from glassnet.io.keras_optimizer import slot_blocks, slot_order

KERAS_FORMAT_VERSION = "3.15.1"  # the Keras release whose file layout this follows
_MODULES = {"kernel_initializer": "keras.initializers", "bias_initializer": "keras.initializers",
            "kernel_regularizer": "keras.regularizers", "bias_regularizer": "keras.regularizers",
            "kernel_constraint": "keras.constraints", "bias_constraint": "keras.constraints"}


def _keras_object(spec, module: str):
    """glassnet's ``{"class_name", "config"}`` as Keras serializes an object."""
    if not isinstance(spec, dict):
        return spec  # None, or a name Keras resolves itself ("mse", "accuracy")
    return {"module": module, "class_name": spec["class_name"], "config": spec["config"],
            "registered_name": None}


def _layer_entry(layer, entry: dict) -> dict:
    config = dict(entry["config"])
    for key, module in _MODULES.items():
        if key in config:
            config[key] = _keras_object(config[key], module)
    return {"module": "keras.layers", "class_name": entry["class_name"], "config": config,
            "registered_name": None, "build_config": {"input_shape": list(layer.input_shape)}}


def keras_model_config(model) -> dict:
    """The Keras ``config.json`` of a built glassnet Sequential (without compile_config)."""
    config = model.get_config()
    entries = config.get("layers")
    if "input_layers" in config or "output_layers" in config:  # a functional model
        raise FileFormatError(f"model {model.name!r}: glassnet writes Sequential models as "
                              f"Keras files; a functional model is not written yet")
    if not isinstance(entries, list) or len(entries) != len(model.layers):
        raise FileFormatError(f"model {model.name!r} cannot be written as a Keras file: its "
                              f"config does not list one entry per layer")
    for entry in entries:
        if entry["class_name"] not in SUPPORTED_LAYERS:
            raise FileFormatError(
                f"model {model.name!r}: layer {entry['config'].get('name')!r} is a "
                f"{entry['class_name']}, which glassnet does not write as Keras (it writes "
                f"{', '.join(SUPPORTED_LAYERS)})")
    input_shape = [None, *model.input_shape[1:]]
    dtype = model.layers[0].get_config().get("dtype", "float32") if model.layers else "float32"
    input_layer = {"module": "keras.layers", "class_name": "InputLayer", "config": {
        "batch_shape": input_shape, "dtype": dtype, "sparse": False, "ragged": False,
        "name": "input_layer", "optional": False}, "registered_name": None}
    return {"module": "keras", "class_name": "Sequential", "config": {
        "name": model.name, "trainable": model.trainable, "dtype": dtype,
        "layers": [input_layer] + [_layer_entry(layer, entry)
                                   for layer, entry in zip(model.layers, entries, strict=True)],
        "build_input_shape": input_shape}, "registered_name": None,
        "build_config": {"input_shape": input_shape}}


def keras_compile_config(model) -> dict | None:
    """Keras's ``compile_config`` for a compiled glassnet model, or None."""
    config = model.get_compile_config()
    if not config:
        return None
    return {"optimizer": _keras_object(config["optimizer"], "keras.optimizers"),
            "loss": _keras_object(config.get("loss"), "keras.losses"),
            "loss_weights": None,
            "metrics": [_keras_object(m, "keras.metrics") for m in config.get("metrics") or []],
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


def _write_h5(model, include_optimizer: bool) -> bytes:
    """``model.weights.h5`` bytes in Keras's layout."""
    from glassnet.io.keras import keras_group_names, stored_variables

    h5py = require("h5py", "io")
    out = io.BytesIO()
    with h5py.File(out, "w") as h5:
        layers = h5.create_group("layers")
        for group_name, layer in zip(keras_group_names(model), model.layers, strict=True):
            group = layers.create_group(group_name).create_group("vars")
            group.attrs["name"] = layer.name
            for i, variable in enumerate(stored_variables(layer)):
                group.create_dataset(str(i), data=np.asarray(variable.value))
        h5.create_group("vars").attrs["name"] = model.name
        optimizer = model.optimizer if include_optimizer else None
        if optimizer is not None:
            _write_optimizer(model, optimizer, h5.create_group("optimizer").create_group("vars"))
    return out.getvalue()


def _write_optimizer(model, optimizer, group) -> None:
    group.attrs["name"] = optimizer.name
    group.create_dataset("0", data=np.int64(optimizer.iterations))
    group.create_dataset("1", data=np.float32(optimizer.learning_rate))
    blocks = slot_blocks(optimizer)
    if blocks is None or not optimizer.built:
        return  # as Keras saves an optimizer before its first step: it starts fresh
    variables = model.trainable_variables
    for k, (slot, i) in enumerate(slot_order(blocks, len(variables))):
        value = optimizer.slots[slot][model._segments[i]].reshape(variables[i].shape)
        group.create_dataset(str(2 + k), data=np.array(value))


def save_keras(model, filepath, include_optimizer=True) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` file that Keras loads, atomically."""
    from glassnet import __version__
    from glassnet.io.native import atomic_write, json_default

    filepath = Path(filepath)
    model._require_built()
    try:
        config = keras_model_config(model)
        compile_config = keras_compile_config(model)
        if compile_config is not None:
            config["compile_config"] = compile_config
        config_bytes = json.dumps(config, default=json_default).encode("utf-8")
    except FileFormatError as exc:
        raise FileFormatError(f"{filepath}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"{filepath}: the model's settings cannot be written as JSON: "
                              f"{exc}") from None
    metadata = json.dumps({"keras_version": KERAS_FORMAT_VERSION,
                           "glassnet_version": __version__}).encode("utf-8")
    weights = _write_h5(model, include_optimizer and compile_config is not None)
    with atomic_write(filepath) as tmp:
        with zipfile.ZipFile(tmp, "w") as archive:  # stored, as Keras writes it
            archive.writestr("metadata.json", metadata)
            archive.writestr("config.json", config_bytes)
            archive.writestr("model.weights.h5", weights)


def save_weights_h5(model, filepath) -> None:
    """Write every layer's weights as Keras's ``.weights.h5``, atomically.

    As Keras's ``save_weights``, a compiled model's optimizer state is written too
    (Keras warns when loading into a compiled model a file without it).
    """
    from glassnet.io.native import atomic_write

    filepath = Path(filepath)
    model._require_built()
    data = _write_h5(model, include_optimizer=model.optimizer is not None)
    with atomic_write(filepath) as tmp:
        tmp.write_bytes(data)
