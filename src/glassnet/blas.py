"""The engine's matrix products, and which BLAS runs them.

NumPy's ``matmul`` computes ``C = A @ B``; BLAS's gemm computes ``C = alpha A B + beta C``.
With ``beta = 1`` and ``alpha = -lr``, plain SGD's update ``W -= lr * x.T @ dz`` happens
inside the product that computes the kernel's gradient, instead of in two more passes
over every weight afterwards (on W3's 784-512-256-10 network those passes are a tenth
of an epoch). NumPy does not expose alpha and beta; SciPy's ``scipy.linalg.blas`` does,
so ``matmul_add`` needs SciPy, and ``fusion_available()`` says whether it is there.

NumPy and SciPy each ship their own OpenBLAS, and each one's threads spin for a while
after a call. A threaded product on one library right after a threaded product on the
other finds a core taken by the first one's spinning thread, and slows down several
times. So the choice is made by size, the same way everywhere, training and inference:
a product big enough for OpenBLAS to thread (its own thresholds, below) runs on SciPy
when SciPy is installed; a small product, which OpenBLAS runs on the calling thread,
stays with NumPy, whose call costs less. ``GLASSNET_BLAS=numpy`` turns SciPy off.

Results are the same products either way, up to float rounding (the two libraries
block the sums differently).
"""

from __future__ import annotations

import os

import numpy as np

# OpenBLAS runs gemm on one thread while m*n*k <= 65536 * 4 and gemv while
# m*n < 2304 * 4 (interface/gemm.c, interface/gemv.c, GEMM_MULTITHREAD_THRESHOLD = 4).
THREADED_GEMM = 65536 * 4
THREADED_GEMV = 2304 * 4

# Below this many trainable parameters, SGD's separate update pass costs less than the
# extra BLAS calls of fusing it into the gradient products.
FUSED_SGD_MIN_PARAMS = 32_768

_scipy_blas = None  # scipy.linalg.blas once loaded; False when unavailable or turned off


def _scipy():
    global _scipy_blas
    if _scipy_blas is None:
        _scipy_blas = False
        if os.environ.get("GLASSNET_BLAS", "").lower() != "numpy":
            try:
                from scipy.linalg import blas
            except ImportError:
                pass
            else:
                _scipy_blas = blas
    return _scipy_blas


def fusion_available() -> bool:
    """Whether ``matmul_add`` can fuse a scaled product into its output (SciPy present)."""
    return bool(_scipy())


def _routines(dtype):
    blas = _scipy()
    if dtype == np.float32:
        return blas.sgemm, blas.sgemv
    return blas.dgemm, blas.dgemv


def _as_fortran_transpose(m: np.ndarray) -> tuple[np.ndarray, int]:
    """(array, trans) with op(array) == m.T and array Fortran-ordered, as SciPy's BLAS wants.

    A C-ordered m is m.T in Fortran order; a Fortran-ordered m (a transposed view) is
    passed as it is, with BLAS's transpose flag.
    """
    return (m.T, 0) if m.flags.c_contiguous else (m, 1)


def _scipy_can(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """Whether SciPy can write ``a @ b`` into ``out`` in place: one float dtype, no copies."""
    return (a.dtype == b.dtype == out.dtype and out.dtype in (np.float32, np.float64)
            and out.flags.c_contiguous and out.flags.writeable and out.size > 0
            and (a.flags.c_contiguous or a.flags.f_contiguous)
            and (b.flags.c_contiguous or b.flags.f_contiguous))


def _uses_scipy(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    if a.ndim == 1:  # vector @ matrix, gemv
        big = b.shape[0] * b.shape[1] >= THREADED_GEMV
    else:
        big = a.shape[0] * a.shape[1] * b.shape[1] > THREADED_GEMM
    return big and bool(_scipy()) and _scipy_can(a, b, out)


def _scipy_product(a, b, out, alpha: float, beta: float) -> None:
    gemm, gemv = _routines(out.dtype)
    if a.ndim == 1:
        # out = alpha * b.T @ a + beta * out, with b.T given to gemv as Fortran data.
        matrix, trans = _as_fortran_transpose(b)
        gemv(alpha, matrix, a, beta=beta, y=out, trans=trans, overwrite_y=1)
        return
    # C-ordered out is out.T in Fortran order, and out.T = b.T @ a.T.
    first, trans_a = _as_fortran_transpose(b)
    second, trans_b = _as_fortran_transpose(a)
    gemm(alpha, first, second, beta=beta, c=out.T, trans_a=trans_a, trans_b=trans_b,
         overwrite_c=1)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a @ b`` written into ``out`` (``a`` a matrix, or a vector for ``v @ M``)."""
    if _uses_scipy(a, b, out):
        _scipy_product(a, b, out, 1.0, 0.0)
        return out
    if a.dtype == b.dtype == out.dtype and out.flags.c_contiguous:
        # np.dot skips matmul's ufunc machinery, about half a microsecond a call, a tenth
        # of a small network's layer; it needs one dtype and a C-contiguous out.
        return np.dot(a, b, out=out)
    return np.matmul(a, b, out=out)


def affine(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None,
           out: np.ndarray) -> np.ndarray:
    """``x @ kernel + bias`` written into ``out`` (``bias`` None: the product alone).

    On SciPy's BLAS the bias is copied into ``out`` and gemm adds the product to it
    (beta = 1): one write pass over ``out`` instead of reading and writing it again
    after the product. Same sums, added in another order: equal up to rounding.
    """
    if bias is not None and bias.dtype == out.dtype and _uses_scipy(x, kernel, out):
        np.copyto(out, bias)
        _scipy_product(x, kernel, out, 1.0, 1.0)
        return out
    matmul(x, kernel, out)
    if bias is not None:
        out += bias
    return out


def matmul_add(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float) -> np.ndarray:
    """``out += alpha * (a @ b)`` in one BLAS call; needs ``fusion_available()``.

    Falls back to a product and an add when the operands cannot go to BLAS as they are.
    """
    if _scipy() and _scipy_can(a, b, out):
        _scipy_product(a, b, out, alpha, 1.0)
        return out
    out += alpha * (a @ b)
    return out
