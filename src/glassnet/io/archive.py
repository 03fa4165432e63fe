"""Reading named members of an untrusted zip into memory, safely.

Used for ``.glassnet`` and Keras ``.keras`` files. The rules, and why each holds:

- the caller names the members it accepts; a zip with any other member
  (``../escape``, ``evil.pkl``) or a duplicated one is refused, so nothing unexpected
  is even looked at, and nothing is ever extracted to disk;
- a member's header is checked before a byte is decompressed: no encryption, only
  stored or deflated, a claimed size under a fixed limit, a compressed size that fits
  in the file, a stored size equal to its compressed size, and no more than deflate
  can produce from the compressed bytes (a zip-bomb header fails here);
- reading stops at the claimed size, and zipfile checks the CRC at the end.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from glassnet.errors import FileFormatError

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


def read_members(filepath, kind: str, required: dict[str, int],
                 optional: dict[str, int] | None = None) -> dict[str, bytes]:
    """Read the members of zip ``filepath`` into memory, refusing any other member.

    ``required`` and ``optional`` map member names to the most bytes each may hold;
    ``kind`` ("glassnet model file", "Keras .keras file") is used in error messages.
    """
    path = Path(filepath)
    size = check_regular_file(path, kind)
    allowed = {**(optional or {}), **required}
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise FileFormatError(f"{path}: not a {kind} (not a valid zip: {exc})") from None
    with archive:
        names = archive.namelist()
        unexpected = sorted(set(names) - set(allowed))
        if unexpected:
            raise FileFormatError(f"{path}: unexpected members in a {kind}: "
                                  f"{', '.join(map(repr, unexpected))} (only "
                                  f"{', '.join(map(repr, sorted(allowed)))} may be present)")
        if len(names) != len(set(names)):
            raise FileFormatError(f"{path}: a member appears twice in the zip")
        missing = sorted(set(required) - set(names))
        if missing:
            raise FileFormatError(f"{path}: not a {kind}: member "
                                  f"{', '.join(map(repr, missing))} is missing")
        return {name: _read_member(archive, name, allowed[name], size, path)
                for name in names}


def _check_member_header(info: zipfile.ZipInfo, limit: int, archive_size: int, path) -> None:
    """Refuse a member whose header is implausible, before decompressing a byte."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise FileFormatError(f"{path}: member {name!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FileFormatError(f"{path}: member {name!r} uses compression method "
                              f"{info.compress_type}; only stored or deflated are read")
    if info.file_size > limit:
        raise FileFormatError(f"{path}: member {name!r} claims {info.file_size} bytes, "
                              f"more than the {limit} allowed")
    if info.compress_size > archive_size:
        raise FileFormatError(f"{path}: member {name!r} claims {info.compress_size} "
                              f"compressed bytes in a file of {archive_size} bytes")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise FileFormatError(f"{path}: member {name!r} is stored uncompressed but claims "
                              f"{info.file_size} bytes for {info.compress_size} in the zip")
    if info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1):
        raise FileFormatError(f"{path}: member {name!r} claims {info.file_size} bytes from "
                              f"{info.compress_size} compressed bytes (a zip bomb?)")


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, archive_size: int,
                 path) -> bytes:
    info = archive.getinfo(name)
    _check_member_header(info, limit, archive_size, path)
    try:
        with archive.open(info) as handle:
            data = handle.read(info.file_size)
            extra = handle.read(1)  # at the end: zipfile checks the CRC here
    except ZIP_ERRORS as exc:
        raise FileFormatError(f"{path}: member {name!r} is corrupt: {exc}") from None
    if len(data) != info.file_size or extra:
        raise FileFormatError(f"{path}: member {name!r} is truncated or tampered with "
                              f"(its header says {info.file_size} bytes, read {len(data)})")
    return data
