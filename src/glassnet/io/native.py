"""The native model file ``NAME.glassnet`` (weights-only files: ``glassnet.io.native_weights``).

A ``.glassnet`` file is a zip with exactly two members:

- ``config.json``: format name and version, glassnet version, the model's
  architecture (``get_config()``), its compile settings, the list of Variables
  (path, shape, dtype) the weights member must hold, and the optimizer's step count
  and slot names;
- ``model.safetensors``: every Variable by its path (``"hidden/kernel"``), plus the
  optimizer's slots as ``"optimizer/slot/<name>"`` (two slashes: never a Variable path).

Why reading one is safe, even from a stranger:

- only those two members are read, into memory, by ``glassnet.io.archive``: a zip
  with any other member (``../escape``, ``evil.pkl``), a duplicated, encrypted or
  oddly compressed member, or a member whose header claims an implausible size (a
  zip bomb) is refused before anything is decompressed; nothing is ever extracted
  to disk;
- memory is bounded: ``config.json`` is read first, and the weights member may hold
  no more than the bytes of the Variables and optimizer slots it declares; its
  safetensors header is read and checked against that (and against the zip's
  declared size) before any tensor byte, then the tensors are inflated in 1 MiB
  chunks into one buffer they are views of (``glassnet.io.safetensors_stream``).
  A load holds at most about twice the bytes of the model the file describes,
  plus a constant; a stream that outgrows its declared size is refused one chunk
  past it;
- JSON and safetensors are data formats: nothing in them is executed and no pickle
  is ever loaded;
- every declared Variable must be present with the declared shape and dtype, no
  undeclared tensor may be present, and all of it is checked before the first weight
  of the model is set.

Writing is atomic (a temporary file beside the target, flushed, then ``os.replace``):
a crash mid-save never leaves a broken file where a good one stood.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from glassnet.errors import FileFormatError, GlassnetError
from glassnet.io.archive import Archive
from glassnet.io.matching import set_all
from glassnet.io.planning import graph_weight_count, planned_weight_count
from glassnet.io.safetensors_stream import MAX_HEADER_BYTES, read_tensors

FORMAT = "glassnet"
FORMAT_VERSION = 1
CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.safetensors"
SLOT_PREFIX = "optimizer/slot/"
_MAX_CONFIG_BYTES = 16 * 2**20
_MAX_WEIGHTS_BYTES = 8 * 2**30
_MAX_SLOTS = 3  # RMSprop (centered, momentum) and Adam (amsgrad) keep three


def _version() -> str:
    from glassnet import __version__

    return __version__


def _new_file_mode(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual umask ones."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path: Path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` at once.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    with contextlib.suppress(OSError):  # make the rename itself durable where we can
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _contiguous(array) -> np.ndarray:
    # Not np.ascontiguousarray: it turns a 0-d array (Normalization's count) into 1-d.
    return np.array(array, order="C", copy=True)


def _tensors(model) -> dict[str, np.ndarray]:
    return {v.path: _contiguous(v.value) for v in model.weights}


def _variable_list(model) -> list[dict]:
    return [{"path": v.path, "shape": list(v.shape), "dtype": v.dtype.name,
             "trainable": v.trainable} for v in model.weights]


def json_default(value):
    # Settings given as NumPy scalars (Dropout(seed=np.int64(3))) are plain numbers.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON serializable")


def _refuse_foreign_suffix(filepath: Path) -> None:
    # load_model routes ".keras" to the Keras reader: a glassnet zip under that name
    # could never be read back.
    if filepath.suffix in (".keras", ".h5", ".hdf5"):
        raise FileFormatError(f"{filepath}: glassnet writes its own format, not Keras's "
                              f"{filepath.suffix}; name the file e.g. "
                              f"{filepath.with_suffix('.glassnet').name!r}")


def save_model(model, filepath, include_optimizer=True) -> None:
    """Write ``model`` to ``filepath`` (a ``.glassnet`` zip), atomically.

    With ``include_optimizer`` the optimizer's slots and step count are saved too, so
    training continues after ``load_model`` exactly as if it had never stopped.
    """
    from safetensors.numpy import save

    filepath = Path(filepath)
    _refuse_foreign_suffix(filepath)
    model._require_built()
    tensors = _tensors(model)
    optimizer_state = None
    optimizer = model.optimizer
    if include_optimizer and optimizer is not None and optimizer.built:
        optimizer_state = {"iterations": int(optimizer.iterations),
                           "slots": sorted(optimizer.slots)}
        for name, slot in optimizer.slots.items():
            tensors[SLOT_PREFIX + name] = _contiguous(slot)
    config = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "glassnet_version": _version(),
        "model": model.get_config(), "compile": model.get_compile_config(),
        "variables": _variable_list(model), "optimizer_state": optimizer_state,
    }
    try:
        config_bytes = json.dumps(config, indent=1, default=json_default).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"{filepath}: the model's settings cannot be written as JSON: "
                              f"{exc}") from None
    weights = save(tensors, metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)})
    with atomic_write(filepath) as tmp:
        with zipfile.ZipFile(tmp, "w") as archive:
            archive.writestr(CONFIG_MEMBER, config_bytes, compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr(WEIGHTS_MEMBER, weights, compress_type=zipfile.ZIP_STORED)


def read_archive(filepath) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and check the two members of a ``.glassnet`` file: (config, tensors).

    ``config.json`` is read first; the weights member is then bounded by the bytes of
    the Variables and optimizer slots it declares, before a byte of it is inflated.
    """
    path = Path(filepath)
    with Archive(path, "glassnet model file",
                 {CONFIG_MEMBER: _MAX_CONFIG_BYTES, WEIGHTS_MEMBER: _MAX_WEIGHTS_BYTES}) as archive:
        config = _parse_config(archive.read(CONFIG_MEMBER), path)
        bound = _declared_bytes(config, path)
        reason = "the variables and optimizer slots in config.json can take"
        header = min(MAX_HEADER_BYTES, 4096 + 512 * (len(config["variables"]) + _MAX_SLOTS))
        stream = archive.stream(WEIGHTS_MEMBER, 8 + header + bound,
                                reason + " (with a header naming them)")
        tensors, _ = read_tensors(stream, f"{path}: {WEIGHTS_MEMBER}", bound, reason)
    _check_variables(path, config, tensors)
    return config, tensors


def _declared_bytes(config: dict, path) -> int:
    """The most bytes model.safetensors can need for what config.json declares."""
    declared, trainable = config.get("variables"), 0
    if not isinstance(declared, list):
        raise FileFormatError(f"{path}: config.json has no list of variables")
    total = 0
    for entry in declared:
        try:
            shape, itemsize = [int(d) for d in entry["shape"]], np.dtype(entry["dtype"]).itemsize
        except (TypeError, KeyError, ValueError):
            raise FileFormatError(f"{path}: malformed variable entry {entry!r}") from None
        if any(d < 0 for d in shape):
            raise FileFormatError(f"{path}: malformed variable entry {entry!r}")
        size = int(np.prod(shape, dtype=object))
        total += size * itemsize
        trainable += size if entry.get("trainable", True) else 0
    state = config.get("optimizer_state")
    slots = state.get("slots") if isinstance(state, dict) else None
    if isinstance(slots, list):
        if len(slots) > _MAX_SLOTS:
            raise FileFormatError(f"{path}: malformed optimizer_state: {len(slots)} slots "
                                  f"(no optimizer has more than {_MAX_SLOTS})")
        total += len(slots) * 8 * trainable  # a slot spans every trainable number
    return total


def _parse_config(raw: bytes, path) -> dict:
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FileFormatError(f"{path}: config.json is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise FileFormatError(f"{path}: config.json does not describe a glassnet model "
                              f"(no \"format\": \"glassnet\")")
    version = config.get("format_version")
    if isinstance(version, bool) or version != FORMAT_VERSION:
        raise FileFormatError(f"{path}: format version {config.get('format_version')!r} is not "
                              f"supported (this glassnet reads version {FORMAT_VERSION})")
    if not isinstance(config.get("model"), dict):
        raise FileFormatError(f"{path}: config.json has no model architecture")
    return config


def _check_variables(path, config, tensors) -> None:
    declared = config.get("variables")
    if not isinstance(declared, list):
        raise FileFormatError(f"{path}: config.json has no list of variables")
    expected = set()
    for entry in declared:
        try:
            name, shape, dtype = entry["path"], tuple(entry["shape"]), entry["dtype"]
        except (TypeError, KeyError):
            raise FileFormatError(f"{path}: malformed variable entry {entry!r}") from None
        expected.add(name)
        if name not in tensors:
            raise FileFormatError(f"{path}: variable {name!r} is missing from model.safetensors")
        tensor = tensors[name]
        if tensor.shape != shape or tensor.dtype.name != dtype:
            raise FileFormatError(f"{path}: variable {name!r} should be {dtype} of shape "
                                  f"{shape}, the file holds {tensor.dtype} of shape "
                                  f"{tensor.shape}")
    state = config.get("optimizer_state")
    if state is not None:
        slots = state.get("slots") if isinstance(state, dict) else None
        if not isinstance(slots, list) or not isinstance(state.get("iterations"), int):
            raise FileFormatError(f"{path}: malformed optimizer_state {state!r}")
        for slot in slots:
            if SLOT_PREFIX + str(slot) not in tensors:
                raise FileFormatError(f"{path}: optimizer slot {slot!r} is missing from "
                                      f"model.safetensors")
            expected.add(SLOT_PREFIX + str(slot))
    undeclared = sorted(set(tensors) - expected)
    if undeclared:
        raise FileFormatError(f"{path}: model.safetensors holds tensors config.json does not "
                              f"declare: {', '.join(map(repr, undeclared))}")


def load_model(filepath, compile=True):
    """Read a model written by ``model.save``; compiled again if it was compiled.

    NaN or infinite weights are loaded as they are, with a ``NonFiniteWeightsWarning``.

    With ``compile`` the optimizer's slots and step count are restored too.
    """
    from glassnet.models import Sequential

    config, tensors = read_archive(filepath)
    try:
        _check_planned_size(config["model"], tensors, filepath)
        if "input_layers" in config["model"]:  # a functional model
            from glassnet.models.functional import Model

            model = Model.from_config(config["model"])
        else:
            model = Sequential.from_config(config["model"])
    except (GlassnetError, KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise FileFormatError(f"{filepath}: the model architecture in config.json is "
                              f"invalid: {exc}") from None
    declared = [entry["path"] for entry in config["variables"]]
    if not model.built or sorted(v.path for v in model.weights) != sorted(declared):
        raise FileFormatError(f"{filepath}: the architecture in config.json has Variables "
                              f"{sorted(v.path for v in model.weights)}, its variable list "
                              f"declares {sorted(declared)}")
    assign_tensors(model, tensors, filepath)
    if compile and config.get("compile"):
        try:
            model.compile_from_config(config["compile"])
        except (GlassnetError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FileFormatError(f"{filepath}: the compile settings in config.json are "
                                  f"invalid: {exc}") from None
        state = config.get("optimizer_state")
        if state:
            _restore_optimizer(model, state, tensors, filepath)
    return model


def _check_planned_size(architecture: dict, tensors, filepath) -> None:
    """Refuse an architecture needing more numbers than the file holds, before building it.

    Without this, a tampered ``units`` could make the reader allocate terabytes.
    """
    from glassnet.layers import deserialize

    if "input_layers" in architecture:  # a functional model: count along its graph
        planned = graph_weight_count(architecture)
        available = sum(int(t.size) for t in tensors.values())
        if planned > available:
            raise FileFormatError(f"{filepath}: the architecture in config.json needs "
                                  f"{planned} weights, model.safetensors holds {available}")
        return
    layers = [deserialize(entry) for entry in architecture["layers"]]
    shape = architecture.get("build_input_shape") or (
        layers[0]._declared_input_shape if layers else None)
    if shape is None:
        raise FileFormatError(f"{filepath}: config.json does not say the model's input shape")
    planned = planned_weight_count(shape, layers)
    available = sum(int(t.size) for t in tensors.values())
    if planned > available:
        raise FileFormatError(f"{filepath}: the architecture in config.json needs {planned} "
                              f"weights, model.safetensors holds {available}")


def _restore_optimizer(model, state, tensors, filepath) -> None:
    model._flatten_variables()  # builds the optimizer's slots if compile did not
    optimizer = model.optimizer
    if sorted(optimizer.slots) != sorted(state["slots"]):
        raise FileFormatError(f"{filepath}: optimizer slots {sorted(state['slots'])} in the "
                              f"file, {type(optimizer).__name__} has {sorted(optimizer.slots)}")
    for name in state["slots"]:
        saved = tensors[SLOT_PREFIX + name]
        if saved.shape != optimizer.slots[name].shape:
            raise FileFormatError(f"{filepath}: optimizer slot {name!r} has shape "
                                  f"{saved.shape}, the model needs "
                                  f"{optimizer.slots[name].shape}")
        optimizer.slots[name][...] = saved
    optimizer.iterations = state["iterations"]


def assign_tensors(model, tensors, filepath) -> None:
    """Set every Variable of ``model`` from ``tensors`` by path; all checked before any write."""
    checked = []
    for variable in model.weights:
        if variable.path not in tensors:
            raise FileFormatError(f"{filepath}: no weights for {variable.path!r} "
                                  f"(the file has {', '.join(sorted(tensors)) or 'none'})")
        tensor = tensors[variable.path]
        if tensor.shape != variable.shape:
            raise FileFormatError(f"{filepath}: {variable.path!r} has shape {tensor.shape} in "
                                  f"the file, the model expects {variable.shape}")
        if tensor.dtype.kind not in "fiu":
            raise FileFormatError(f"{filepath}: {variable.path!r} is {tensor.dtype} in the "
                                  f"file, the model expects numbers ({variable.dtype})")
        checked.append((variable, tensor))
    set_all(checked, filepath)
