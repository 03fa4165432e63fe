"""Statistics of many PyTorch tensors at once, computed where they live (CPU or CUDA).

The same numbers as :class:`glassnet.track.paramstats.FlatStats` (the columns of
:data:`~glassnet.track.paramstats.COLUMNS`, the 64 bins over each tensor's [min, max]),
but with torch ops on the tensors' device: every parameter is flattened into one
float64 vector, each statistic of every parameter is one ``index_add_`` or
``scatter_reduce`` over it, and all histograms are one ``bincount``. Only the small
results — (k, 14) statistics and (k, 64) counts — are copied to the host.
"""

from __future__ import annotations

import numpy as np

from glassnet.track.paramstats import COLUMNS, HIST_BINS, uniform_edges

_SLOTS = HIST_BINS + 1  # the right edge itself, folded into the last bin as np.histogram does


class TorchStats:
    """Per-tensor statistics of a fixed list of tensor sizes on one device."""

    def __init__(self, sizes: list[int], device) -> None:
        import torch

        self.torch = torch
        self.k = len(sizes)
        self.sizes = torch.tensor(sizes, dtype=torch.float64, device=device)
        self.segment = torch.repeat_interleave(
            torch.arange(self.k, device=device), torch.tensor(sizes, device=device))
        self.device = device

    def flat(self, tensors) -> object:
        """The tensors' values as one float64 vector on the device (a copy)."""
        torch = self.torch
        return torch.cat([t.detach().reshape(-1).to(torch.float64) for t in tensors])

    def compute(self, values, grads, previous, histograms: bool):
        """``(stats (k, 14), counts (k, 64) | None, edges (k, 65) | None)`` as NumPy.

        ``values`` and ``previous`` are :meth:`flat` vectors (``previous``, the values
        before this step's update, or None); ``grads`` a list of tensors or None per
        parameter (None: its gradient columns are NaN).
        """
        torch = self.torch
        with torch.no_grad():
            out = torch.full((self.k, len(COLUMNS)), float("nan"), dtype=torch.float64,
                             device=self.device)
            out[:, 0] = self.sizes
            lo, hi = self._columns(values, out, 1)
            present = [g is not None for g in grads] if grads is not None else []
            if any(present):
                gflat = torch.cat([
                    (g.detach().reshape(-1).to(torch.float64) if g is not None else
                     torch.zeros(int(self.sizes[i]), dtype=torch.float64, device=self.device))
                    for i, g in enumerate(grads)])
                self._columns(gflat, out, 7)
                missing = torch.tensor([not p for p in present], device=self.device)
                out[missing, 7:13] = float("nan")
            if previous is not None:
                change = self._sum((values - previous) ** 2).sqrt()
                l2 = out[:, 5]
                out[:, 13] = torch.where(l2 > 0, change / l2, torch.full_like(l2, float("nan")))
            counts = self._histograms(values, lo, hi) if histograms else None
            stats = out.cpu().numpy()
            counts = None if counts is None else counts.cpu().numpy()
        edges = None
        if counts is not None and not np.isfinite(stats[:, 3:5]).all():
            counts, edges = _finite_histograms(values.cpu().numpy(), stats, counts,
                                               self.sizes.cpu().numpy().astype(np.int64))
        return stats, counts, edges

    def _sum(self, x):
        return self.torch.zeros(self.k, dtype=x.dtype, device=x.device).index_add_(
            0, self.segment, x)

    def _extreme(self, x, reduce: str):
        return self.torch.zeros(self.k, dtype=x.dtype, device=x.device).scatter_reduce_(
            0, self.segment, x, reduce=reduce, include_self=False)

    def _columns(self, x, out, start: int):
        """mean, std, min, max, l2, share negative of ``x``'s segments into out[:, start:]."""
        squares = self._sum(x * x)
        mean = self._sum(x) / self.sizes
        var = squares / self.sizes - mean * mean
        lo, hi = self._extreme(x, "amin"), self._extreme(x, "amax")
        out[:, start] = mean
        out[:, start + 1] = var.clamp_min(0).sqrt()
        out[:, start + 2] = lo
        out[:, start + 3] = hi
        out[:, start + 4] = squares.sqrt()
        out[:, start + 5] = self._sum((x < 0).to(x.dtype)) / self.sizes
        return lo, hi

    def _histograms(self, x, lo, hi):
        torch = self.torch
        width = hi - lo
        constant = width <= 0  # np.histogram's rule: [v - 0.5, v + 0.5]
        lo = torch.where(constant, lo - 0.5, lo)
        width = torch.where(constant, torch.ones_like(width), width)
        t = (x - lo[self.segment]) * (HIST_BINS / width[self.segment])
        t = torch.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0)  # redone on the host
        index = t.to(torch.int64).clamp_(0, HIST_BINS) + self.segment * _SLOTS
        counts = torch.bincount(index, minlength=self.k * _SLOTS).reshape(self.k, _SLOTS)
        counts[:, HIST_BINS - 1] += counts[:, HIST_BINS]
        return counts[:, :HIST_BINS]


def _finite_histograms(values: np.ndarray, stats: np.ndarray, counts: np.ndarray,
                       sizes: np.ndarray):
    """Where a tensor holds NaN or inf, its histogram spans its finite values (as
    FlatStats does); its min/max columns keep what torch found."""
    edges = np.stack([uniform_edges(lo, hi) for lo, hi in stats[:, 3:5]])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for i, (start, size) in enumerate(zip(offsets, sizes, strict=True)):
        if np.isfinite(stats[i, 3:5]).all():
            continue
        part = values[start:start + size]
        part = part[np.isfinite(part)]
        lo, hi = (part.min(), part.max()) if part.size else (0.0, 0.0)
        edges[i] = uniform_edges(lo, hi)
        counts[i] = np.histogram(part, bins=edges[i])[0]
    return counts, edges
