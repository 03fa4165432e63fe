"""The native model file ``NAME.glassnet``, and weights-only ``.safetensors`` files.

A ``.glassnet`` file is a zip with exactly two members:

- ``config.json``: format name and version, glassnet version, the model's
  architecture (``get_config()``), its compile settings and the list of Variables
  (path, shape, dtype) the weights member must hold;
- ``model.safetensors``: every Variable by its path, plus optional optimizer slots
  under ``optimizer/<slot>``.

Writing is atomic (a temporary file beside the target, then ``os.replace``): a crash
mid-save never leaves a broken file where a good one stood. Reading opens only
those two members, extracts nothing to disk, loads no pickle, and checks every
Variable's presence, shape and dtype before any weight is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from glassnet.errors import FileFormatError

FORMAT = "glassnet"
FORMAT_VERSION = 1
CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.safetensors"
_MAX_CONFIG_BYTES = 16 * 2**20
_MAX_WEIGHTS_BYTES = 8 * 2**30


def _version() -> str:
    from glassnet import __version__

    return __version__


@contextlib.contextmanager
def atomic_write(path: Path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` at once."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _tensors(model) -> dict[str, np.ndarray]:
    return {v.path: np.ascontiguousarray(v.value) for v in model.weights}


def _variable_list(model) -> list[dict]:
    return [{"path": v.path, "shape": list(v.shape), "dtype": v.dtype.name,
             "trainable": v.trainable} for v in model.weights]


def save_model(model, filepath, include_optimizer=True) -> None:
    """Write ``model`` to ``filepath`` (a ``.glassnet`` zip), atomically."""
    from safetensors.numpy import save

    model._require_built()
    tensors = _tensors(model)
    optimizer_state = None
    optimizer = model.optimizer
    if include_optimizer and optimizer is not None and optimizer.built:
        optimizer_state = {"iterations": optimizer.iterations, "slots": sorted(optimizer.slots)}
        for name, slot in optimizer.slots.items():
            tensors[f"optimizer/{name}"] = slot
    config = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "glassnet_version": _version(),
        "model": model.get_config(), "compile": model.get_compile_config(),
        "variables": _variable_list(model), "optimizer_state": optimizer_state,
    }
    weights = save(tensors, metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)})
    with atomic_write(Path(filepath)) as tmp:
        with zipfile.ZipFile(tmp, "w") as archive:
            archive.writestr(CONFIG_MEMBER, json.dumps(config, indent=1),
                             compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr(WEIGHTS_MEMBER, weights, compress_type=zipfile.ZIP_STORED)


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise FileFormatError(f"{path}: not a glassnet model file: member {name!r} is "
                              f"missing") from None
    if info.file_size > limit:
        raise FileFormatError(f"{path}: member {name!r} claims {info.file_size} bytes, "
                              f"more than the {limit} allowed")
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FileFormatError(f"{path}: member {name!r} is corrupt: {exc}") from None
    if len(data) != info.file_size:
        raise FileFormatError(f"{path}: member {name!r} is truncated or tampered with")
    return data


def read_archive(filepath) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and check the two members of a ``.glassnet`` file: (config, tensors)."""
    from safetensors.numpy import load

    path = Path(filepath)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such model file")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a glassnet model file (not a valid zip: "
                              f"{exc})") from None
    with archive:
        names = archive.namelist()
        unexpected = sorted(set(names) - {CONFIG_MEMBER, WEIGHTS_MEMBER})
        if unexpected or len(names) != len(set(names)):
            raise FileFormatError(f"{path}: unexpected members in a glassnet model file: "
                                  f"{', '.join(map(repr, unexpected)) or 'duplicates'}")
        raw_config = _read_member(archive, CONFIG_MEMBER, _MAX_CONFIG_BYTES, path)
        raw_weights = _read_member(archive, WEIGHTS_MEMBER, _MAX_WEIGHTS_BYTES, path)
    try:
        config = json.loads(raw_config.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"{path}: config.json is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise FileFormatError(f"{path}: config.json does not describe a glassnet model")
    if config.get("format_version") != FORMAT_VERSION:
        raise FileFormatError(f"{path}: format version {config.get('format_version')!r} is not "
                              f"supported (this glassnet reads version {FORMAT_VERSION})")
    try:
        tensors = load(raw_weights)
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise FileFormatError(f"{path}: model.safetensors is corrupt: {exc}") from None
    _check_variables(path, config.get("variables"), tensors)
    return config, tensors


def _check_variables(path, declared, tensors) -> None:
    if not isinstance(declared, list):
        raise FileFormatError(f"{path}: config.json has no list of variables")
    for entry in declared:
        try:
            name, shape, dtype = entry["path"], tuple(entry["shape"]), entry["dtype"]
        except (TypeError, KeyError):
            raise FileFormatError(f"{path}: malformed variable entry {entry!r}") from None
        if name not in tensors:
            raise FileFormatError(f"{path}: variable {name!r} is missing from model.safetensors")
        tensor = tensors[name]
        if tensor.shape != shape or tensor.dtype.name != dtype:
            raise FileFormatError(f"{path}: variable {name!r} should be {dtype} of shape "
                                  f"{shape}, the file holds {tensor.dtype} of shape "
                                  f"{tensor.shape}")


def load_model(filepath, compile=True):
    """Read a model written by ``model.save``; compiled again if it was compiled."""
    from glassnet.models import Sequential

    config, tensors = read_archive(filepath)
    try:
        model = Sequential.from_config(config["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FileFormatError(f"{filepath}: the model architecture in config.json is "
                              f"invalid: {exc}") from None
    _assign(model, tensors, filepath)
    if compile and config.get("compile"):
        model.compile_from_config(config["compile"])
        state = config.get("optimizer_state")
        if state and all(f"optimizer/{s}" in tensors for s in state.get("slots", [])):
            model._flatten_variables()
            optimizer = model.optimizer
            for name in state["slots"]:
                if name in optimizer.slots and \
                        optimizer.slots[name].shape == tensors[f"optimizer/{name}"].shape:
                    optimizer.slots[name][...] = tensors[f"optimizer/{name}"]
            optimizer.iterations = int(state.get("iterations", 0))
    return model


def _assign(model, tensors, filepath) -> None:
    checked = []
    for variable in model.weights:
        if variable.path not in tensors:
            raise FileFormatError(f"{filepath}: no weights for {variable.path!r} "
                                  f"(the file has {', '.join(sorted(tensors))})")
        tensor = tensors[variable.path]
        if tensor.shape != variable.shape:
            raise FileFormatError(f"{filepath}: {variable.path!r} has shape {tensor.shape} in "
                                  f"the file, the model expects {variable.shape}")
        checked.append((variable, tensor))
    for variable, tensor in checked:
        variable.value[...] = tensor


def save_weights(model, filepath) -> None:
    """Write every Variable by path to a safetensors file, atomically."""
    from safetensors.numpy import save

    filepath = Path(filepath)
    if not filepath.name.endswith(".safetensors"):
        raise FileFormatError(f"{filepath}: weights files are written as safetensors; "
                              f"name it e.g. 'model.weights.safetensors'")
    model._require_built()
    data = save(_tensors(model), metadata={"format": "glassnet-weights",
                                           "format_version": str(FORMAT_VERSION)})
    with atomic_write(filepath) as tmp:
        tmp.write_bytes(data)


def load_weights(model, filepath) -> None:
    """Read a weights file written by ``save_weights`` into a model of the same layers."""
    from safetensors.numpy import load

    path = Path(filepath)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such weights file")
    try:
        tensors = load(path.read_bytes())
    except Exception as exc:
        raise FileFormatError(f"{path}: not a valid safetensors file: {exc}") from None
    model._require_built()
    _assign(model, tensors, path)
