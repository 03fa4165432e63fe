"""What a watch keeps of its logged steps until they are summarised: one buffer set.

A logged step is copied into the next row of a :class:`KeptSteps` (cheap: a few
``np.copyto``); once the rows are full, or a quarter second has passed, the whole set is
summarised at once (:mod:`glassnet.track.batch_stats`) and comes back for reuse. Every
array of a set -- the copies and the results they become -- lies in one block of
memory, laid out by a :class:`Layout`: private NumPy memory, or a file in shared memory
(``/dev/shm`` where there is one) that the statistics process maps to summarise the set
without a copy (:mod:`glassnet.track.stats_process`).
"""

from __future__ import annotations

import atexit
import itertools
import json
import mmap
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from glassnet.track.env import process_alive
from glassnet.track.paramstats import COLUMNS, HIST_BINS

_ALIGN = 64
_counter = itertools.count()
SHARED_PREFIX = "glassnet-stats-"  # <pid>-<n>: the statistics process removes dead pids'


@dataclass(frozen=True)
class Layout:
    """The arrays of a buffer set: ``rows`` logged steps of ``sizes`` parameters in
    ``dtype`` (values then gradients); per ReLU/sigmoid/tanh layer ``units``
    ``(name, activation, batch, width, output dtype)`` its outputs on each step's batch;
    per layer of ``layers`` the seconds of its backward (and of the update, per step);
    which parameters' gradients a step offered (a frozen or unused one has none);
    the value of each of the logs' ``metrics`` at each step."""

    rows: int
    sizes: tuple[int, ...]
    dtype: str
    units: tuple[tuple[str, str, int, int, str], ...]
    layers: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return sum(self.sizes)

    def arrays(self) -> list[tuple[str, tuple, str]]:
        """``[(name, shape, dtype)]`` in the order they lie in the block."""
        r, n, k, u = self.rows, self.n, len(self.sizes), len(self.units)
        out = [("rows", (r, 2 * n), self.dtype), ("changes", (r, n), self.dtype),
               ("steps", (r,), "int64"), ("times", (r,), "float64"),
               ("backward", (r, len(self.layers)), "float64"), ("update", (r,), "float64"),
               ("metrics", (r, len(self.metrics)), "float64"),
               ("kinds", (r,), "int8"), ("seen", (r, u), "bool"),
               ("has_grad", (r, k), "bool")]
        out += [(f"out:{name}", (r, batch, width), dtype)
                for name, _, batch, width, dtype in self.units]
        out += [("stats", (r, k, len(COLUMNS)), "float64"),
                ("counts", (r, k, HIST_BINS), "int64"),
                ("edges", (r, k, HIST_BINS + 1), "float64"), ("shares", (r, u), "float64")]
        return out

    def nbytes(self) -> int:
        return _offsets(self)[-1]

    def shapes(self) -> tuple:
        """What the memory's layout depends on (not the names): sets of equal shapes
        can take each other's layouts."""
        return (self.rows, self.sizes, self.dtype,
                tuple((batch, width, dtype) for _, _, batch, width, dtype in self.units),
                len(self.layers), len(self.metrics))

    def to_json(self) -> str:
        return json.dumps({"rows": self.rows, "sizes": list(self.sizes), "dtype": self.dtype,
                           "units": [list(unit) for unit in self.units],
                           "layers": list(self.layers), "metrics": list(self.metrics)})

    @classmethod
    def from_json(cls, text: str) -> Layout:
        d = json.loads(text)
        return cls(int(d["rows"]), tuple(int(s) for s in d["sizes"]), str(d["dtype"]),
                   tuple((str(a), str(b), int(c), int(e), str(f)) for a, b, c, e, f
                         in d["units"]),
                   tuple(str(n) for n in d["layers"]), tuple(str(k) for k in d["metrics"]))


def _offsets(layout: Layout) -> list[int]:
    offsets, at = [], 0
    for _, shape, dtype in layout.arrays():
        offsets.append(at)
        at += -(-int(np.prod(shape)) * np.dtype(dtype).itemsize // _ALIGN) * _ALIGN
    return offsets + [at]


class KeptSteps:
    """One buffer set of :class:`Layout` ``layout``; ``shared``: in a shared-memory file
    (``path``) another process may map with :meth:`attach`."""

    def __init__(self, layout: Layout, shared: bool = False) -> None:
        self.layout = layout
        self.path: str | None = None
        size = max(layout.nbytes(), _ALIGN)
        if shared:
            folder = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
            self.path = os.path.join(folder, f"{SHARED_PREFIX}{os.getpid()}-{next(_counter)}")
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            _named.add(self.path)
            try:
                os.ftruncate(fd, size)  # pages come when first written, as np.empty's do
                self._memory = mmap.mmap(fd, size)
            finally:
                os.close(fd)
        else:
            self._memory = np.empty(size, dtype=np.uint8)
        self._views(self._memory)

    @classmethod
    def attach(cls, path: str, layout: Layout) -> KeptSteps:
        """The set another process made at ``path`` (the statistics process's side)."""
        self = cls.__new__(cls)
        self.layout, self.path = layout, path
        fd = os.open(path, os.O_RDWR)
        try:
            self._memory = mmap.mmap(fd, max(layout.nbytes(), _ALIGN))
        finally:
            os.close(fd)
        self._views(self._memory)
        return self

    def _views(self, memory) -> None:
        layout = self.layout
        arrays = {}
        for (name, shape, dtype), offset in zip(layout.arrays(), _offsets(layout)):
            count = int(np.prod(shape))
            arrays[name] = np.frombuffer(memory, dtype=dtype, count=count,
                                         offset=offset).reshape(shape)
        n = layout.n
        self.rows, self.changes, self.kinds = arrays["rows"], arrays["changes"], arrays["kinds"]
        self.steps, self.times = arrays["steps"], arrays["times"]
        self.backward, self.update = arrays["backward"], arrays["update"]
        self.metrics = arrays["metrics"]
        self.values, self.grads = self.rows[:, :n], self.rows[:, n:]
        self.seen = arrays["seen"]  # each unit layer's output kept, per row
        self.has_grad = arrays["has_grad"]  # each parameter's gradient kept, per row
        self.outputs = [arrays[f"out:{unit[0]}"] for unit in layout.units]
        self.stats, self.counts = arrays["stats"], arrays["counts"]
        self.edges, self.shares = arrays["edges"], arrays["shares"]

    def relabel(self, layout: Layout) -> None:
        """Take ``layout``'s names (the same shapes: :meth:`Layout.shapes`)."""
        if layout.shapes() != self.layout.shapes():
            raise ValueError("a buffer set takes only a layout of its own shapes")
        self.layout = layout

    def unlink(self) -> None:
        """Remove the shared file's name (both mappings stay valid until dropped): once
        the other process has mapped it, so that no name outlives this process."""
        if self.path is not None and self.path in _named:
            _named.discard(self.path)
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


_named: set[str] = set()  # shared files this process made that still have their names


@atexit.register
def _unlink_named() -> None:
    for path in list(_named):
        try:
            os.unlink(path)
        except OSError:
            pass


def remove_stale(folder: str | None = None) -> int:
    """Remove shared sets whose process is gone (it was killed before removing them)."""
    folder = folder or ("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir())
    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(SHARED_PREFIX):
            continue
        pid = name[len(SHARED_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid), None):
            try:
                os.unlink(os.path.join(folder, name))
                removed += 1
            except OSError:
                pass
    return removed

