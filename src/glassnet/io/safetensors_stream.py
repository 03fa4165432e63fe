"""Reading safetensors from an untrusted stream, header first, with bounded memory.

A safetensors file is an 8-byte little-endian header length, a JSON header naming
each tensor's dtype, shape and byte range, then the tensors' bytes. ``read_tensors``
reads and checks the header *before* any tensor byte:

- the header is at most ``MAX_HEADER_BYTES`` and valid JSON of the documented form;
- every tensor's byte range is exactly ``prod(shape) * itemsize`` and the ranges
  tile the data without gap or overlap, so the data's size is their sum;
- the stream's declared size (a zip member's directory entry, a file's length) must
  equal 8 + header + that sum: a header that lies about either is refused;
- the sum must be within ``max_data_bytes``, which the caller computes from the
  model the file describes (its ``config.json``, or the model being loaded into).

Only then is one buffer of exactly that size allocated and filled in chunks, and the
tensors are NumPy views into it (no second copy). So reading holds at most the bytes
of the model the file describes, plus the header and one chunk: with the model
itself, about twice the model's size. ``safetensors.numpy.load`` would read the
whole stream first and then copy every tensor, which is why glassnet parses the
(small, strictly checked) header itself.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

from glassnet.errors import FileFormatError

MAX_HEADER_BYTES = 16 * 2**20
# safetensors dtype names that NumPy holds natively (little-endian, as the format says).
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
          "BOOL": "?"}
CODES = {np.dtype(code): name for name, code in DTYPES.items()}


class FileStream:
    """A plain file read like a zip member (``read``, ``readinto``, ``finish``)."""

    def __init__(self, handle, size: int, where: str):
        self._handle, self.size, self._where = handle, size, where

    def read(self, n: int) -> bytes:
        data = self._handle.read(n)
        if len(data) != n:
            raise FileFormatError(f"{self._where} is not valid safetensors: it ends early")
        return data

    def readinto(self, buffer) -> None:
        view = memoryview(buffer).cast("B")
        if self._handle.readinto(view) != len(view):
            raise FileFormatError(f"{self._where} is not valid safetensors: it ends early")

    def finish(self) -> None:
        if self._handle.read(1):
            raise FileFormatError(f"{self._where}: bytes follow the last tensor")


def _bad(where: str, message: str) -> FileFormatError:
    return FileFormatError(f"{where} is not valid safetensors: {message}")


def _entries(header: dict, where: str) -> tuple[list, int]:
    """(name, dtype, shape, start) per tensor, checked; and the data's total size."""
    entries = []
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
            raise _bad(where, f"malformed entry for tensor {name!r}")
        dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
        if dtype not in DTYPES:
            raise _bad(where, f"tensor {name!r} has dtype {dtype!r} (glassnet reads "
                              f"{', '.join(DTYPES)})")
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise _bad(where, f"tensor {name!r} has shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
            raise _bad(where, f"tensor {name!r} has data_offsets {offsets!r}")
        nbytes = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise _bad(where, f"tensor {name!r} of shape {tuple(shape)} and dtype {dtype} "
                              f"needs {nbytes} bytes, its data_offsets give "
                              f"{offsets[1] - offsets[0]}")
        entries.append((name, np.dtype(DTYPES[dtype]), tuple(shape), offsets[0], offsets[1]))
    entries.sort(key=lambda entry: (entry[3], entry[4]))
    total = 0
    for name, _, _, start, end in entries:
        if start != total:
            raise _bad(where, f"tensor {name!r} starts at byte {start}, not {total} (the "
                              f"tensors' byte ranges must tile the data)")
        total = end
    return entries, total


def read_tensors(stream, where: str, max_data_bytes: int, bound_reason: str
                 ) -> tuple[dict[str, np.ndarray], dict]:
    """Read the safetensors ``stream`` (``.size`` declared bytes) into arrays.

    ``max_data_bytes`` bounds the tensors' bytes (``bound_reason`` says why, in the
    error). Returns (tensors, metadata): the arrays are read-only views into one
    buffer (copy them to keep them), the metadata the header's string map.
    """
    if stream.size < 8:
        raise _bad(where, f"{stream.size} bytes, too short for a header")
    (length,) = struct.unpack("<Q", stream.read(8))
    if length > min(MAX_HEADER_BYTES, stream.size - 8) or length < 2:
        raise _bad(where, f"its header claims {length} bytes in a stream of {stream.size}")
    try:
        header = json.loads(stream.read(length).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _bad(where, f"its header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _bad(where, "its header is not a JSON object")
    entries, total = _entries(header, where)
    if 8 + length + total != stream.size:
        raise _bad(where, f"its header declares {total} bytes of tensors, but the stream "
                          f"declares {stream.size - 8 - length} after the header (a lying "
                          f"header)")
    if total > max_data_bytes:
        raise FileFormatError(f"{where}: its tensors take {total} bytes, more than the "
                              f"{max_data_bytes} {bound_reason}")
    buffer = np.empty(total, dtype=np.uint8)  # pages are committed only as they are filled
    stream.readinto(buffer)
    stream.finish()
    buffer.flags.writeable = False
    metadata = header.get("__metadata__")
    tensors = {name: np.frombuffer(buffer, dtype, math.prod(shape), start).reshape(shape)
               for name, dtype, shape, start, _ in entries}
    return tensors, metadata if isinstance(metadata, dict) else {}


def read_file(path, max_data_bytes: int, bound_reason: str
              ) -> tuple[dict[str, np.ndarray], dict]:
    """Read a plain ``.safetensors`` file the same way (its length is the declared size)."""
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(0)
        return read_tensors(FileStream(handle, size, str(path)), str(path), max_data_bytes,
                            bound_reason)
