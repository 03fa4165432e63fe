"""Where a layer's speed lives: arrays reused across steps, CBLAS calls kept ready, SGD
fused into the gradient products.

A layer writes its math the textbook way (``layers/dense.py``: z = x·W + b; a = g(z);
dz = da·g′(z); dW = xᵀ·dz; db = Σdz; dx = dz·Wᵀ) and asks its ``Workspace`` for each
product or elementwise step. The workspace writes into arrays it allocates once per
batch size, so a training step allocates nothing, and repeats each call site's CBLAS
call as prepared (``blas.CachedProduct``). What is kept where, and why:

- z and a get a buffer each (a is z for a linear activation), so z survives for
  ``last_z``; running g in place over z saved no measurable time.
- dz is written over da where the activation allows it (``backward_in_place``): da is
  the next layer's scratch array, read only there, and one buffer fewer stays in cache.
- xᵀ is one transposed view per input array, the same object at every step, so the
  kernel step's prepared CBLAS call stays valid.
- db = Σdz is ``ones·dz``: one BLAS call, faster than ``np.sum``'s reduction.
- With a rate, plain SGD happens inside the gradient products (``blas.matmul_add``):
  W ← W − r·xᵀ·dz without writing dW, and no separate pass over the weights.
"""

from __future__ import annotations

import numpy as np

from glassnet import activations as gnactivations
from glassnet._engine import blas


class _Buffers:
    """Arrays a layer writes into during training, for one batch size."""

    __slots__ = ("z", "a", "dz", "dx", "mask", "ones", "products")

    def __init__(self):
        self.z = self.a = self.dz = self.dx = self.mask = self.ones = None
        # The CBLAS calls of one batch size: forward, kernel step, bias step.
        self.products: tuple[blas.CachedProduct, ...] | None = None


_LINEAR = gnactivations.linear


class Workspace:
    """One layer's training arrays, per batch size, and its prepared BLAS calls.

    A forward call selects its batch size's arrays; the backward calls after it use
    the same (a layer's backward always follows its forward on the same batch).
    """

    __slots__ = ("_by_size", "_now", "_x", "_x_t")

    def __init__(self):
        self._by_size: dict[int | tuple, _Buffers] = {}  # predict's: ("predict", n)
        self._now: _Buffers | None = None  # the current batch size's
        self._x = self._x_t = None

    def buffers(self, n) -> _Buffers:
        """Batch size n's arrays, now the current ones."""
        buffers = self._by_size.get(n)
        if buffers is None:
            buffers = self._by_size[n] = _Buffers()
        self._now = buffers
        return buffers

    def clear(self) -> None:
        self._by_size.clear()
        self._now = self._x = self._x_t = None

    # -- forward -------------------------------------------------------------------
    def affine(self, x, kernel, bias, dtype) -> np.ndarray:
        """z = x·W + b, into this batch size's z buffer."""
        buffers = self.buffers(x.shape[0])
        z = buffers.z
        if z is None:
            z = buffers.z = np.empty((x.shape[0], kernel.shape[1]), dtype=dtype)
            buffers.products = (blas.CachedProduct(), blas.CachedProduct(),
                                blas.CachedProduct())
        blas.affine(x, kernel, bias, z, buffers.products[0])
        if x is not self._x:  # one transposed view per input array (see the module doc)
            self._x, self._x_t = x, x.T
        return z

    def activate(self, activation, z) -> np.ndarray:
        """a = g(z), into a buffer of its own (a is z itself for a linear g).

        After ``affine`` (Dense) z is the current buffers' z; an Activation layer's z is
        its input, and selects its batch size here.
        """
        buffers = self._now
        if buffers is None or z is not buffers.z:
            buffers = self.buffers(z.shape[0])
        elif activation is _LINEAR:
            return z
        a = buffers.a
        if a is None:
            a = buffers.a = np.empty_like(z)
        return activation.forward(z, a)

    def mask(self, x, rate, rng) -> tuple[np.ndarray, np.ndarray]:
        """(mask, a = x · mask): inverted dropout, mask 0 or 1/(1 − rate) per element."""
        buffers = self.buffers(x.shape[0])
        if buffers.mask is None:
            buffers.mask = np.empty_like(x)
            buffers.a = np.empty_like(x)
        mask = buffers.mask
        rng.random(out=mask, dtype=mask.dtype)
        np.greater_equal(mask, rate, out=mask)
        mask *= 1.0 / (1.0 - rate)
        return mask, np.multiply(x, mask, out=buffers.a)

    def predict_buffer(self, n, units, dtype) -> np.ndarray:
        """A (n, units) array kept for ``predict``'s batches (each copied out)."""
        buffers = self._by_size.get(("predict", n))
        if buffers is None:
            buffers = self._by_size[("predict", n)] = _Buffers()
        if buffers.z is None or buffers.z.dtype != dtype:
            buffers.z = np.empty((n, units), dtype=dtype)
        return buffers.z

    # -- backward: on the arrays of the forward pass's batch size --------------------
    def activation_grad(self, activation, z, a, da, overwrite_da=True) -> np.ndarray:
        """dz = da · g′(z), over da where allowed (see the module doc), else a buffer."""
        if overwrite_da:
            if activation is _LINEAR:
                return da
            if activation.backward_in_place:
                return activation.backward(z, a, da, da)
        buffers = self._now
        if buffers.dz is None:
            buffers.dz = np.empty_like(da)
        return activation.backward(z, a, da, buffers.dz)

    def times_mask(self, dy, mask) -> np.ndarray:
        buffers = self._now
        if buffers.dx is None:
            buffers.dx = np.empty_like(dy)
        return np.multiply(dy, mask, out=buffers.dx)

    def input_grad(self, dz, kernel, dtype) -> np.ndarray:
        """dx = dz·Wᵀ, into this batch size's dx buffer."""
        buffers = self._now
        dx = buffers.dx
        if dx is None:
            dx = buffers.dx = np.empty((dz.shape[0], kernel.shape[0]), dtype=dtype)
        return blas.matmul(dz, kernel.T, dx)

    def weight_grads(self, dz, kernel_grad, bias_grad) -> None:
        """dW = xᵀ·dz and (bias_grad not None) db = Σdz, written into the grads."""
        blas.matmul(self._x_t, dz, kernel_grad)
        if bias_grad is not None:
            blas.matmul(self._ones(dz), dz, bias_grad)

    def sgd_step(self, dz, kernel, bias, rate) -> None:
        """W ← W − rate·xᵀ·dz and b ← b − rate·Σdz inside the products (grads unwritten)."""
        _, kernel_step, bias_step = self._now.products
        blas.matmul_add(self._x_t, dz, kernel, -rate, kernel_step)
        if bias is not None:
            blas.matmul_add(self._ones(dz), dz, bias, -rate, bias_step)

    def _ones(self, dz) -> np.ndarray:
        ones = self._now.ones
        if ones is None:
            ones = self._now.ones = np.ones(dz.shape[0], dtype=dz.dtype)
        return ones
