"""Content-addressed blobs: weight snapshots, models, datasets, logged files.

A blob is named by the SHA-256 of its bytes. Most live as files, at
``blobs/<sha[:2]>/<sha>``: writing is atomic (a temporary file in the same folder,
then ``os.replace``), so a reader never sees half a blob, and writing the same bytes
twice stores them once (the second writer only stamps the blob's mtime:
:meth:`BlobStore.claim`). A snapshot of at most :data:`INLINE_MAX` bytes lives in the
database instead (table ``inline_blobs``, written with the row naming it:
track/store/writes.py): SQLite's own measurements find small blobs faster to write
and read in the database than as files, and on this kind of machine creating,
writing and renaming a small file costs ~10x encoding it. :meth:`BlobStore.get_bytes`
reads either. Blobs are removed only by ``store.delete_runs`` and
``store.collect_garbage`` (track/store/removal.py).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import threading
from pathlib import Path

import numpy as np

from glassnet.track.errors import ConfigError

_CHUNK = 1 << 20
_counter = itertools.count()
#: snapshots of at most this many bytes are kept in the database, bigger ones as files
INLINE_MAX = 256 * 1024


def encode_arrays(arrays: dict[str, np.ndarray]) -> tuple[str, bytes]:
    """``(sha, bytes)``: named arrays as one safetensors blob and its SHA-256 hex digest."""
    from safetensors.numpy import save

    # asarray(order="C"), not ascontiguousarray: that one turns a 0-d array into (1,)
    data = save({k: np.asarray(v, order="C") for k, v in arrays.items()})
    return hashlib.sha256(data).hexdigest(), data


class BlobStore:
    """Content-addressed files under one folder, and the blobs kept in the database.

    ``inline``: how to read a blob kept in the database (``sha -> bytes | None``), the
    store's; without it only files are read."""

    def __init__(self, root: str | os.PathLike, inline=None) -> None:
        self.root = Path(root)
        self._inline = inline
        if not self.root.is_dir():  # a read-only store may have none: created at first write
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass
        self._folders: set[Path] = set()

    def path(self, sha: str) -> Path:
        """Where the file of the blob named ``sha`` lives (whether or not it exists; a
        blob kept in the database has none)."""
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ConfigError(f"blob name must be 64 lowercase hex digits, got {sha!r}")
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file() or (self._inline is not None
                                            and self._inline(sha) is not None)

    def put_bytes(self, data: bytes, created: list[Path] | None = None) -> str:
        """Store ``data``; return its SHA-256 hex digest.

        When the blob is new, its path is appended to ``created`` (if given), so that a
        caller whose database write then fails can :meth:`discard` it.
        """
        return self.put_encoded(hashlib.sha256(data).hexdigest(), data, created)

    def put_encoded(self, sha: str, data: bytes, created: list[Path] | None = None) -> str:
        """Store ``data`` whose SHA-256 hex digest ``sha`` the caller computed (see
        put_bytes)."""
        target = self.path(sha)
        if not self.claim(target):
            self._write_atomic(target, lambda f: f.write(data))
            if created is not None:
                created.append(target)
        return sha

    @staticmethod
    def claim(target: Path) -> bool:
        """True if the blob exists, after stamping it as in use now (its mtime).

        A writer that finds its bytes already stored names that blob in a row soon; a
        blob removal (track/store/removal.py) leaves alone blobs touched since their
        rows were written, and a claim that finds the blob just removed writes it anew."""
        try:
            os.utime(target)
            return True
        except FileNotFoundError:
            return False
        except OSError:  # another user's blob on a shared folder: it exists, unstamped
            return target.exists()

    def remove(self, sha: str, untouched_since: float, older_than: float) -> int | None:
        """Delete a blob no row names, unless it may be in use: return the bytes freed
        (0 if it was gone), or None when it was kept because it was touched (written or
        claimed) after ``untouched_since`` and not before ``older_than``."""
        path = self.path(sha)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return 0
        if stat.st_mtime > untouched_since and stat.st_mtime >= older_than:
            return None
        try:
            os.unlink(path)
        except FileNotFoundError:
            return 0
        return stat.st_size

    def files(self):
        """``(path, stat)`` of every file under the blob folder: blobs and temporary files."""
        try:
            folders = [f for f in self.root.iterdir() if f.is_dir()]
        except FileNotFoundError:
            return
        for folder in sorted(folders):
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.is_file(follow_symlinks=False):
                    yield Path(entry.path), entry.stat(follow_symlinks=False)

    def discard(self, paths: list[Path]) -> None:
        """Delete blobs this process just created and no row names (best effort)."""
        for path in paths:
            try:
                os.unlink(path)
            except OSError:
                pass

    def put_file(self, source: str | os.PathLike) -> str:
        """Copy the file at ``source`` into the store; return its SHA-256 hex digest."""
        digest = hashlib.sha256()
        with open(source, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
        target = self.path(sha)
        if not self.claim(target):
            def copy(out):
                with open(source, "rb") as f:
                    shutil.copyfileobj(f, out, _CHUNK)
            self._write_atomic(target, copy)
        return sha

    def get_bytes(self, sha: str) -> bytes:
        """The blob's bytes, from the database (a small snapshot) or its file."""
        path = self.path(sha)  # checks the name
        data = None if self._inline is None else self._inline(sha)
        if data is not None:
            return data
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"blob {sha} is missing from {self.root}") from None

    def put_arrays(self, arrays: dict[str, np.ndarray], created: list[Path] | None = None) -> str:
        """Store named arrays as one safetensors blob file; return its SHA-256 (see
        put_bytes)."""
        return self.put_encoded(*encode_arrays(arrays), created)

    def get_arrays(self, sha: str) -> dict[str, np.ndarray]:
        """Read a safetensors blob back as ``{name: ndarray}``."""
        from safetensors.numpy import load

        return load(self.get_bytes(sha))

    def _write_atomic(self, target: Path, write) -> None:
        folder = target.parent
        if folder not in self._folders:
            if not folder.is_dir():  # a stat is cheaper than mkdir's failure when it exists
                folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        # a name no other writer uses: this process, this thread, this write
        tmp = folder / f".tmp-{os.getpid()}-{threading.get_ident()}-{next(_counter)}"
        try:
            with open(tmp, "xb") as f:
                write(f)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
