"""Files: the native ``.glassnet`` format, Keras files in, PyTorch state dicts in, ONNX out.

Submodules load their dependencies (h5py, onnx) only when used.
"""

from __future__ import annotations

from importlib import import_module

_LAZY = {
    "save_model": "glassnet.io.native", "load_model": "glassnet.io.native",
    "save_weights": "glassnet.io.native", "load_weights": "glassnet.io.native",
    "load_keras": "glassnet.io.keras", "load_weights_h5": "glassnet.io.keras",
    "load_torch_state": "glassnet.io.torch", "export_onnx": "glassnet.io.onnx",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'glassnet.io' has no attribute {name!r}")
