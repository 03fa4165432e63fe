"""The engine's matrix products, on NumPy's own BLAS.

NumPy's ``matmul`` computes ``C = A @ B``; BLAS's gemm computes ``C = alpha A B + beta C``.
With ``beta = 1`` and ``alpha = -lr``, plain SGD's update ``W -= lr * x.T @ dz`` happens
inside the product that computes the kernel's gradient, instead of in two more passes
over every weight afterwards (on W3's 784-512-256-10 network those passes are a tenth
of an epoch). NumPy does not expose alpha and beta, but its wheels ship their OpenBLAS
as a shared library beside the package (``numpy.libs/libscipy_openblas64_*.so`` on
Linux and Windows, ``numpy/.dylibs`` on macOS), and ``ctypes`` can call its CBLAS
functions. Opening a library the process has already loaded hands back that same
library, so these calls share ``np.matmul``'s threads and thread limit: one BLAS in
the process. (SciPy's ``scipy.linalg.blas`` exposes alpha and beta too, and was used
first; but it is a second OpenBLAS, whose threads, spinning after each call, fought
NumPy's for the cores unless every big product went to SciPy; and it was an optional
dependency, so without it nothing fused.)

Where NumPy was built on another BLAS (Accelerate, MKL, a system library) the library
is not found, ``fusion_available()`` is False and everything runs on ``np.dot``;
``GLASSNET_BLAS=numpy`` asks for that on purpose.

Plain products (``matmul``) stay on ``np.dot``, the same library for less: a ``ctypes``
call costs about two microseconds more. ``affine`` takes the ``ctypes`` route only for
products big enough for OpenBLAS to thread, where saving a pass over the output pays.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

import numpy as np

# OpenBLAS runs gemm on one thread while m*n*k <= 65536 * 4 (interface/gemm.c,
# GEMM_MULTITHREAD_THRESHOLD = 4).
THREADED_GEMM = 65536 * 4

# Below this many trainable parameters, SGD's separate update pass costs less than the
# extra BLAS calls of fusing it into the gradient products.
FUSED_SGD_MIN_PARAMS = 32_768

# CBLAS enum values (cblas.h).
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# How NumPy's wheels name CBLAS in their OpenBLAS: scipy-openblas64 (ILP64, 64-bit
# integers) and its 32-bit sibling, then a plain OpenBLAS.
_SYMBOLS = (("scipy_cblas_", "64_", ctypes.c_int64), ("scipy_cblas_", "", ctypes.c_int),
            ("cblas_", "64_", ctypes.c_int64), ("cblas_", "", ctypes.c_int))

_routines: dict | None = None  # dtype -> (gemm, gemv) ctypes functions; {} when none


def _numpy_openblas_files() -> list[Path]:
    """OpenBLAS libraries inside NumPy's installation, where its wheels put them."""
    package = Path(np.__file__).resolve().parent
    found = []
    for folder in (package.parent / "numpy.libs", package / ".dylibs"):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if "openblas" in p.name.lower())
    return found


def _already_loaded(path: Path) -> bool:
    """Whether the process has ``path`` mapped (Linux); elsewhere NumPy's folder is trusted.

    Opening a file the process had not loaded would start a second OpenBLAS, with its
    own threads: the very thing this module avoids.
    """
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return True
    return str(path.resolve()) in maps.read_text()


def _bind(library: ctypes.CDLL) -> dict:
    for prefix, suffix, integer in _SYMBOLS:
        names = [f"{prefix}{kind}{suffix}" for kind in ("sgemm", "sgemv", "dgemm", "dgemv")]
        if not all(hasattr(library, name) for name in names):
            continue
        routines = {}
        for dtype, real, (gemm_name, gemv_name) in (
                (np.float32, ctypes.c_float, names[:2]), (np.float64, ctypes.c_double, names[2:])):
            pointer, enum = ctypes.c_void_p, ctypes.c_int
            gemm = getattr(library, gemm_name)
            # order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc
            gemm.argtypes = [enum, enum, enum, integer, integer, integer, real, pointer,
                             integer, pointer, integer, real, pointer, integer]
            gemv = getattr(library, gemv_name)
            # order, trans, M, N, alpha, A, lda, X, incX, beta, Y, incY
            gemv.argtypes = [enum, enum, integer, integer, real, pointer, integer, pointer,
                             integer, real, pointer, integer]
            gemm.restype = gemv.restype = None
            routines[np.dtype(dtype)] = (gemm, gemv)
        return routines
    return {}


def _load_routines() -> dict:
    global _routines
    if _routines is None:
        _routines = {}
        if os.environ.get("GLASSNET_BLAS", "").lower() != "numpy":
            for path in _numpy_openblas_files():
                if not _already_loaded(path):
                    continue
                try:
                    library = ctypes.CDLL(str(path))
                except OSError:
                    continue
                _routines = _bind(library)
                if _routines:
                    break
    return _routines


def fusion_available() -> bool:
    """Whether ``matmul_add`` fuses a scaled product into its output (NumPy's OpenBLAS found)."""
    return bool(_load_routines())


def _pointer(m: np.ndarray) -> int:
    """Address of a C-ordered m's first element (0.3 µs; ``m.ctypes.data`` takes 1 µs)."""
    if m.flags.writeable:
        return ctypes.addressof(ctypes.c_char.from_buffer(m))
    return m.ctypes.data


def _row_major(m: np.ndarray) -> tuple[int, np.ndarray] | None:
    """(transpose flag, the C-ordered array CBLAS reads) for m, or None if m is strided.

    A Fortran-ordered m (a transposed view) is its C-ordered transpose, read transposed.
    """
    flags = m.flags
    if flags.c_contiguous:
        return _NO_TRANS, m
    if flags.f_contiguous:
        return _TRANS, m.T
    return None


def _cblas_call(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float,
                beta: float) -> tuple | None:
    """(function, arguments, alpha's position) of the CBLAS call for
    ``out = alpha * a @ b + beta * out``, or None if CBLAS cannot read the arrays as they are.

    CBLAS gets only what it can read as it is: one float dtype, a writeable C-ordered
    ``out``, operands that are C-ordered or Fortran-ordered (a transposed view: read
    through the transpose flag, from its C-ordered transpose's address), nothing empty.
    """
    routines = (_routines if _routines is not None else _load_routines()).get(out.dtype)
    flags_out = out.flags
    if (routines is None or a.dtype != out.dtype or b.dtype != out.dtype
            or not (flags_out.c_contiguous and flags_out.writeable)
            or out.size == 0 or a.size == 0 or b.ndim != 2):
        return None
    layout_a, layout_b = _row_major(a), _row_major(b)
    if layout_a is None or layout_b is None:
        return None
    (trans_a, a_rows), (trans_b, b_rows) = layout_a, layout_b
    gemm, gemv = routines
    # CBLAS trusts the sizes it is given: shapes that do not chain go to NumPy's error.
    if a.ndim > 2 or a.shape[-1] != b.shape[0] or out.shape != a.shape[:-1] + b.shape[1:]:
        return None
    if a.ndim == 1:  # out (n,) = alpha * b.T @ a + beta * out, a gemv on b's rows
        k, n = b_rows.shape
        return gemv, (_ROW_MAJOR, _TRANS if trans_b == _NO_TRANS else _NO_TRANS, k, n, alpha,
                      _pointer(b_rows), n, _pointer(a), 1, beta, _pointer(out), 1), 4
    (m, k), n = a.shape, b.shape[1]
    return gemm, (_ROW_MAJOR, trans_a, trans_b, m, n, k, alpha, _pointer(a_rows),
                  a_rows.shape[1], _pointer(b_rows), b_rows.shape[1], beta, _pointer(out), n), 6


def _blas_product(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float,
                  beta: float, cache: CachedProduct | None = None) -> bool:
    """``out = alpha * a @ b + beta * out`` in one CBLAS call; False if it cannot be.

    With ``cache`` (a call site's ``CachedProduct``) the prepared call is reused.
    """
    if cache is not None:
        return cache(a, b, out, alpha, beta)
    call = _cblas_call(a, b, out, alpha, beta)
    if call is None:
        return False
    function, arguments, _ = call
    function(*arguments)
    return True


class CachedProduct:
    """One call site's CBLAS product, kept ready while it is called on the same arrays.

    A training step makes the same products on the same buffers at every batch. Most
    of a checked ``ctypes`` call's 3.8 µs goes to the checks and to converting its
    fourteen arguments; this does both once and then repeats the call for 0.8 µs, as
    long as ``a``, ``b`` and ``out`` are the very objects (and shapes) it was prepared
    for. It holds them, so the addresses it keeps stay valid. Only alpha may change
    between calls (a learning-rate schedule); it is written into the prepared call.
    """

    __slots__ = ("_arrays", "_shapes", "_beta", "_alpha", "_run")

    def __init__(self):
        self._arrays: tuple = ()
        self._run = None

    def __call__(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float,
                 beta: float) -> bool:
        arrays = self._arrays
        if (arrays and arrays[0] is a and arrays[1] is b and arrays[2] is out
                and beta == self._beta and self._shapes == (a.shape, b.shape, out.shape)):
            self._alpha.value = alpha
            self._run()
            return True
        call = _cblas_call(a, b, out, alpha, beta)
        if call is None:
            self._arrays, self._run = (), None
            return False
        function, arguments, alpha_at = call
        converted = [kind(value) for kind, value in zip(function.argtypes, arguments,
                                                        strict=True)]
        self._arrays, self._shapes, self._beta = (a, b, out), (a.shape, b.shape, out.shape), beta
        self._alpha = converted[alpha_at]
        self._run = functools.partial(function, *converted)
        self._run()
        return True


def quiet_invalid_flag(function):
    """Run ``function`` with NumPy's "invalid value" floating-point warning off.

    Some OpenBLAS kernels raise the CPU's FE_INVALID flag on finite inputs (numpy#24067,
    OpenBLAS#1924; seen on CI's CPUs and not on others), and NumPy then warns "invalid
    value encountered in dot" about a product that is correct. The engine finds
    non-finite numbers itself (``nonfinite.py``, ``TerminateOnNaN``), so the flag only adds
    noise. Set once per call of an entry point (fit, predict, a layer's call): NumPy's
    ``errstate`` costs about a microsecond, too much around each product.
    """

    @functools.wraps(function)
    def quiet(*args, **kwargs):
        with np.errstate(invalid="ignore"):
            return function(*args, **kwargs)

    return quiet


def _big(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether OpenBLAS would thread ``a @ b``: only those repay a ctypes call."""
    return a.size * b.shape[1] > THREADED_GEMM  # m·k·n


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a @ b`` written into ``out`` (``a`` a matrix, or a vector for ``v @ M``).

    NumPy's own call: it runs on the same OpenBLAS as the fused products, for less.
    """
    if a.dtype == b.dtype == out.dtype and out.flags.c_contiguous:
        # ndarray.dot skips matmul's ufunc machinery (about half a microsecond a call, a
        # tenth of a small network's layer) and np.dot's __array_function__ dispatch (a
        # fifth of a microsecond more); it needs one dtype and a C-contiguous out.
        return a.dot(b, out=out)
    return np.matmul(a, b, out=out)


def affine(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None,
           out: np.ndarray, cache: CachedProduct | None = None) -> np.ndarray:
    """``x @ kernel + bias`` written into ``out`` (``bias`` None: the product alone).

    Through CBLAS the bias is copied into ``out`` and gemm adds the product to it
    (beta = 1): one write pass over ``out`` instead of reading and writing it again
    after the product. Same sums, added in another order: equal up to rounding.
    ``cache``: the call site's ``CachedProduct``, for a product repeated on the same arrays.
    """
    if bias is not None and bias.dtype == out.dtype and x.ndim == 2 and _big(x, kernel):
        np.copyto(out, bias)
        if _blas_product(x, kernel, out, 1.0, 1.0, cache):
            return out
    matmul(x, kernel, out)
    if bias is not None:
        out += bias
    return out


def matmul_add(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float,
               cache: CachedProduct | None = None) -> np.ndarray:
    """``out += alpha * (a @ b)`` in one BLAS call when ``fusion_available()``.

    Falls back to a product and an add when the operands cannot go to BLAS as they are.
    ``cache``: the call site's ``CachedProduct``, for a product repeated on the same arrays.
    """
    if not _blas_product(a, b, out, alpha, 1.0, cache):
        out += alpha * (a @ b)
    return out
