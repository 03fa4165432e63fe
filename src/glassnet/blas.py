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

_routines: dict | None = None  # dtype -> (gemm, gemv) on SciPy; {} without SciPy


def _scipy_routines() -> dict:
    global _routines
    if _routines is None:
        _routines = {}
        if os.environ.get("GLASSNET_BLAS", "").lower() != "numpy":
            try:
                from scipy.linalg import blas
            except ImportError:
                pass
            else:
                _routines = {np.dtype(np.float32): (blas.sgemm, blas.sgemv),
                             np.dtype(np.float64): (blas.dgemm, blas.dgemv)}
    return _routines


def fusion_available() -> bool:
    """Whether ``matmul_add`` can fuse a scaled product into its output (SciPy present)."""
    return bool(_scipy_routines())


def _as_fortran_transpose(m: np.ndarray) -> tuple[np.ndarray, int]:
    """(array, trans) with op(array) == m.T and array Fortran-ordered, as SciPy's BLAS wants.

    A C-ordered m is m.T in Fortran order; a Fortran-ordered m (a transposed view) is
    passed as it is, with BLAS's transpose flag.
    """
    return (m.T, 0) if m.flags.c_contiguous else (m, 1)


def _in_place_routines(a: np.ndarray, b: np.ndarray, out: np.ndarray):
    """SciPy's (gemm, gemv) when they can write ``a @ b`` into ``out`` as it is, else None.

    That needs one float dtype, a writeable C-contiguous ``out`` and operands that are
    C- or Fortran-contiguous (anything else would be copied, silently, by the wrapper).
    """
    routines = _scipy_routines().get(out.dtype)
    if routines is None or a.dtype != out.dtype or b.dtype != out.dtype or out.size == 0:
        return None
    flags_out, flags_a, flags_b = out.flags, a.flags, b.flags
    if (flags_out.c_contiguous and flags_out.writeable
            and (flags_a.c_contiguous or flags_a.f_contiguous)
            and (flags_b.c_contiguous or flags_b.f_contiguous)):
        return routines
    return None


def _big(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether OpenBLAS would thread ``a @ b`` (then it goes to SciPy, see above)."""
    # m·k·n is a.size * n for a matrix a; a vector a (gemv) reads all of b once.
    return (b.size >= THREADED_GEMV if a.ndim == 1
            else a.size * b.shape[1] > THREADED_GEMM)


def _scipy_product(routines, a, b, out, alpha: float, beta: float) -> None:
    gemm, gemv = routines
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
    routines = _in_place_routines(a, b, out) if _big(a, b) else None
    if routines is not None:
        _scipy_product(routines, a, b, out, 1.0, 0.0)
        return out
    return _numpy_product(a, b, out)


def _numpy_product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
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
    routines = _in_place_routines(x, kernel, out) if _big(x, kernel) else None
    if routines is None:
        _numpy_product(x, kernel, out)
    elif bias is not None and bias.dtype == out.dtype:
        np.copyto(out, bias)
        _scipy_product(routines, x, kernel, out, 1.0, 1.0)
        return out
    else:
        _scipy_product(routines, x, kernel, out, 1.0, 0.0)
    if bias is not None:
        out += bias
    return out


def matmul_add(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float) -> np.ndarray:
    """``out += alpha * (a @ b)`` in one BLAS call; needs ``fusion_available()``.

    Falls back to a product and an add when the operands cannot go to BLAS as they are.
    """
    routines = _in_place_routines(a, b, out)
    if routines is not None:
        _scipy_product(routines, a, b, out, alpha, 1.0)
        return out
    out += alpha * (a @ b)
    return out
