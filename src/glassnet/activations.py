"""Activation functions and their derivatives, in one name-keyed table.

Each activation is a pair: ``forward(z, out)`` computes a = g(z), and
``backward(z, a, da, out)`` computes dz = da * g'(z) (for softmax, the
Jacobian-vector product). Adding an activation means adding two functions and one
table entry. The public functions (``relu(x)``, ``sigmoid(x)``...) work on any array.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from glassnet.errors import unknown_name

# Keras 3 defaults.
LEAKY_RELU_SLOPE = 0.2
ELU_ALPHA = 1.0


def _sigmoid(z, out):
    # exp(-z) overflows to inf for z < -88 (float32): 1/(1+inf) = 0 is the right limit.
    with np.errstate(over="ignore"):
        np.negative(z, out=out)
        np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    try:  # SciPy ships with scikit-learn; fall back to math.erf elementwise without it.
        from scipy.special import erf
    except ImportError:  # pragma: no cover - depends on the environment
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return erf(x).astype(x.dtype, copy=False)


@dataclass(frozen=True)
class ActivationFn:
    """An activation: its name, forward g(z) and backward dz = da * g'(z)."""

    name: str
    forward: Callable[..., np.ndarray]
    backward: Callable[..., np.ndarray]
    # "z" when backward needs the pre-activation, "a" when the output suffices.
    needs: str = "a"
    # Whether backward may write its result over ``da`` (elementwise, da read once).
    backward_in_place: bool = False

    def __call__(self, x) -> np.ndarray:
        """g(x) for any array, as a Tensor (an ndarray that answers ``.numpy()``)."""
        from glassnet.tensor import Tensor

        x = np.asarray(x, dtype=np.result_type(np.asarray(x).dtype, np.float32))
        return self.forward(x, np.empty_like(x)).view(Tensor)


def _linear_f(z, out):
    if out is not z:
        out[...] = z
    return out


def _linear_b(z, a, da, out):
    if out is not da:
        out[...] = da
    return out


# Read-only zero arrays by (shape, dtype): np.maximum(z, zeros) runs NumPy's SIMD
# loop, np.maximum(z, 0) a scalar loop about three times slower. Batch shapes
# repeat, so a few entries serve a whole fit; the cap keeps odd shapes from piling up.
_ZEROS: dict[tuple, np.ndarray] = {}


def _zeros_like(z: np.ndarray) -> np.ndarray:
    key = (z.shape, z.dtype.str)
    zeros = _ZEROS.get(key)
    if zeros is None:
        if len(_ZEROS) >= 16:
            _ZEROS.clear()
        zeros = _ZEROS[key] = np.zeros(z.shape, z.dtype)
        zeros.flags.writeable = False
    return zeros


def _relu_f(z, out):
    return np.maximum(z, _zeros_like(z), out=out)


def _relu_b(z, a, da, out):
    # a > 0 exactly where z > 0; multiplying by the boolean mask keeps it one pass.
    return np.multiply(da, a > 0, out=out)


def _sigmoid_b(z, a, da, out):
    np.subtract(1.0, a, out=out)
    out *= a
    out *= da
    return out


def _tanh_f(z, out):
    return np.tanh(z, out=out)


def _tanh_b(z, a, da, out):
    np.multiply(a, a, out=out)
    np.subtract(1.0, out, out=out)
    out *= da
    return out


def _softmax_f(z, out):
    np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out


def _softmax_b(z, a, da, out):
    dot = np.einsum("ij,ij->i", da.reshape(-1, da.shape[-1]), a.reshape(-1, a.shape[-1]))
    np.subtract(da, dot.reshape(a.shape[:-1] + (1,)), out=out)
    out *= a
    return out


def _leaky_relu_f(z, out):
    np.multiply(z, np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(z.dtype), out=out)
    return out


def _leaky_relu_b(z, a, da, out):
    np.multiply(da, np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(da.dtype), out=out)
    return out


def _elu_f(z, out):
    negative = ELU_ALPHA * np.expm1(np.minimum(z, 0))
    np.copyto(out, np.where(z > 0, z, negative))
    return out


def _elu_b(z, a, da, out):
    np.multiply(da, np.where(z > 0, 1.0, a + ELU_ALPHA), out=out)
    return out


def _gelu_f(z, out):
    # Keras's default gelu is the exact one: 0.5 z (1 + erf(z / sqrt 2)).
    np.copyto(out, 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0))))
    return out


def _gelu_b(z, a, da, out):
    cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    np.multiply(da, cdf + z * pdf, out=out)
    return out


def _softplus_f(z, out):
    # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large z.
    np.copyto(out, np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))))
    return out


def _softplus_b(z, a, da, out):
    _sigmoid(z, out)
    out *= da
    return out


def _silu_f(z, out):
    s = _sigmoid(z, np.empty_like(z))  # not into out: out may be z itself
    np.multiply(z, s, out=out)
    return out


def _silu_b(z, a, da, out):
    s = _sigmoid(z, np.empty_like(z))
    np.multiply(da, s * (1.0 + z * (1.0 - s)), out=out)
    return out


ACTIVATIONS: dict[str, ActivationFn] = {
    fn.name: fn
    for fn in (
        ActivationFn("linear", _linear_f, _linear_b),
        ActivationFn("relu", _relu_f, _relu_b, backward_in_place=True),
        ActivationFn("sigmoid", _sigmoid, _sigmoid_b),
        ActivationFn("tanh", _tanh_f, _tanh_b),
        ActivationFn("softmax", _softmax_f, _softmax_b),
        ActivationFn("leaky_relu", _leaky_relu_f, _leaky_relu_b, needs="z"),
        ActivationFn("elu", _elu_f, _elu_b, needs="z"),
        ActivationFn("gelu", _gelu_f, _gelu_b, needs="z"),
        ActivationFn("softplus", _softplus_f, _softplus_b, needs="z"),
        ActivationFn("silu", _silu_f, _silu_b, needs="z"),
    )
}

linear = ACTIVATIONS["linear"]
relu = ACTIVATIONS["relu"]
sigmoid = ACTIVATIONS["sigmoid"]
tanh = ACTIVATIONS["tanh"]
softmax = ACTIVATIONS["softmax"]
leaky_relu = ACTIVATIONS["leaky_relu"]
elu = ACTIVATIONS["elu"]
gelu = ACTIVATIONS["gelu"]
softplus = ACTIVATIONS["softplus"]
silu = ACTIVATIONS["silu"]


def get(identifier) -> ActivationFn:
    """Resolve ``None``, a name or an ActivationFn to an ActivationFn (None -> linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, ActivationFn):
        return identifier
    if isinstance(identifier, str) and identifier in ACTIVATIONS:
        return ACTIVATIONS[identifier]
    raise unknown_name("activation", identifier, ACTIVATIONS)


def serialize(activation: ActivationFn) -> str:
    return activation.name


__all__ = ["ACTIVATIONS", "ActivationFn", "elu", "gelu", "get", "leaky_relu", "linear",
           "relu", "serialize", "sigmoid", "silu", "softmax", "softplus", "tanh"]
