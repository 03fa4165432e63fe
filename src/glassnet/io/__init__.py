"""Files: the native ``.glassnet`` format, Keras files in and out, PyTorch in, ONNX out.

- ``save_model`` / ``load_model``: the native ``.glassnet`` zip (``config.json`` +
  ``model.safetensors``), written atomically (``glassnet.io.native``);
- ``save_weights`` / ``load_weights``: weights alone, as safetensors
  (``glassnet.io.native_weights``);
- ``load_keras`` / ``load_weights_h5``: Keras 3 ``.keras`` and ``.weights.h5`` files
  (``glassnet.io.keras``, needs h5py);
- ``save_keras`` / ``save_weights_h5``: the same files written as Keras 3 writes them,
  so the real Keras loads them (``glassnet.io.keras_write``, needs h5py);
- ``load_torch_state``: a PyTorch ``nn.Sequential`` of ``nn.Linear`` state dict saved
  with safetensors (``glassnet.io.torch``);
- ``export_onnx``: an ONNX file for onnxruntime (``glassnet.io.onnx``, needs onnx).

Every reader treats its file as untrusted: zips are read member by member into
memory with their headers checked first (``glassnet.io.archive``), nothing is ever
extracted to disk, no pickle is ever loaded, and every array is checked before the
first weight is set; any problem is a ``FileFormatError`` naming the file. Memory
is bounded: ``config.json`` is read first and bounds the weights member, which is
inflated in 1 MiB chunks and refused as soon as it outgrows its declared size, so
no file makes glassnet hold more than about twice the bytes of the model it
describes, plus a constant (measured in tests/io/test_bombs.py). ``model.save``,
``save_weights`` and ``load_weights`` choose the format by the file name
(``glassnet.io.dispatch``); weights load by position, as in Keras. NaN or infinite
weights load with a ``NonFiniteWeightsWarning`` naming them. Each
module's docstring says what it reads and why that is safe. Submodules load their
optional dependencies only when used; a missing one names ``pip install 'glassnet[io]'``.
"""

from __future__ import annotations

from importlib import import_module

_LAZY = {
    "save_model": "glassnet.io.native", "load_model": "glassnet.io.native",
    "save_weights": "glassnet.io.native_weights",
    "load_weights": "glassnet.io.native_weights",
    "load_keras": "glassnet.io.keras", "load_weights_h5": "glassnet.io.keras",
    "load_torch_state": "glassnet.io.torch", "export_onnx": "glassnet.io.onnx",
    "save_keras": "glassnet.io.keras_write", "save_weights_h5": "glassnet.io.keras_write",
    "NonFiniteWeightsWarning": "glassnet.io.matching",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'glassnet.io' has no attribute {name!r}")


def __dir__():
    return __all__
