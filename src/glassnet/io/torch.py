"""PyTorch state dicts in: ``load_torch_state("mlp.safetensors", model)``.

Reads the state dict of an ``nn.Sequential`` of ``nn.Linear`` layers saved with
``safetensors.torch.save_file(model.state_dict(), path)``. Its keys are
``"<index>.weight"`` of shape (out, in) and ``"<index>.bias"`` of shape (out,);
activations take indices too, so Linear layers are 0, 2, 4... Linear layers are
matched in index order to the model's Dense layers in order, and each weight is
transposed into a kernel of shape (in, out). The activations are not in a state
dict: the glassnet model must use the ones the PyTorch model used.

What is read, and why it is safe: only safetensors (a JSON header and raw
little-endian numbers), never a ``torch.save`` pickle (``.pt``/``.pth``): loading
those runs arbitrary code. Every tensor is checked (names, shapes, float dtype)
before the first weight of the model is set; PyTorch itself is not needed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from glassnet.errors import FileFormatError
from glassnet.io.archive import check_regular_file
from glassnet.io.matching import set_all
from glassnet.io.safetensors_stream import read_file

_MAX_BYTES = 8 * 2**30
_KEY = re.compile(r"^(?P<prefix>.+)\.(?P<kind>weight|bias)$")


def _natural_key(prefix: str) -> tuple:
    # "10" sorts after "2": module indices are numbers, not strings.
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in prefix.split("."))


def _linear_layers(tensors: dict[str, np.ndarray], where: str) -> list[tuple[str, dict]]:
    """[(prefix, {"weight": array, "bias": array?})] in module order."""
    modules: dict[str, dict] = {}
    for key, array in tensors.items():
        match = _KEY.match(key)
        if match is None:
            raise FileFormatError(f"{where}: tensor {key!r} is not the weight or bias of an "
                                  f"nn.Linear (only '<index>.weight' and '<index>.bias' are "
                                  f"read)")
        if array.dtype.kind != "f":
            raise FileFormatError(f"{where}: tensor {key!r} is {array.dtype}, not floats")
        modules.setdefault(match["prefix"], {})[match["kind"]] = array
    layers = []
    for prefix in sorted(modules, key=_natural_key):
        parts = modules[prefix]
        weight = parts.get("weight")
        if weight is None:
            raise FileFormatError(f"{where}: tensor {prefix + '.bias'!r} has no "
                                  f"{prefix + '.weight'!r} beside it")
        if weight.ndim != 2:
            raise FileFormatError(f"{where}: tensor {prefix + '.weight'!r} has shape "
                                  f"{weight.shape}; an nn.Linear weight is 2-D (out, in)")
        layers.append((prefix, parts))
    return layers


def load_torch_state(filepath, model) -> None:
    """Set the Dense layers of ``model`` from a PyTorch ``nn.Sequential`` of ``nn.Linear``.

    ``model`` must be built, with as many Dense layers as the state dict has Linear
    layers, of the same sizes. Mismatches raise ``FileFormatError`` naming the
    tensor and both shapes; nothing is set unless everything fits.
    """
    from glassnet.layers import Dense

    path = Path(filepath)
    size = check_regular_file(path, "PyTorch state dict")
    if size > _MAX_BYTES:
        raise FileFormatError(f"{path}: {size} bytes, more than the {_MAX_BYTES} allowed")
    with open(path, "rb") as handle:
        start = handle.read(9)
    # safetensors opens with an 8-byte header length, then "{"; torch.save writes a zip
    # ("PK") or, in its old format, a bare pickle (b"\x80" + protocol).
    if start[8:9] != b"{" and (start[:2] == b"PK" or start[:1] == b"\x80"):
        raise FileFormatError(f"{path}: this looks like a torch.save pickle (.pt/.pth), which "
                              f"glassnet never loads (it can run code); save the state dict "
                              f"with safetensors.torch.save_file(model.state_dict(), path)")
    where = str(path)
    model._require_built()
    # Header first, then at most the bytes the model's weights can take (8 per number).
    tensors, _ = read_file(path, 8 * sum(v.size for v in model.weights),
                           f"the weights of model {model.name!r} can take")
    linears = _linear_layers(tensors, where)
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    if len(linears) != len(dense):
        raise FileFormatError(
            f"{where}: the state dict has {len(linears)} nn.Linear layers "
            f"({', '.join(prefix for prefix, _ in linears) or 'none'}), model {model.name!r} "
            f"has {len(dense)} Dense layers ({', '.join(d.name for d in dense) or 'none'})")
    checked = []
    for (prefix, parts), layer in zip(linears, dense, strict=True):
        weight, bias = parts["weight"], parts.get("bias")
        wanted = layer.kernel.shape[::-1]
        if weight.shape != wanted:
            raise FileFormatError(
                f"{where}: tensor {prefix + '.weight'!r} has shape {weight.shape}, Dense layer "
                f"{layer.name!r} needs {wanted} (out, in) — its kernel "
                f"{layer.kernel.shape} transposed")
        checked.append((layer.kernel, weight.T))
        if layer.use_bias != (bias is not None):
            raise FileFormatError(
                f"{where}: tensor {prefix + '.bias'!r} is "
                f"{'missing' if bias is None else 'present'}, but Dense layer {layer.name!r} "
                f"has use_bias={layer.use_bias}")
        if bias is not None:
            if bias.shape != layer.bias.shape:
                raise FileFormatError(
                    f"{where}: tensor {prefix + '.bias'!r} has shape {bias.shape}, Dense "
                    f"layer {layer.name!r} needs {layer.bias.shape}")
            checked.append((layer.bias, bias))
    set_all(checked, where)
