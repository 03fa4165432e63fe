"""Keras 3 files out: ``save_keras(model, "m.keras")``, ``save_weights_h5(model, "w.weights.h5")``.

What is written is what Keras 3 itself writes, so ``keras.saving.load_model`` and
Keras's ``model.load_weights`` read it (tested against the real Keras):

- ``config.json``: the Keras architecture (``Sequential`` of ``InputLayer`` then each
  layer as ``{"module", "class_name", "config", "registered_name", "build_config"}``,
  or ``Functional``: the layers in Keras's order, each with its ``inbound_nodes``;
  a nested model is an entry holding its own config;
  glassnet's layer, initializer, regularizer, constraint, loss, metric and optimizer
  configs already use Keras's names and keys) and the ``compile_config``;
- ``metadata.json``: the Keras format version this follows and glassnet's version;
- ``model.weights.h5``: ``layers/<group>/vars/0, 1, ...`` per layer, the group named
  as Keras names it (class in snake case, numbered in Keras's order of the layers,
  ``keras_graph``; a nested model's layers under its group), the ``vars``
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
from glassnet.io.keras_graph import (
    is_model,
    keras_class_name,
    keras_groups,
    keras_layers,
    keras_trainable_order,
)
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


def _keras_objects(value, module: str):
    """``_keras_object`` through a several-output model's dict by output name or list
    (of losses, or of each output's metrics), as Keras stores them: as given."""
    if isinstance(value, dict) and "class_name" not in value:
        return {name: _keras_objects(item, module) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_keras_objects(item, module) for item in value]
    return _keras_object(value, module)


_WRITTEN = SUPPORTED_LAYERS + ("Add", "Concatenate")


def _layer_entry(layer, where: str) -> dict:
    """A layer (or a nested model) as a Keras config entry."""
    if is_model(layer):
        return keras_model_config(layer)
    class_name = keras_class_name(layer)
    if class_name not in _WRITTEN:
        raise FileFormatError(f"{where}: layer {layer.name!r} is a {class_name}, which "
                              f"glassnet does not write as Keras (it writes "
                              f"{', '.join(_WRITTEN)}, and models nested in models)")
    config = dict(layer.get_config())
    for key, module in _MODULES.items():
        if key in config:
            config[key] = _keras_object(config[key], module)
    shape = layer.input_shape
    shape = [list(s) for s in shape] if shape and isinstance(shape[0], tuple) else list(shape)
    return {"module": "keras.layers", "class_name": class_name, "config": config,
            "registered_name": None, "build_config": {"input_shape": shape}}


def _input_entry(shape, dtype: str, name: str) -> dict:
    return {"module": "keras.layers", "class_name": "InputLayer", "config": {
        "batch_shape": [None, *shape[1:]], "dtype": dtype, "sparse": False, "ragged": False,
        "name": name, "optional": False}, "registered_name": None}


def _functional_config(model) -> dict:
    """Keras's config of a functional model: its layers in Keras's order, each with the
    ``inbound_nodes`` it reads (``functional_config``'s layout)."""
    from glassnet.models.functional_config import _tensor_ref

    where = f"model {model.name!r}"
    entries = []
    for layer in keras_layers(model):
        node = layer._graph_node
        if not node.inputs:  # the InputLayer
            entry = _input_entry(node.output.shape, layer.dtype.name, layer.name)
            inbound = []
        else:
            entry = _layer_entry(layer, where)
            refs = [_tensor_ref(t) for t in node.inputs]
            inbound = [{"args": [refs] if node.takes_list else refs, "kwargs": {}}]
        entries.append({**entry, "name": layer.name, "inbound_nodes": inbound})
    from glassnet.models.functional_config import _layer_refs, output_refs

    shapes = [[None, *t.shape[1:]] for t in model.inputs]
    input_shape = shapes[0] if len(shapes) == 1 else shapes
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": model.name, "trainable": model.trainable, "layers": entries,
                       "input_layers": _layer_refs(model.inputs),
                       "output_layers": output_refs(model)},
            "registered_name": "Functional", "build_config": {"input_shape": input_shape}}


def keras_model_config(model) -> dict:
    """The Keras ``config.json`` of a built glassnet Sequential or functional Model
    (without compile_config); a model may hold nested models."""
    if getattr(model, "nodes", None) is not None and not getattr(model, "keras_sequential",
                                                                 False):
        return _functional_config(model)
    where = f"model {model.name!r}"
    input_shape = [None, *model.input_shape[1:]]
    layers = keras_layers(model)
    first = layers[0] if layers else None
    dtype = first.dtype.name if first is not None and not is_model(first) else "float32"
    return {"module": "keras", "class_name": "Sequential", "config": {
        "name": model.name, "trainable": model.trainable, "dtype": dtype,
        "layers": [_input_entry(input_shape, dtype, f"{model.name}_input")]
        + [_layer_entry(layer, where) for layer in layers],
        "build_input_shape": input_shape}, "registered_name": None,
        "build_config": {"input_shape": input_shape}}


def keras_compile_config(model) -> dict | None:
    """Keras's ``compile_config`` for a compiled glassnet model, or None."""
    config = model.get_compile_config()
    if not config:
        return None
    return {"optimizer": _keras_object(config["optimizer"], "keras.optimizers"),
            "loss": _keras_objects(config.get("loss"), "keras.losses"),
            "loss_weights": config.get("loss_weights"),
            "metrics": _keras_objects(config.get("metrics") or [], "keras.metrics"),
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


def _write_h5(model, include_optimizer: bool) -> bytes:
    """``model.weights.h5`` bytes in Keras's layout."""
    h5py = require("h5py", "io")
    out = io.BytesIO()
    with h5py.File(out, "w") as h5:
        _write_layers(model, h5)
        h5.create_group("vars").attrs["name"] = model.name
        optimizer = model.optimizer if include_optimizer else None
        if optimizer is not None:
            _write_optimizer(model, optimizer, h5.create_group("optimizer").create_group("vars"))
    return out.getvalue()


def _write_layers(model, parent) -> None:
    """``parent/layers/<group>/vars/0, 1...``; a nested model's layers under its group."""
    from glassnet.io.keras import stored_variables

    layers = parent.create_group("layers")
    for group_name, layer in keras_groups(model):
        group = layers.create_group(group_name)
        if is_model(layer):
            _write_layers(layer, group)
        variables = group.create_group("vars")
        variables.attrs["name"] = layer.name
        for i, variable in enumerate([] if is_model(layer) else stored_variables(layer)):
            variables.create_dataset(str(i), data=np.asarray(variable.value))


def _write_optimizer(model, optimizer, group) -> None:
    group.attrs["name"] = optimizer.name
    group.create_dataset("0", data=np.int64(optimizer.iterations))
    group.create_dataset("1", data=np.float32(optimizer.learning_rate))
    blocks = slot_blocks(optimizer)
    if blocks is None or not optimizer.built:
        return  # as Keras saves an optimizer before its first step: it starts fresh
    keras_order = keras_trainable_order(model)  # Keras's order of the slots' variables
    variables = model.trainable_variables
    for k, (slot, j) in enumerate(slot_order(blocks, len(variables))):
        i = keras_order[j]
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
