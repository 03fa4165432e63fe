"""The base of every layer: naming, ``Layer`` (settings, ``build``, ``add_weight``), ``Input``,
and the per-batch-size buffers that training layers write into.

A layer's life, as in Keras: ``__init__`` stores and checks settings; ``build``
creates its Variables through ``add_weight``; ``forward`` and ``backward`` hold only
math; ``get_config`` returns the constructor arguments.

Training runs ``forward(x, training=True)``, which keeps what the backward pass needs
(in buffers the layer's ``Workspace`` allocates once per batch size and reuses), then
``backward(dy)``, which overwrites each Variable's ``grad`` and returns the gradient
with respect to the input. ``kept()`` shows what the layer kept; ``inspect.trace``
reads it, so inspection and training run the same math.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from glassnet import initializers as gninitializers
from glassnet._engine import blas
from glassnet._engine.resolve import snake_case
from glassnet._engine.workspace import Workspace
from glassnet.backend import standardize_dtype
from glassnet.errors import ConfigError, DataError, NotBuiltError, ShapeError, ValueTypeError
from glassnet.tensor import Tensor
from glassnet.variables import Variable

_name_counters: dict[str, itertools.count] = defaultdict(itertools.count)


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

    _rng: np.random.Generator | None = None  # see ``generator``

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 input_dim=None, batch_input_shape=None, **kwargs):
        if kwargs:
            raise ValueTypeError(f"{type(self).__name__} got unexpected keyword argument(s): "
                            f"{', '.join(sorted(kwargs))}")
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ConfigError(f"layer name must be a non-empty string without '/', got {name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
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

    @property
    def output(self):
        """The symbolic tensor this layer made when called on one (functional API)."""
        node = getattr(self, "_graph_node", None)
        if node is None:
            raise NotBuiltError(f"layer {self.name!r} has not been called on a keras.Input "
                                f"tensor, so it has no symbolic output")
        return node.output

    @property
    def input(self):
        """The symbolic tensor this layer was called on (a list for merge layers)."""
        node = getattr(self, "_graph_node", None)
        if node is None or not node.inputs:
            raise NotBuiltError(f"layer {self.name!r} has not been called on a keras.Input "
                                f"tensor, so it has no symbolic input")
        return node.inputs if node.takes_list else node.inputs[0]

    # -- running -------------------------------------------------------------------
    @blas.quiet_invalid_flag
    def __call__(self, x, training: bool = False) -> np.ndarray:
        from glassnet.models.functional import is_symbolic, symbolic_call

        if is_symbolic(x):  # the functional API: record the call, compute nothing
            return symbolic_call(self, x)
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim == 1:
            x = x.reshape(-1, 1) if not self.built or self.input_shape[1:] == (1,) else x[None]
        self._ensure_built(x)
        self._check_input(x)
        out = self.forward(x, training=training).copy() if training else self.forward(x)
        return out.view(Tensor)  # answers .numpy() as TF's results do; no copy

    def _check_input(self, x: np.ndarray) -> None:
        expected = self.input_shape[1:]
        if tuple(x.shape[1:]) != tuple(expected):
            raise ShapeError(f"layer {self.name!r} expects input of shape (n, "
                             f"{', '.join(map(str, expected))}), got {x.shape}")

    def forward(self, x: np.ndarray, training: bool = False, keep=None) -> np.ndarray:
        """The layer's output for ``x``.

        ``training`` selects the training behaviour (Dropout's mask, BatchNormalization's
        batch statistics); ``keep`` (by default: when ``training``) makes the layer keep
        what ``backward`` needs. ``inspect.trace`` keeps without training: the inference
        function, with its gradient.
        """
        return x

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dL/dx from dL/dy after a kept forward; the weights' gradients go to their
        ``grad``. ``need_dx=False``: nothing reads dL/dx (the first layer), return None."""
        return dy

    def kept(self) -> dict[str, np.ndarray]:
        """The intermediate arrays of the last kept forward (and the backward after it),
        by their textbook names (Dense: x, z, a, dz); what inspection reads. These are
        the layer's own buffers: the next step overwrites them, so copy what you keep."""
        return {}

    @property
    def generator(self) -> np.random.Generator | None:
        """The layer's own random generator (a seeded Dropout or GaussianNoise), or None:
        its draws, if any, come from glassnet's global generator."""
        return self._rng

    def regularization_penalty(self) -> float:
        return sum(v.regularizer.penalty(v.value) for v in self.trainable_weights
                   if v.regularizer)

    # -- weights -------------------------------------------------------------------
    def weights_and_biases(self) -> tuple[list[Variable], list[Variable]]:
        """The Variables counted as weights and as biases (summary, describe).

        By default the layer's ``kernel`` and ``bias``; BatchNormalization counts its
        gamma as weights and its beta as biases.
        """
        kernel, bias = getattr(self, "kernel", None), getattr(self, "bias", None)
        return ([kernel] if kernel is not None else []), ([bias] if bias is not None else [])

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
        for key in ("_workspace", "_x", "_z", "_a", "_dz", "_mask", "_in_shape"):
            if key in state:
                state[key] = Workspace() if key == "_workspace" else None
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


def Input(shape=None, batch_size=None, name=None, dtype=None, **kwargs):
    """The model's input: ``Input(shape=(n_features,))``, as ``keras.Input``.

    A symbolic tensor (``KerasTensor``) to call layers on for ``Model(inputs, outputs)``;
    as the first item of a ``Sequential`` it declares the input shape.
    """
    from glassnet.models.functional import input_tensor

    return input_tensor(InputLayer(shape=shape, batch_size=batch_size, name=name,
                                   dtype=dtype, **kwargs))


class _BufferedLayer(Layer):
    """A layer whose training arrays live in a ``Workspace`` (``_engine/workspace.py``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._workspace = Workspace()

    def release_buffers(self) -> None:
        self._workspace.clear()
