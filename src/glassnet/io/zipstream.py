"""One member of an untrusted zip, decompressed in bounded chunks and checked against its headers.

Python's ``zipfile`` trusts a member's declared size: ``read()`` of a deflated stream of
zeros grows a buffer as far as the stream goes, and a stream longer than its header
says is cut off silently. ``MemberStream`` reads the member's compressed bytes itself
and inflates them ``CHUNK`` bytes at a time, so that at any moment glassnet holds at
most one chunk beyond what the caller asked for. It refuses, naming the file and member:

- a local header that disagrees with the central directory (name, method, sizes, CRC);
- a stream that inflates to more bytes than declared (stops one chunk past the
  declared size, never further), or to fewer;
- compressed bytes left over after the stream ends, and a CRC mismatch.

``zipfile`` is used only to list the central directory.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

from glassnet.errors import FileFormatError

CHUNK = 1 << 20  # bytes inflated (or read) per step
_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # the 30-byte local file header
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ZIP64 = 0xFFFFFFFF  # a 32-bit size field whose real value is in the zip64 extra
_DATA_DESCRIPTOR = 0x8  # flag bit: sizes and CRC follow the data, local fields are 0


class MemberStream:
    """Read member ``info`` of the open zip file ``handle`` exactly, chunk by chunk.

    ``read(n)`` returns exactly ``n`` bytes (or raises), ``readinto(buffer)`` fills a
    writable buffer, and ``finish()`` checks that the stream ends where its headers
    say and that its CRC is right. ``where`` names the file in messages.
    """

    def __init__(self, handle, info: zipfile.ZipInfo, archive_size: int, where: str):
        self._handle, self._info, self._where = handle, info, where
        self.size = info.file_size
        self._compressed_left = info.compress_size
        self._offset = self._data_offset(archive_size)
        self._inflater = (zlib.decompressobj(-zlib.MAX_WBITS)
                          if info.compress_type == zipfile.ZIP_DEFLATED else None)
        self._pending = b""  # produced, not yet handed out
        self._produced = 0
        self._crc = 0

    def _fail(self, message: str) -> FileFormatError:
        return FileFormatError(f"{self._where}: member {self._info.filename!r} {message}")

    def _data_offset(self, archive_size: int) -> int:
        info = self._info
        self._handle.seek(info.header_offset)
        raw = self._handle.read(_LOCAL.size)
        if len(raw) != _LOCAL.size:
            raise self._fail("has no local header (the zip is truncated)")
        (signature, _, flags, method, _, _, crc, compressed, size, name_length,
         extra_length) = _LOCAL.unpack(raw)
        name = self._handle.read(name_length)
        encoding = "utf-8" if flags & 0x800 else "cp437"
        if signature != _LOCAL_SIGNATURE or name != info.filename.encode(encoding):
            raise self._fail("has a local header that does not match the zip's directory")
        described = flags & _DATA_DESCRIPTOR
        for label, local, central in (("method", method, info.compress_type),
                                      ("CRC", crc, info.CRC),
                                      ("compressed size", compressed, info.compress_size),
                                      ("size", size, info.file_size)):
            if label != "method" and (local == _ZIP64 or (described and local == 0)):
                continue
            if local != central:
                raise self._fail(f"has a local header declaring {label} {local}, the zip's "
                                 f"directory {central} (a lying header)")
        offset = info.header_offset + _LOCAL.size + name_length + extra_length
        if offset + info.compress_size > archive_size:
            raise self._fail(f"claims {info.compress_size} compressed bytes from offset "
                             f"{offset} in a file of {archive_size} bytes")
        return offset

    def _more(self) -> bytes:
        """The next chunk of the member's bytes (b"" at the end of the stream)."""
        if self._inflater is not None and self._inflater.unconsumed_tail:
            data = self._inflater.unconsumed_tail
        elif self._compressed_left:
            self._handle.seek(self._offset)
            data = self._handle.read(min(CHUNK, self._compressed_left))
            if not data:
                raise self._fail("is truncated (the file ends inside it)")
            self._offset += len(data)
            self._compressed_left -= len(data)
        else:
            data = b""
        if self._inflater is None:
            out = data
        elif self._inflater.eof:
            if data or self._compressed_left:
                raise self._fail("has bytes after the end of its deflate stream")
            out = b""
        else:
            try:
                out = self._inflater.decompress(data, CHUNK)
            except zlib.error as exc:
                raise self._fail(f"is corrupt (deflate: {exc})") from None
        self._produced += len(out)
        if self._produced > self.size:
            raise self._fail(f"inflates to more than the {self.size} bytes its header "
                             f"declares (a lying header or a zip bomb)")
        self._crc = zlib.crc32(out, self._crc)
        return out

    def _exhausted(self) -> bool:
        """No bytes can come any more: the stream ended, or its input is used up."""
        if self._inflater is not None and self._inflater.eof:
            return True
        tail = self._inflater.unconsumed_tail if self._inflater is not None else b""
        return not self._compressed_left and not tail

    def _fill(self, n: int) -> None:
        while len(self._pending) < n:
            out = self._more()
            if not out and self._exhausted():
                raise self._fail(f"is truncated or tampered with (its header says "
                                 f"{self.size} bytes, the stream holds {self._produced})")
            self._pending += out

    def read(self, n: int) -> bytes:
        """Exactly the next ``n`` bytes of the member."""
        self._fill(n)
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def readinto(self, buffer) -> None:
        """Fill ``buffer`` (a writable bytes-like object) with the next bytes, in chunks."""
        view = memoryview(buffer).cast("B")
        at = 0
        while at < len(view):
            if not self._pending:
                self._fill(1)
            take = min(len(self._pending), len(view) - at)
            view[at:at + take] = self._pending[:take]
            self._pending = self._pending[take:]
            at += take

    def finish(self) -> None:
        """Check the stream ends exactly at its declared size, with the declared CRC."""
        if self._pending:
            raise self._fail(f"holds more than the {self.size} bytes read from it")
        while True:
            if self._more():
                raise self._fail(f"inflates to more than the {self.size} bytes its header "
                                 f"declares (a lying header or a zip bomb)")
            if self._exhausted():
                break
        if self._produced != self.size:
            raise self._fail(f"is truncated or tampered with (its header says {self.size} "
                             f"bytes, the stream holds {self._produced})")
        if self._inflater is not None and not self._inflater.eof:
            raise self._fail("is truncated (its deflate stream does not end)")
        if self._crc != self._info.CRC:
            raise self._fail("is corrupt (bad CRC)")
