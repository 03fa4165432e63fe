"""Dense: the fully connected layer, ``a = activation(x @ kernel + bias)``."""

from __future__ import annotations

import numpy as np

from glassnet import activations as gnactivations
from glassnet import constraints as gnconstraints
from glassnet import initializers as gninitializers
from glassnet import regularizers as gnregularizers
from glassnet._engine import blas
from glassnet.errors import ConfigError, ShapeError
from glassnet.layers.base import _BufferedLayer, _products
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

    def __call__(self, x, training=False):
        if np.ndim(x) == 1:  # as Keras: a 1-D array is refused, not taken as a column
            raise ShapeError(f"Dense layer {self.name!r} expects input of shape (n_samples, "
                             f"n_features) (min_ndim=2), got {np.shape(x)}: reshape it, "
                             f"x.reshape(-1, 1) for one feature per sample")
        return super().__call__(x, training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

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

    def forward(self, x, training=False):
        # x (n, in) @ W (in, units) + b (units,) -> z (n, units); a = g(z)
        if not training:
            return self._infer(x, np.empty((x.shape[0], self.units),
                                           np.result_type(x.dtype, self.kernel.dtype)))
        n = x.shape[0]
        buffers = self._buffers_for(n)
        if buffers.z is None:
            buffers.z = np.empty((n, self.units), dtype=self.dtype)
            # a gets a buffer of its own so that z survives for last_z; running g in
            # place over z saved no measurable time (docs/performance.md).
            linear = self.activation is gnactivations.linear
            buffers.a = buffers.z if linear else np.empty_like(buffers.z)
        z, a = buffers.z, buffers.a
        blas.affine(x, self.kernel.value, self.bias.value if self.use_bias else None, z,
                    _products(buffers)[0])
        if a is not z:
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
