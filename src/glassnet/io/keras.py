"""Keras 3 files in: ``load_keras("model.keras")`` and ``load_weights_h5(model, "x.weights.h5")``.

A Keras 3 ``.keras`` file is a zip of ``metadata.json``, ``config.json`` (the
architecture and compile settings) and ``model.weights.h5`` (HDF5). In the HDF5
file each layer's weights sit in ``layers/<group>/vars/0, 1, ...`` where the group
is the layer's class in snake case, numbered in Keras's order of ``model.layers``
(``dense``, ``dense_1``...; for a functional model that order is by depth, not the
order of the calls: ``keras_graph``), and the ``vars`` group's ``name`` attribute is
the layer's name. A nested model's layers sit under its own group
(``layers/functional/layers/dense/vars/0``). A ``.weights.h5`` file
(``model.save_weights``) has the same layout.

What is read, and why it is safe with a file from a stranger:

- the zip is read by ``glassnet.io.archive``: only those three members may exist,
  each is read into memory with its header checked first (no zip bomb, no
  ``../escape``, no extra ``evil.pkl``), and nothing is extracted to disk;
- ``config.json`` is JSON, translated setting by setting (``keras_config``); no
  Keras code, no ``module``/``registered_name`` lookups and no lambda is ever run;
- the HDF5 bytes are opened by h5py from memory (``io.BytesIO``), read-only; only
  the datasets the model needs are read, each after checking it is a plain
  numeric dataset of the expected shape stored in the file itself (hard links
  only, no external or virtual storage that could read other files, only the
  standard gzip/lzf/shuffle/fletcher32 filters), so a dataset claiming a huge
  size is refused before it is read. HDF5 never unpickles anything;
- every weight is checked before the first one is set.

A compiled model's optimizer state (``optimizer/vars``: the step count, the
learning rate, then the slots in Keras's layout, ``keras_optimizer``) is read for
Adam, AdamW, SGD, RMSprop and Adagrad, so training continues where Keras stopped;
an optimizer saved before its first step starts fresh (as Keras starts it), and
other optimizers get Keras's settings and start from fresh slots.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np

from glassnet.errors import FileFormatError, require
from glassnet.io.archive import Archive, check_regular_file
from glassnet.io.keras_config import compile_from_keras
from glassnet.io.keras_graph import is_model, keras_groups, keras_trainable_order
from glassnet.io.keras_models import model_from_keras
from glassnet.io.keras_optimizer import slot_blocks, slot_order
from glassnet.io.matching import WeightShapeError, set_all

_MAX_JSON_BYTES = 16 * 2**20
_MAX_H5_BYTES = 2 * 2**30
_SAFE_FILTERS = {"gzip", "lzf", "shuffle", "fletcher32"}
_MAX_SLOTS = 3


def load_keras(filepath, compile=True):
    """Load a Keras 3 ``.keras`` file: a Sequential or functional model (nesting allowed).

    Layer names, activations, ``use_bias``, regularizers, constraints and the
    Normalization statistics are kept; with ``compile`` the model is compiled with
    the optimizer, loss and metrics Keras saved. An unsupported layer raises a
    ``FileFormatError`` naming its Keras class.
    """
    path = Path(filepath)
    with Archive(path, "Keras .keras file",
                 {"config.json": _MAX_JSON_BYTES, "model.weights.h5": _MAX_H5_BYTES},
                 {"metadata.json": _MAX_JSON_BYTES}) as archive:
        if "metadata.json" in archive.names:
            _json(archive.read("metadata.json"), f"{path}: metadata.json")
        config = _json(archive.read("config.json"), f"{path}: config.json")
        # Keras stores weights uncompressed: the HDF5 file has at least a byte per number.
        model = model_from_keras(config, str(path),
                                      max_weights=archive.declared_size("model.weights.h5"))
        bound = h5_bound(model, optimizer=bool(config.get("compile_config")))
        h5_bytes = archive.read("model.weights.h5", bound,
                                "the model config.json describes can need")
    where = f"{path}: model.weights.h5"
    with _open_h5(h5_bytes, where) as h5:
        _read_layer_weights(model, h5, where, check_names=True)
        if compile and config.get("compile_config"):
            compile_from_keras(model, config["compile_config"], str(path))
            _read_optimizer_state(model, h5, where)
    return model


def h5_bound(model, optimizer: bool = True) -> int:
    """The most bytes an HDF5 weights file for ``model`` can need.

    The model's weights in their dtype, with ``optimizer`` up to three optimizer
    slots for each trainable one, plus HDF5's own bookkeeping: a fixed 1 MiB and
    64 KiB per layer (a Keras file for a small model is about 18 KB). Reading the
    file then holds about what the model and its optimizer hold: with the model,
    about twice the memory of the model the file describes.
    """
    weights = sum(v.value.nbytes for v in model.weights)
    slots = sum(v.value.nbytes for v in model.trainable_variables) * _MAX_SLOTS
    return weights + (slots if optimizer else 0) + 2**20 + 2**16 * (len(model.layers) + 4)


def load_weights_h5(model, filepath) -> None:
    """Read a Keras ``.weights.h5`` file (or the weights of a ``.keras`` file) into ``model``.

    Layers are matched as Keras matches them: by class and position, not by name.
    """
    path = Path(filepath)
    model._require_built()
    if path.name.endswith(".keras"):
        with Archive(path, "Keras .keras file",
                     {"config.json": _MAX_JSON_BYTES, "model.weights.h5": _MAX_H5_BYTES},
                     {"metadata.json": _MAX_JSON_BYTES}) as archive:
            data = archive.read("model.weights.h5", h5_bound(model),
                                f"the weights of model {model.name!r} can need")
        where = f"{path}: model.weights.h5"
    else:
        size = check_regular_file(path, "Keras weights file")
        if size > min(_MAX_H5_BYTES, h5_bound(model)):
            raise FileFormatError(f"{path}: {size} bytes, more than the "
                                  f"{min(_MAX_H5_BYTES, h5_bound(model))} the weights of model "
                                  f"{model.name!r} can need")
        data, where = path.read_bytes(), str(path)
    with _open_h5(data, where) as h5:
        _read_layer_weights(model, h5, where, check_names=False)


def _json(raw: bytes, where: str):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FileFormatError(f"{where} is not valid JSON: {exc}") from None


@contextlib.contextmanager
def _open_h5(data: bytes, where: str):
    h5py = require("h5py", "io")
    if not data.startswith(b"\x89HDF\r\n\x1a\n"):
        raise FileFormatError(f"{where} is not an HDF5 file (no HDF5 signature)")
    try:
        handle = h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError, RuntimeError) as exc:
        raise FileFormatError(f"{where} is not a readable HDF5 file: {exc}") from None
    with handle:
        yield handle


def _child(h5py, group, key: str, kind, where: str, required: bool = True):
    """``group[key]`` if it is a hard-linked ``kind`` (no links to other files)."""
    try:
        link = group.get(key, getlink=True)
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise FileFormatError(f"{where}: {group.name}/{key} cannot be read: {exc}") from None
    if link is None:
        if required:
            raise FileFormatError(f"{where}: {group.name}/{key} is missing")
        return None
    if not isinstance(link, h5py.HardLink):
        raise FileFormatError(f"{where}: {group.name}/{key} is a {type(link).__name__}, "
                              f"not data stored in the file")
    try:
        obj = group[key]
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise FileFormatError(f"{where}: {group.name}/{key} cannot be read: {exc}") from None
    if not isinstance(obj, kind):
        raise FileFormatError(f"{where}: {obj.name} is not an HDF5 {kind.__name__}")
    return obj


def _dataset_value(h5py, dataset, shape_wanted: tuple, label: str, where: str) -> np.ndarray:
    name = dataset.name
    try:
        filters = set(h5py.filters.get_filters(dataset.id.get_create_plist()))
        external, virtual = dataset.external, dataset.is_virtual
        dtype, shape = dataset.dtype, dataset.shape
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise FileFormatError(f"{where}: {name} cannot be read: {exc}") from None
    if external or virtual:
        raise FileFormatError(f"{where}: {name} keeps its data outside the file")
    if not filters <= _SAFE_FILTERS:
        raise FileFormatError(f"{where}: {name} uses HDF5 filters {sorted(map(str, filters))}"
                              f"; only {', '.join(sorted(_SAFE_FILTERS))} are read")
    if dtype.kind not in "fiu":
        raise FileFormatError(f"{where}: {name} holds {dtype}, not numbers, for {label}")
    if tuple(shape) != tuple(shape_wanted):
        raise WeightShapeError(f"{where}: {name} has shape {tuple(shape)}, {label} needs "
                              f"{tuple(shape_wanted)}")
    try:
        return np.asarray(dataset[()])
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise FileFormatError(f"{where}: {name} cannot be read: {exc}") from None


def keras_group_names(model) -> list[str]:
    """The ``layers/<group>`` name Keras gives each layer of ``model``, in Keras's order."""
    return [name for name, _ in keras_groups(model)]


def stored_variables(layer) -> list:
    """The Variables Keras stores for ``layer``, in its order."""
    from glassnet.layers import Normalization

    if isinstance(layer, Normalization) and layer._given[0] is not None:
        return []  # mean and variance given to the constructor: Keras keeps them in config
    return layer.weights


def _read_layer_weights(model, h5, where: str, check_names: bool) -> None:
    checked: list = []
    _read_container(model, h5, where, check_names, checked)
    set_all(checked, where)


def _saved_name(h5py, group, where: str):
    vars_group = _child(h5py, group, "vars", h5py.Group, where, required=False)
    name = None if vars_group is None else vars_group.attrs.get("name")
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else name


def _read_container(model, parent, where: str, check_names: bool, checked: list) -> None:
    """Check the weights of ``model``'s layers under ``parent/layers`` into ``checked``;
    a nested model's layers are under its own group, as Keras saves them."""
    h5py = require("h5py", "io")
    layers_group = _child(h5py, parent, "layers", h5py.Group, where,
                          required=bool(model.weights) or parent.name == "/")
    if layers_group is None:
        return
    expected = dict(keras_groups(model))
    for group_name, layer in expected.items():
        variables = [] if is_model(layer) else stored_variables(layer)
        group = _child(h5py, layers_group, group_name, h5py.Group, where,
                       required=bool(layer.weights if is_model(layer) else variables))
        if group is None:
            continue
        saved_name = _saved_name(h5py, group, where)
        if check_names and saved_name is not None and saved_name != layer.name:
            raise FileFormatError(f"{where}: {group.name} holds the weights of layer "
                                  f"{saved_name!r}, but config.json puts {layer.name!r} there")
        if is_model(layer):
            _read_container(layer, group, where, check_names, checked)
            continue
        vars_group = _child(h5py, group, "vars", h5py.Group, where, required=bool(variables))
        if vars_group is None:
            continue
        keys = sorted(vars_group.keys())
        wanted = [str(i) for i in range(len(variables))]
        if keys != sorted(wanted):
            raise FileFormatError(f"{where}: layer {layer.name!r} ({type(layer).__name__}) "
                                  f"needs {len(variables)} weight arrays "
                                  f"({', '.join(v.name for v in variables) or 'none'}), "
                                  f"{vars_group.name} has {len(keys)}")
        for key, variable in zip(wanted, variables, strict=True):
            dataset = _child(h5py, vars_group, key, h5py.Dataset, where)
            label = f"{variable.path!r} (layer {layer.name!r}, variable {variable.name!r})"
            value = _dataset_value(h5py, dataset, variable.shape, label, where)
            checked.append((variable, value))
    extra = sorted(set(layers_group.keys()) - set(expected))
    for name in extra:
        group = _child(h5py, layers_group, name, h5py.Group, where)
        vars_group = _child(h5py, group, "vars", h5py.Group, where, required=False)
        if (vars_group is not None and len(vars_group)) or "layers" in group:
            raise FileFormatError(f"{where}: the file has weights for layer group {name!r}, "
                                  f"which model {model.name!r} does not have (its groups: "
                                  f"{', '.join(expected)})")


def _read_optimizer_state(model, h5, where: str) -> bool:
    """Set the optimizer's step count and slots from Keras's; False if not possible.

    The layout is Keras's (``keras_optimizer``). An optimizer saved before its first
    step holds only the step count and learning rate: it starts fresh, as in Keras.
    """
    h5py = require("h5py", "io")
    optimizer = model.optimizer
    blocks = slot_blocks(optimizer)
    if blocks is None:
        return False
    group = _child(h5py, h5, "optimizer", h5py.Group, where, required=False)
    vars_group = None
    if group is not None:
        vars_group = _child(h5py, group, "vars", h5py.Group, where, required=False)
    if vars_group is None or len(vars_group) == 0:
        return False  # saved without an optimizer: nothing to restore
    keras_order = keras_trainable_order(model)  # Keras's order of the slots' variables
    variables = [model.trainable_variables[i] for i in keras_order]
    order = slot_order(blocks, len(variables))
    count = 2 + len(order)
    if not order and len(vars_group) == 2 + len(variables):
        count = len(vars_group)  # Keras versions that keep SGD momentum slots at momentum 0
    if len(vars_group) == 2 and count > 2 and sorted(vars_group.keys()) == ["0", "1"]:
        return False  # compiled but never trained: Keras starts it fresh, so do we
    slots = sorted({slot for block in blocks for slot in block})
    if sorted(vars_group.keys()) != sorted(str(i) for i in range(count)):
        raise FileFormatError(f"{where}: /optimizer/vars has {len(vars_group)} arrays; "
                              f"{type(optimizer).__name__} over {len(variables)} variables "
                              f"needs {count} (iterations, learning rate, "
                              f"{' and '.join(slots) or 'no slots'} per variable)")
    iterations = _dataset_value(h5py, _child(h5py, vars_group, "0", h5py.Dataset, where), (),
                                "the optimizer's step count", where)
    values = []
    for k, (slot, i) in enumerate(order):
        dataset = _child(h5py, vars_group, str(2 + k), h5py.Dataset, where)
        label = f"slot {slot!r} of {variables[i].path!r}"
        values.append((slot, model._segments[keras_order[i]],
                       _dataset_value(h5py, dataset, variables[i].shape, label, where)))
    if int(iterations) < 0:
        raise FileFormatError(f"{where}: the optimizer's step count is {int(iterations)}")
    for slot, segment, value in values:
        optimizer.slots[slot][segment] = value.reshape(-1)
    optimizer.iterations = int(iterations)
    return True
