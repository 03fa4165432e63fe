"""Dense: the fully connected layer, ``a = activation(x @ kernel + bias)``."""

from __future__ import annotations

import numpy as np

from glassnet import activations as gnactivations
from glassnet import constraints as gnconstraints
from glassnet import initializers as gninitializers
from glassnet import regularizers as gnregularizers
from glassnet._engine import blas
from glassnet.errors import ConfigError, ShapeError
from glassnet.layers.base import _BufferedLayer
from glassnet.variables import Variable


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
        Default ``"glorot_uniform"`` and ``"zeros"``, as Keras. None means what
        Keras's ``add_weight`` does with None: ``"glorot_uniform"`` (a random bias).
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
        self.kernel_initializer = gninitializers.get(
            "glorot_uniform" if kernel_initializer is None else kernel_initializer)
        self.bias_initializer = gninitializers.get(
            "glorot_uniform" if bias_initializer is None else bias_initializer)
        self.kernel_regularizer = gnregularizers.get(kernel_regularizer)
        self.bias_regularizer = gnregularizers.get(bias_regularizer)
        self.kernel_constraint = gnconstraints.get(kernel_constraint)
        self.bias_constraint = gnconstraints.get(bias_constraint)
        self.kernel: Variable | None = None
        self.bias: Variable | None = None
        self._x = self._z = self._a = self._dz = None

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

    def __call__(self, x, training=False):
        if np.ndim(x) == 1:  # as Keras: a 1-D array is refused, not taken as a column
            raise ShapeError(f"Dense layer {self.name!r} expects input of shape (n_samples, "
                             f"n_features) (min_ndim=2), got {np.shape(x)}: reshape it, "
                             f"x.reshape(-1, 1) for one feature per sample")
        return super().__call__(x, training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    # -- the math ------------------------------------------------------------------
    # Shapes: x (n, in), W (in, units), b (units,), z and a (n, units). The arrays
    # themselves live in ``self._workspace`` (buffers reused across steps, prepared
    # BLAS calls, fused SGD: _engine/workspace.py); these lines are the whole math.
    def forward(self, x, training=False, keep=None):
        """a = g(z) with z = x·W + b.

        With ``keep`` (by default: when ``training``) the layer keeps x, z and a for
        ``backward`` and ``kept()``; without it nothing is kept.
        """
        if not (training if keep is None else keep):
            return self._infer(x, np.empty((x.shape[0], self.units),
                                           np.result_type(x.dtype, self.kernel.dtype)))
        W, b = self.kernel.value, self.bias.value if self.use_bias else None
        z = self._workspace.affine(x, W, b, self.dtype)     # z = x·W + b
        a = self._workspace.activate(self.activation, z)    # a = g(z)
        self._x, self._z, self._a, self._dz = x, z, a, None
        return a

    def backward(self, da, need_dx=True, sgd_rate=None):
        """dz = da·g′(z), then ``backward_from_z``: dW, db and (``need_dx``) dx."""
        dz = self._workspace.activation_grad(self.activation, self._z, self._a, da)
        return self.backward_from_z(dz, need_dx, sgd_rate)

    def backward_from_z(self, dz, need_dx=True, sgd_rate=None):
        """dW = xᵀ·dz, db = Σdz (into the Variables' ``grad``) and dx = dz·Wᵀ (returned).

        Given dL/dz directly, this is also the step after a loss fused with the output
        activation (``_engine/fusion.py``). With ``sgd_rate`` the step is plain SGD fused
        into the products, W ← W − rate·xᵀ·dz and b ← b − rate·Σdz, and ``grad`` is not
        written (``Trainer`` decides when nobody needs it).
        """
        kernel, bias = self.kernel, self.bias
        W, dW = kernel.value, kernel.grad
        b, db = (None, None) if bias is None else (bias.value, bias.grad)
        self._dz = dz
        # dx first: a fused step changes W.
        dx = self._workspace.input_grad(dz, W, self.dtype) if need_dx else None  # dz·Wᵀ
        if sgd_rate is not None:
            self._workspace.sgd_step(dz, W, b, sgd_rate)    # W -= r·xᵀ·dz; b -= r·Σdz
            return dx
        self._workspace.weight_grads(dz, dW, db)            # dW = xᵀ·dz; db = Σdz
        if kernel.regularizer is not None:
            kernel.regularizer.add_gradient(W, dW)
        if bias is not None and bias.regularizer is not None:
            bias.regularizer.add_gradient(b, db)
        return dx

    # -- what the last kept pass left ----------------------------------------------
    @property
    def last_z(self) -> np.ndarray | None:
        """Pre-activations z = x @ kernel + bias of the last training batch, or None.

        (n_samples, units); ``last_output`` holds a = activation(z).
        """
        return self._z

    @property
    def last_output(self) -> np.ndarray | None:
        """Activations of the last training batch (n_samples, units), or None."""
        return self._a

    def kept(self) -> dict[str, np.ndarray]:
        """x, z, a of the last kept forward and dz of the backward after it (buffers:
        the next step overwrites them; dz may share memory with the da it was given)."""
        return {name: value for name, value in
                (("x", self._x), ("z", self._z), ("a", self._a), ("dz", self._dz))
                if value is not None}

    # -- inference -----------------------------------------------------------------
    def forward_reusing(self, x):
        """Inference as ``forward(x)``, into a buffer kept per batch size.

        For ``predict``'s batch loop, which copies each result out: a fresh (n, units)
        array per batch costs page faults that can outweigh the product itself.
        """
        return self._infer(x, self._workspace.predict_buffer(
            x.shape[0], self.units, np.result_type(x.dtype, self.kernel.dtype)))

    def _infer(self, x, z):
        """g(x @ W + b) computed in z (inference: nothing kept for a backward pass)."""
        blas.affine(x, self.kernel.value, self.bias.value if self.use_bias else None, z)
        return self.activation.forward(z, z)

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
