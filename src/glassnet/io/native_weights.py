"""glassnet's weights-only files: ``model.save_weights("w.weights.safetensors")`` and back.

A safetensors file of every Variable by path, with the metadata key ``variables``
listing the paths in model order. ``load_weights`` also reads the weights of a
``.glassnet`` file. Weights are matched by path when every path matches, otherwise
by position (``glassnet.io.matching``), as Keras matches them: a freshly built
model of the same layers, whose generated names differ, loads them. The file's
header is read first and the tensors are bounded by what the model's weights can
take (``glassnet.io.safetensors_stream``).
"""

from __future__ import annotations

import json
from pathlib import Path

from glassnet.errors import FileFormatError
from glassnet.io.archive import check_regular_file
from glassnet.io.matching import by_position, set_all
from glassnet.io.native import (
    _MAX_WEIGHTS_BYTES,
    FORMAT_VERSION,
    SLOT_PREFIX,
    _tensors,
    assign_tensors,
    atomic_write,
    read_archive,
)
from glassnet.io.safetensors_stream import read_file


def save_weights(model, filepath) -> None:
    """Write every Variable by path to a safetensors file, atomically.

    The metadata key ``variables`` lists the paths in model order, so the file also
    loads by position into a fresh model of the same layers (whose names differ).
    """
    from safetensors.numpy import save

    filepath = Path(filepath)
    if not filepath.name.endswith(".safetensors"):
        raise FileFormatError(f"{filepath}: weights files are written as safetensors; "
                              f"name it e.g. 'model.weights.safetensors' (or "
                              f"'model.weights.h5' for Keras's format)")
    model._require_built()
    data = save(_tensors(model), metadata={
        "format": "glassnet-weights", "format_version": str(FORMAT_VERSION),
        "variables": json.dumps([v.path for v in model.weights])})
    with atomic_write(filepath) as tmp:
        tmp.write_bytes(data)


def _order(metadata: dict | None) -> list[str] | None:
    try:
        order = json.loads((metadata or {}).get("variables", "null"))
    except (TypeError, json.JSONDecodeError, RecursionError):
        return None
    return order if isinstance(order, list) and all(isinstance(p, str) for p in order) \
        else None


def load_weights(model, filepath) -> None:
    """Read the weights of a ``save_weights`` file (or a ``.glassnet`` file) into ``model``.

    Tensors are matched to Variables by path when every path matches; otherwise by
    position, as Keras does, so a freshly built model of the same layers (with other
    generated names) loads them. A file for another model is refused before any
    weight is set. Reading holds at most the bytes the model's weights can take
    (8 per number) plus the small header.
    """
    path = Path(filepath)
    size = check_regular_file(path, "weights file")
    model._require_built()
    if path.suffix == ".glassnet":
        config, tensors = read_archive(path)
        order = [entry["path"] for entry in config["variables"]]
        tensors = {k: v for k, v in tensors.items() if not k.startswith(SLOT_PREFIX)}
    else:
        if size > _MAX_WEIGHTS_BYTES:
            raise FileFormatError(f"{path}: {size} bytes, more than the "
                                  f"{_MAX_WEIGHTS_BYTES} a weights file may have")
        bound = 8 * sum(v.size for v in model.weights)
        tensors, metadata = read_file(path, bound, f"the weights of model {model.name!r} "
                                                   f"can take")
        order = _order(metadata)
    paths = [v.path for v in model.weights]
    if set(tensors) != set(paths) and order is not None and len(order) == len(paths) \
            and set(order) == set(tensors):
        set_all(by_position(model, [(name, tensors[name]) for name in order], path), path)
        return
    extra = sorted(set(tensors) - set(paths))
    if extra:
        raise FileFormatError(f"{path}: tensors {', '.join(map(repr, extra))} match no "
                              f"Variable of model {model.name!r}")
    assign_tensors(model, tensors, path)
