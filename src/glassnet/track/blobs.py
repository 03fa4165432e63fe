"""Content-addressed blob files beside the database: weight snapshots, models, datasets.

A blob is named by the SHA-256 of its bytes and lives at ``blobs/<sha[:2]>/<sha>``.
Writing is atomic (a temporary file in the same folder, then ``os.replace``), so a
reader never sees half a blob, and writing the same bytes twice stores them once.
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


class BlobStore:
    """Content-addressed files under one folder."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        if not self.root.is_dir():  # a read-only store may have none: created at first write
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass
        self._folders: set[Path] = set()

    def path(self, sha: str) -> Path:
        """Where the blob named ``sha`` lives (whether or not it exists)."""
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ConfigError(f"blob name must be 64 lowercase hex digits, got {sha!r}")
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put_bytes(self, data: bytes, created: list[Path] | None = None) -> str:
        """Store ``data``; return its SHA-256 hex digest.

        When the blob is new, its path is appended to ``created`` (if given), so that a
        caller whose database write then fails can :meth:`discard` it.
        """
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if not target.exists():
            self._write_atomic(target, lambda f: f.write(data))
            if created is not None:
                created.append(target)
        return sha

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
        if not target.exists():
            def copy(out):
                with open(source, "rb") as f:
                    shutil.copyfileobj(f, out, _CHUNK)
            self._write_atomic(target, copy)
        return sha

    def get_bytes(self, sha: str) -> bytes:
        path = self.path(sha)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"blob {sha} is missing from {self.root}") from None

    def put_arrays(self, arrays: dict[str, np.ndarray], created: list[Path] | None = None) -> str:
        """Store named arrays as one safetensors blob; return its SHA-256 (see put_bytes)."""
        from safetensors.numpy import save

        # asarray(order="C"), not ascontiguousarray: that one turns a 0-d array into (1,)
        data = save({k: np.asarray(v, order="C") for k, v in arrays.items()})
        return self.put_bytes(data, created)

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
