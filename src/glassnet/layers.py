"""Layers: Input, Dense, Activation, Dropout, Flatten, Normalization.

A layer's life, as in Keras: ``__init__`` stores and checks settings; ``build``
creates its Variables through ``add_weight``; ``forward`` and ``backward`` hold only
math; ``get_config`` returns the constructor arguments.

Training runs ``forward(x, training=True)``, which writes into buffers the layer
allocates once per batch size and reuses, then ``backward(dy)``, which overwrites
each Variable's ``grad`` and returns the gradient with respect to the input.
"""

from __future__ import annotations

import itertools
import numbers
import re
from collections import defaultdict

import numpy as np

from glassnet import activations as gnactivations
from glassnet import blas
from glassnet import constraints as gnconstraints
from glassnet import initializers as gninitializers
from glassnet import random as gnrandom
from glassnet import regularizers as gnregularizers
from glassnet.backend import epsilon, standardize_dtype
from glassnet.errors import ConfigError, DataError, NotBuiltError, ShapeError, ValueTypeError
from glassnet.variables import Variable

_name_counters: dict[str, itertools.count] = defaultdict(itertools.count)


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def unique_name(prefix: str) -> str:
    """``dense``, then ``dense_1``, ``dense_2``... as Keras names layers."""
    n = next(_name_counters[prefix])
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_names() -> None:
    _name_counters.clear()


class Layer:
    """Base class of every layer.

    Parameters
    ----------
    name : str, optional
        Unique name; paths of its Variables are ``"<name>/<variable>"``.
    trainable : bool
        Whether optimizers update the layer's trainable Variables.
    dtype : str, optional
        Float type of the weights; defaults to ``backend.floatx()``.
    input_shape, input_dim, batch_input_shape
        Keras 2's way of declaring a model's input on its first layer.
    """

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 input_dim=None, batch_input_shape=None, **kwargs):
        if kwargs:
            raise ValueTypeError(f"{type(self).__name__} got unexpected keyword argument(s): "
                            f"{', '.join(sorted(kwargs))}")
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ConfigError(f"layer name must be a non-empty string without '/', got {name!r}")
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.dtype = standardize_dtype(dtype)
        self._declared_input_shape = _declared_shape(input_shape, input_dim, batch_input_shape)
        self.built = False
        self.input_shape: tuple | None = None
        self._weights: list[Variable] = []

    # -- building ------------------------------------------------------------------
    def build(self, input_shape) -> None:
        self.input_shape = tuple(input_shape)
        self.built = True

    def add_weight(self, name, shape, initializer, regularizer=None, constraint=None,
                   trainable=True) -> Variable:
        value = gninitializers.get(initializer)(shape, dtype=self.dtype)
        variable = Variable(value, name=name, path=f"{self.name}/{name}", dtype=self.dtype,
                            trainable=trainable and self.trainable,
                            regularizer=regularizer, constraint=constraint)
        self._weights.append(variable)
        return variable

    def _ensure_built(self, x: np.ndarray) -> None:
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    # -- running -------------------------------------------------------------------
    def __call__(self, x, training: bool = False) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim == 1:
            x = x.reshape(-1, 1) if not self.built or self.input_shape[1:] == (1,) else x[None]
        self._ensure_built(x)
        self._check_input(x)
        return self.forward(x, training=training).copy() if training else self.forward(x)

    def _check_input(self, x: np.ndarray) -> None:
        expected = self.input_shape[1:]
        if tuple(x.shape[1:]) != tuple(expected):
            raise ShapeError(f"layer {self.name!r} expects input of shape (n, "
                             f"{', '.join(map(str, expected))}), got {x.shape}")

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        return dy

    def regularization_penalty(self) -> float:
        return sum(v.regularizer.penalty(v.value) for v in self.trainable_weights
                   if v.regularizer)

    # -- weights -------------------------------------------------------------------
    @property
    def weights(self) -> list[Variable]:
        return list(self._weights)

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self._weights if v.trainable and self.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for v in self._weights if not (v.trainable and self.trainable)]

    def count_params(self) -> int:
        return int(sum(v.size for v in self._weights))

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the layer's weights, in order (Dense: [kernel, bias])."""
        return [v.numpy() for v in self._weights]

    def set_weights(self, weights) -> None:
        """Set every weight at once; checks the count and each shape, casts to the dtype."""
        if not self.built:
            raise NotBuiltError(f"layer {self.name!r} has no weights yet: call it on data "
                                f"or build(input_shape) before set_weights")
        weights = list(weights)
        if len(weights) != len(self._weights):
            names = ", ".join(v.name for v in self._weights) or "none"
            raise ShapeError(f"layer {self.name!r} expects {len(self._weights)} weight "
                             f"arrays ({names}), got {len(weights)}")
        arrays = [_as_weight(self.name, v, w) for v, w in zip(self._weights, weights)]
        for variable, array in zip(self._weights, arrays):  # all checked: now write
            variable.value[...] = array

    def __getstate__(self):
        # Copies (pickling by joblib, copy.deepcopy) carry the weights, not the training
        # buffers nor the arrays cached for the last backward pass.
        state = self.__dict__.copy()
        for key in ("_buffers", "_x", "_x_t", "_z", "_a", "_mask", "_in_shape"):
            if key in state:
                state[key] = {} if key == "_buffers" else None
        return state

    # -- config --------------------------------------------------------------------
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def _declared_shape(input_shape, input_dim, batch_input_shape):
    if batch_input_shape is not None:
        return tuple(batch_input_shape)
    if input_shape is not None:
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        return (None,) + shape
    if input_dim is not None:
        return (None, int(input_dim))
    return None


def _as_weight(layer_name: str, variable: Variable, given) -> np.ndarray:
    try:
        array = np.asarray(given, dtype=variable.dtype)
    except (TypeError, ValueError) as exc:
        raise DataError(f"layer {layer_name!r} expects {variable.name} as a numeric array of "
                        f"shape {variable.shape}, got {type(given).__name__}: {exc}") from None
    if array.shape != variable.shape:
        hint = " — transposed?" if array.ndim == 2 and array.shape[::-1] == variable.shape else ""
        raise ShapeError(f"layer {layer_name!r} expects {variable.name} of shape "
                         f"{variable.shape}, got {array.shape}{hint}")
    return array


class InputLayer(Layer):
    """Declares the shape of one sample; ``Sequential`` uses it and drops it from ``layers``."""

    def __init__(self, shape=None, batch_size=None, name=None, dtype=None, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if shape is None:
            raise ConfigError("Input needs a shape, e.g. Input(shape=(4,))")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if any((not isinstance(d, (int, np.integer))) or d <= 0 for d in shape):
            raise ConfigError(f"Input shape must be positive ints, got {shape}")
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype, **kwargs)
        self.shape = tuple(int(d) for d in shape)
        self.batch_size = batch_size
        self._declared_input_shape = (batch_size,) + self.shape

    def get_config(self):
        return {"shape": list(self.shape), "batch_size": self.batch_size, "name": self.name,
                "dtype": self.dtype.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, **kwargs) -> InputLayer:
    """The model's input: ``Input(shape=(n_features,))``, as ``keras.Input``."""
    return InputLayer(shape=shape, batch_size=batch_size, name=name, dtype=dtype, **kwargs)


class _Buffers:
    """Arrays a layer writes into during training, for one batch size."""

    __slots__ = ("z", "a", "dz", "dx", "mask", "ones", "products")

    def __init__(self):
        self.z = self.a = self.dz = self.dx = self.mask = self.ones = None
        # Dense's CBLAS calls, kept ready across steps (see _products).
        self.products: tuple[blas.CachedProduct, ...] | None = None


def _products(buffers: _Buffers) -> tuple[blas.CachedProduct, ...]:
    """A Dense layer's CBLAS calls for one batch size: forward, kernel step, bias step."""
    if buffers.products is None:
        buffers.products = (blas.CachedProduct(), blas.CachedProduct(), blas.CachedProduct())
    return buffers.products


class _BufferedLayer(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._buffers: dict[int | tuple, _Buffers] = {}  # by batch size (predict: ("predict", n))

    def _buffers_for(self, n: int) -> _Buffers:
        buffers = self._buffers.get(n)
        if buffers is None:
            buffers = self._buffers[n] = _Buffers()
        return buffers

    def release_buffers(self) -> None:
        self._buffers.clear()


class Dense(_BufferedLayer):
    """A fully connected layer: ``a = activation(x @ kernel + bias)``.

    Parameters
    ----------
    units : int
        Number of units (neurons); the kernel has shape (n_features, units) and the
        bias shape (units,).
    activation : str or None
        One of ``glassnet.activations.ACTIVATIONS``; None means linear.
    use_bias : bool
        Whether the layer has a bias.
    kernel_initializer, bias_initializer
        Default ``"glorot_uniform"`` and ``"zeros"``, as Keras.
    kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint
        Optional penalty added to the loss; optional projection after each update.
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ConfigError(f"Dense units must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = gnactivations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = gninitializers.get(kernel_initializer)
        self.bias_initializer = gninitializers.get(bias_initializer)
        self.kernel_regularizer = gnregularizers.get(kernel_regularizer)
        self.bias_regularizer = gnregularizers.get(bias_regularizer)
        self.kernel_constraint = gnconstraints.get(kernel_constraint)
        self.bias_constraint = gnconstraints.get(bias_constraint)
        self.kernel: Variable | None = None
        self.bias: Variable | None = None
        self._x = self._x_t = self._z = self._a = None

    @property
    def activation_name(self) -> str:
        return self.activation.name

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ShapeError(f"Dense layer {self.name!r} expects 2-D input (n_samples, "
                             f"n_features), got shape {tuple(input_shape)}: add Flatten first")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        self.bias_regularizer, self.bias_constraint)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    @property
    def last_z(self) -> np.ndarray | None:
        """Pre-activations of the last training batch (n_samples, units), or None."""
        return self._z

    @property
    def last_output(self) -> np.ndarray | None:
        """Activations of the last training batch (n_samples, units), or None."""
        return self._a

    def forward(self, x, training=False):
        # x (n, in) @ W (in, units) + b (units,) -> z (n, units); a = g(z)
        if not training:
            return self._infer(x, np.empty((x.shape[0], self.units),
                                           np.result_type(x.dtype, self.kernel.dtype)))
        n = x.shape[0]
        buffers = self._buffers_for(n)
        if buffers.z is None:
            buffers.z = np.empty((n, self.units), dtype=self.dtype)
            # Activations that differentiate from their output run in place over z.
            in_place = self.activation.needs == "a"
            buffers.a = buffers.z if in_place else np.empty_like(buffers.z)
        z, a = buffers.z, buffers.a
        blas.affine(x, self.kernel.value, self.bias.value if self.use_bias else None, z,
                    _products(buffers)[0])
        if a is not z or self.activation is not gnactivations.linear:
            self.activation.forward(z, a)
        if x is not self._x:  # one transposed view per input array, the same object each
            self._x, self._x_t = x, x.T  # step, so the kernel step's product stays cached
        self._z, self._a = z, a
        return a

    def forward_reusing(self, x):
        """Inference as ``forward(x)``, into a buffer kept per batch size.

        For ``predict``'s batch loop, which copies each result out: a fresh (n, units)
        array per batch costs page faults that can outweigh the product itself.
        """
        buffers = self._buffers_for(("predict", x.shape[0]))
        z = buffers.z
        if z is None or z.dtype != x.dtype:
            z = buffers.z = np.empty((x.shape[0], self.units),
                                     dtype=np.result_type(x.dtype, self.kernel.dtype))
        return self._infer(x, z)

    def _infer(self, x, z):
        """g(x @ W + b) computed in z (inference: nothing kept for a backward pass)."""
        blas.affine(x, self.kernel.value, self.bias.value if self.use_bias else None, z)
        return self.activation.forward(z, z)

    def backward(self, da, need_dx=True, sgd_rate=None):
        # da, dz (n, units); W.grad (in, units); b.grad (units,); dx (n, in)
        if self.activation is gnactivations.linear:
            dz = da
        elif self.activation.backward_in_place:
            # da is the next layer's scratch buffer, read only here: writing dz over it
            # keeps one buffer fewer in the cache than writing into a buffer of our own.
            dz = self.activation.backward(self._z, self._a, da, da)
        else:
            buffers = self._buffers_for(da.shape[0])
            if buffers.dz is None:
                buffers.dz = np.empty_like(da)
            dz = self.activation.backward(self._z, self._a, da, buffers.dz)
        return self.backward_from_z(dz, need_dx, sgd_rate)

    def backward_from_z(self, dz, need_dx=True, sgd_rate=None):
        """Backward pass given dL/dz directly (used by fused softmax/sigmoid losses).

        With ``sgd_rate`` the step is plain SGD fused into the products: the kernel
        and bias become ``w - sgd_rate * grad`` as the gradient is computed, and
        ``grad`` is not written (``Trainer`` decides when nobody needs it).
        """
        kernel, bias = self.kernel, self.bias
        buffers = self._buffers_for(dz.shape[0])
        dx = None
        if need_dx:  # first: it needs the kernel before a fused update changes it
            if buffers.dx is None:
                buffers.dx = np.empty(self._x.shape, dtype=self.dtype)
            dx = blas.matmul(dz, kernel.value.T, buffers.dx)
        if bias is not None and buffers.ones is None:
            buffers.ones = np.ones(dz.shape[0], dtype=dz.dtype)
        if sgd_rate is not None:
            _, kernel_step, bias_step = _products(buffers)
            blas.matmul_add(self._x_t, dz, kernel.value, -sgd_rate, kernel_step)
            if bias is not None:
                blas.matmul_add(buffers.ones, dz, bias.value, -sgd_rate, bias_step)
            return dx
        blas.matmul(self._x_t, dz, kernel.grad)
        if kernel.regularizer is not None:
            kernel.regularizer.add_gradient(kernel.value, kernel.grad)
        if bias is not None:
            # The column sum as ones @ dz: one BLAS call, faster than np.sum's reduction.
            blas.matmul(buffers.ones, dz, bias.grad)
            if bias.regularizer is not None:
                bias.regularizer.add_gradient(bias.value, bias.grad)
        return dx

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": self.activation.name,
            "use_bias": self.use_bias,
            "kernel_initializer": gninitializers.serialize(self.kernel_initializer),
            "bias_initializer": gninitializers.serialize(self.bias_initializer),
            "kernel_regularizer": gnregularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": gnregularizers.serialize(self.bias_regularizer),
            "kernel_constraint": gnconstraints.serialize(self.kernel_constraint),
            "bias_constraint": gnconstraints.serialize(self.bias_constraint),
        })
        return config


class Activation(_BufferedLayer):
    """Applies an activation function to its input (no weights)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = gnactivations.get(activation)
        self._z = self._a = None

    @property
    def activation_name(self) -> str:
        return self.activation.name

    def forward(self, x, training=False):
        if not training:
            return self.activation.forward(x, np.empty_like(x))
        buffers = self._buffers_for(x.shape[0])
        if buffers.a is None:
            buffers.a = np.empty_like(x)
        self._z, self._a = x, self.activation.forward(x, buffers.a)
        return self._a

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        buffers = self._buffers_for(dy.shape[0])
        if buffers.dz is None:
            buffers.dz = np.empty_like(dy)
        return self.activation.backward(self._z, self._a, dy, buffers.dz)

    def get_config(self):
        config = super().get_config()
        config["activation"] = self.activation.name
        return config


class Dropout(_BufferedLayer):
    """Zeroes a share ``rate`` of its inputs in training and scales the rest by 1/(1-rate).

    At inference (``predict``, ``evaluate``) it passes its input through unchanged.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ConfigError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._rng = gnrandom.generator(seed) if seed is not None else None
        self._mask = None

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        buffers = self._buffers_for(x.shape[0])
        if buffers.mask is None:
            buffers.mask = np.empty_like(x)
            buffers.a = np.empty_like(x)
        rng = self._rng or gnrandom.generator()
        rng.random(out=buffers.mask, dtype=buffers.mask.dtype)
        np.greater_equal(buffers.mask, self.rate, out=buffers.mask)
        buffers.mask *= 1.0 / (1.0 - self.rate)
        self._mask = buffers.mask
        return np.multiply(x, buffers.mask, out=buffers.a)

    def backward(self, dy, need_dx=True):
        if not need_dx or self._mask is None:
            return dy if need_dx else None
        buffers = self._buffers_for(dy.shape[0])
        if buffers.dx is None:
            buffers.dx = np.empty_like(dy)
        return np.multiply(dy, self._mask, out=buffers.dx)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class Flatten(Layer):
    """Reshapes each sample to one dimension: (n, d1, d2, ...) -> (n, d1 * d2 * ...)."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))

    def forward(self, x, training=False):
        self._in_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy, need_dx=True):
        return dy.reshape(self._in_shape) if need_dx else None


class Normalization(Layer):
    """Standardises each feature: ``(x - mean) / max(sqrt(variance), epsilon)``.

    Call ``adapt(data)`` to compute the mean and variance, or pass them. A feature
    with zero variance is divided by epsilon (as Keras), so it never gives inf or NaN.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            # axis=None (one mean for all features) is not implemented: refuse, not ignore.
            raise ConfigError(f"Normalization normalizes each feature of the last axis: axis "
                              f"must be -1 (or the last axis' index), got {axis!r}")
        if (mean is None) != (variance is None):
            raise ConfigError("Normalization needs both mean and variance, or neither")
        self.axis = axis
        self.invert = bool(invert)
        self._given = (mean, variance)
        self.mean = self.variance = self.count = None

    def build(self, input_shape):
        if self.axis not in (-1, len(input_shape) - 1):
            raise ConfigError(f"Normalization {self.name!r} normalizes the last axis of input "
                              f"{tuple(input_shape)}: axis must be -1 or "
                              f"{len(input_shape) - 1}, got {self.axis}")
        features = (input_shape[-1],)
        self.mean = self.add_weight("mean", features, "zeros", trainable=False)
        self.variance = self.add_weight("variance", features, "ones", trainable=False)
        self.count = self.add_weight("count", (), "zeros", trainable=False)
        if self._given[0] is not None:
            self.mean.assign(np.broadcast_to(np.asarray(self._given[0], float), features))
            self.variance.assign(np.broadcast_to(np.asarray(self._given[1], float), features))
        super().build(input_shape)

    def adapt(self, data) -> None:
        """Compute the per-feature mean and (population) variance of ``data``."""
        data = np.asarray(data, dtype=np.float64)
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        if data.shape[0] == 0:
            raise DataError("Normalization.adapt needs at least one sample, got an empty array")
        if not np.isfinite(data).all():
            raise DataError("Normalization.adapt got NaN or inf in its data")
        if not self.built:
            self.build((None,) + data.shape[1:])
        flat = data.reshape(-1, data.shape[-1])
        self.mean.assign(flat.mean(axis=0))
        self.variance.assign(flat.var(axis=0))
        self.count.assign(flat.shape[0])

    def _denominator(self):
        return np.maximum(np.sqrt(self.variance.value), epsilon()).astype(self.dtype)

    def forward(self, x, training=False):
        if self.invert:
            return x * self._denominator() + self.mean.value
        return (x - self.mean.value) / self._denominator()

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return dy * self._denominator() if self.invert else dy / self._denominator()

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "invert": self.invert})
        return config


LAYERS = {cls.__name__: cls for cls in (InputLayer, Dense, Activation, Dropout, Flatten,
                                        Normalization)}


def deserialize(config: dict) -> Layer:
    """Build a layer from ``{"class_name": ..., "config": {...}}``."""
    cls = LAYERS.get(config.get("class_name"))
    if cls is None:
        from glassnet.errors import unknown_name

        raise unknown_name("layer class", config.get("class_name"), LAYERS)
    return cls.from_config(dict(config["config"]))


def serialize(layer: Layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Layer",
           "Normalization", "deserialize", "serialize"]
