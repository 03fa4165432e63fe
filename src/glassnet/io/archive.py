"""Reading named members of an untrusted zip into memory, safely.

Used for ``.glassnet`` and Keras ``.keras`` files. The rules, and why each holds:

- the caller names the members it accepts; a zip with any other member
  (``../escape``, ``evil.pkl``) or a duplicated one is refused, so nothing unexpected
  is even looked at, and nothing is ever extracted to disk;
- a member's header is checked before a byte is decompressed: no encryption, only
  stored or deflated, a claimed size under a fixed limit, a compressed size that fits
  in the file, a stored size equal to its compressed size, and no more than deflate
  can produce from the compressed bytes (a zip-bomb header fails here);
- a member is inflated in bounded chunks by ``glassnet.io.zipstream``: its local
  header must agree with the directory, the stream must end exactly at the declared
  size (never inflated more than one chunk past it) and its CRC must match;
- a member can be read after another, with a lower bound computed from the first
  (``Archive.stream(name, limit)``): the weights member is bounded by what the
  model that ``config.json`` describes can hold (``glassnet.io.safetensors_stream``).

Memory: reading a member holds at most its declared size (itself bounded as above)
plus one chunk (``zipstream.CHUNK``, 1 MiB).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from glassnet.errors import FileFormatError
from glassnet.io.zipstream import MemberStream

# Deflate cannot expand data more than ~1032 times; a header claiming more is lying.
MAX_DEFLATE_RATIO = 1100
# What Python's zipfile raises on damaged or unusual archives.
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
              RuntimeError, NotImplementedError)


def check_regular_file(path: Path, kind: str) -> int:
    """The size of ``path``, after checking it exists, is a file and is not empty."""
    if not path.exists():
        raise FileFormatError(f"{path}: no such {kind}")
    if not path.is_file():
        raise FileFormatError(f"{path}: not a {kind} (a directory or special file)")
    size = path.stat().st_size
    if size == 0:
        raise FileFormatError(f"{path}: not a {kind}: the file is empty")
    return size


class Archive:
    """An untrusted zip opened for reading named members, each with a byte limit.

    ``required`` and ``optional`` map member names to the most bytes each may hold;
    any other member, a duplicate or a missing required one is refused on opening.
    ``kind`` ("glassnet model file", "Keras .keras file") is used in error messages.
    Members are read one at a time, when asked for, so a caller can read a small
    member (``config.json``) first and from it bound how large another may be.
    """

    def __init__(self, filepath, kind: str, required: dict[str, int],
                 optional: dict[str, int] | None = None):
        self.path = Path(filepath)
        self.kind = kind
        self.size = check_regular_file(self.path, kind)
        self.limits = {**(optional or {}), **required}
        try:
            self._zip = zipfile.ZipFile(self.path)
        except ZIP_ERRORS as exc:
            raise FileFormatError(f"{self.path}: not a {kind} (not a valid zip: "
                                  f"{exc})") from None
        try:
            self._check_names(required)
        except FileFormatError:
            self._zip.close()
            raise

    def _check_names(self, required) -> None:
        path, kind, names = self.path, self.kind, self._zip.namelist()
        unexpected = sorted(set(names) - set(self.limits))
        if unexpected:
            raise FileFormatError(f"{path}: unexpected members in a {kind}: "
                                  f"{', '.join(map(repr, unexpected))} (only "
                                  f"{', '.join(map(repr, sorted(self.limits)))} may be present)")
        if len(names) != len(set(names)):
            raise FileFormatError(f"{path}: a member appears twice in the zip")
        missing = sorted(set(required) - set(names))
        if missing:
            raise FileFormatError(f"{path}: not a {kind}: member "
                                  f"{', '.join(map(repr, missing))} is missing")
        self.names = names

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._zip.close()

    def declared_size(self, name: str) -> int:
        """The uncompressed size the zip's directory declares for ``name``."""
        return self._zip.getinfo(name).file_size

    def stream(self, name: str, limit: int | None = None, reason: str = "allowed"
               ) -> MemberStream:
        """A bounded reader of member ``name``, after checking its header.

        ``limit`` (at most the member's own limit) lowers the bound for this read,
        e.g. to what the model described by ``config.json`` can need.
        """
        info = self._zip.getinfo(name)
        bound = self.limits[name] if limit is None else min(limit, self.limits[name])
        _check_member_header(info, bound, self.size, self.path, reason)
        return MemberStream(self._zip.fp, info, self.size, str(self.path))

    def read(self, name: str, limit: int | None = None, reason: str = "allowed") -> bytes:
        """The whole of member ``name``, read in bounded chunks and checked."""
        stream = self.stream(name, limit, reason)
        try:
            data = stream.read(stream.size)
            stream.finish()
        except OSError as exc:
            raise FileFormatError(f"{self.path}: member {name!r} cannot be read: "
                                  f"{exc}") from None
        return data


def read_members(filepath, kind: str, required: dict[str, int],
                 optional: dict[str, int] | None = None) -> dict[str, bytes]:
    """Read every member of zip ``filepath`` into memory (see ``Archive``)."""
    with Archive(filepath, kind, required, optional) as archive:
        return {name: archive.read(name) for name in archive.names}


def _check_member_header(info: zipfile.ZipInfo, limit: int, archive_size: int, path,
                         reason: str = "allowed") -> None:
    """Refuse a member whose header is implausible, before decompressing a byte."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise FileFormatError(f"{path}: member {name!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FileFormatError(f"{path}: member {name!r} uses compression method "
                              f"{info.compress_type}; only stored or deflated are read")
    if info.file_size > limit:
        raise FileFormatError(f"{path}: member {name!r} claims {info.file_size} bytes, "
                              f"more than the {limit} {reason}")
    if info.compress_size > archive_size:
        raise FileFormatError(f"{path}: member {name!r} claims {info.compress_size} "
                              f"compressed bytes in a file of {archive_size} bytes")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise FileFormatError(f"{path}: member {name!r} is stored uncompressed but claims "
                              f"{info.file_size} bytes for {info.compress_size} in the zip")
    if info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1):
        raise FileFormatError(f"{path}: member {name!r} claims {info.file_size} bytes from "
                              f"{info.compress_size} compressed bytes (a zip bomb?)")
