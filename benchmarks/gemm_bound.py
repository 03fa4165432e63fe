"""The GEMM bound of W3: one epoch's matrix products alone, timed with NumPy.

W3 trains 784-512(relu)-256(relu)-10 on 60,000 rows with batch 128. Per batch
and per layer a dense network needs three products: the forward ``x @ W``, the
kernel gradient ``x.T @ dz`` and the input gradient ``dz @ W.T`` (not for the
first layer, whose input gradient nobody needs). This module does exactly those
products, with the same shapes, dtype (float32) and memory layouts glassnet uses
(transposed operands are views, so BLAS reads them with its transpose flag), into
preallocated outputs, for every batch of one epoch including the final partial
one, and nothing else: no activation, no loss, no update. No training loop can do
less arithmetic, so ``epoch seconds / bound seconds`` measures what everything
else costs.

Run as a subprocess by the harness (one JSON line on stdout)::

    OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.gemm_bound
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

SIZES = (784, 512, 256, 10)
N_SAMPLES, BATCH = 60000, 128


def _batch_arrays(n: int, rng: np.random.Generator):
    """Operands and outputs for one batch of n rows: x_i, z_i / dz_i, W_i, dW_i, dx_i."""
    xs = [rng.standard_normal((n, d), dtype=np.float32) for d in SIZES[:-1]]
    dzs = [rng.standard_normal((n, d), dtype=np.float32) for d in SIZES[1:]]
    zs = [np.empty((n, d), dtype=np.float32) for d in SIZES[1:]]
    dxs = [np.empty((n, d), dtype=np.float32) for d in SIZES[:-1]]
    return xs, zs, dzs, dxs


def bound_seconds(n_samples: int = N_SAMPLES, batch: int = BATCH, seed: int = 0) -> float:
    """Seconds for one epoch of W3's matrix products (forward, dW, dX except layer 1)."""
    rng = np.random.default_rng(seed)
    kernels = [(rng.standard_normal((a, b), dtype=np.float32) * 0.05)
               for a, b in zip(SIZES[:-1], SIZES[1:], strict=True)]
    grads = [np.empty_like(w) for w in kernels]
    full, rest = divmod(n_samples, batch)
    plans = [(full, _batch_arrays(batch, rng))]
    if rest:
        plans.append((1, _batch_arrays(rest, rng)))
    layers = range(len(kernels))
    start = time.perf_counter()
    for count, (xs, zs, dzs, dxs) in plans:
        for _ in range(count):
            for i in layers:
                np.matmul(xs[i], kernels[i], out=zs[i])
            for i in reversed(layers):
                np.matmul(xs[i].T, dzs[i], out=grads[i])
                if i > 0:
                    np.matmul(dzs[i], kernels[i].T, out=dxs[i])
    return time.perf_counter() - start


def flops(n_samples: int = N_SAMPLES) -> float:
    """Floating-point operations of those products over one epoch (2 per multiply-add)."""
    per_row = sum(2 * a * b * (3 if i > 0 else 2)
                  for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)))
    return float(per_row * n_samples)


def main() -> int:
    bound_seconds(n_samples=BATCH * 20)  # warm BLAS's threads and caches
    seconds = bound_seconds()
    print(json.dumps({"workload": "gemm_bound", "peer": "numpy", "seconds": seconds,
                      "gflops": flops() / seconds / 1e9}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
