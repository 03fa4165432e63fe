"""BatchNormalization, as Keras 3: batch statistics in training, moving ones at inference.

Training (``fit``): each feature is standardised with the batch's mean and
(population) variance, ``x̂ = (x − μ) / √(σ² + ε)``, then scaled and shifted,
``y = γ x̂ + β``; the moving statistics move towards the batch's,
``moving = moving · momentum + batch · (1 − momentum)``. Inference (``predict``,
``evaluate``) uses the moving mean and variance instead. ``γ`` (gamma) is counted
with the weights, ``β`` (beta) with the biases; the moving statistics are
non-trainable state.
"""

from __future__ import annotations

import numbers

import numpy as np

from glassnet import constraints as gnconstraints
from glassnet import initializers as gninitializers
from glassnet import regularizers as gnregularizers
from glassnet.errors import ConfigError
from glassnet.layers.base import Layer
from glassnet.variables import Variable


class BatchNormalization(Layer):
    """Normalises each feature over the batch, then scales by gamma and shifts by beta.

    Parameters
    ----------
    axis : int
        The feature axis (default -1, the last).
    momentum : float
        Weight of the old moving statistics in each update (Keras: 0.99).
    epsilon : float
        Added to the variance before the square root (Keras: 1e-3).
    center, scale : bool
        Whether the layer has beta (a shift) and gamma (a scale).
    beta_initializer, gamma_initializer, moving_mean_initializer,
    moving_variance_initializer, beta_regularizer, gamma_regularizer,
    beta_constraint, gamma_constraint
        As Keras (zeros, ones, zeros, ones; no penalty; no constraint).
    """

    # Training and inference compute different functions (batch vs moving statistics).
    trains_differently = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        for key in ("renorm", "synchronized"):
            if kwargs.pop(key, False):
                raise ConfigError(f"BatchNormalization {key}=True is not supported")
        kwargs.pop("renorm_clipping", None)
        kwargs.pop("renorm_momentum", None)
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ConfigError(f"BatchNormalization axis must be an int, got {axis!r}")
        for name, value, low, high in (("momentum", momentum, 0.0, 1.0),
                                       ("epsilon", epsilon, 0.0, np.inf)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                    not low <= value <= high or (name == "epsilon" and value == 0):
                raise ConfigError(f"BatchNormalization {name} must be a number in "
                                  f"{'[0, 1]' if name == 'momentum' else '(0, inf)'}, "
                                  f"got {value!r}")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = gninitializers.get(beta_initializer)
        self.gamma_initializer = gninitializers.get(gamma_initializer)
        self.moving_mean_initializer = gninitializers.get(moving_mean_initializer)
        self.moving_variance_initializer = gninitializers.get(moving_variance_initializer)
        self.beta_regularizer = gnregularizers.get(beta_regularizer)
        self.gamma_regularizer = gnregularizers.get(gamma_regularizer)
        self.beta_constraint = gnconstraints.get(beta_constraint)
        self.gamma_constraint = gnconstraints.get(gamma_constraint)
        self.gamma: Variable | None = None
        self.beta: Variable | None = None
        self.moving_mean: Variable | None = None
        self.moving_variance: Variable | None = None
        self._x_hat = self._inv_std = None
        self._batch_statistics = False

    def build(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape) or \
                self.axis % len(input_shape) == 0:
            raise ConfigError(f"BatchNormalization {self.name!r} axis {self.axis} is not a "
                              f"feature axis of input {tuple(input_shape)}")
        self._feature_axis = self.axis % len(input_shape)
        features = (input_shape[self._feature_axis],)
        # Keras's order: gamma, beta, moving_mean, moving_variance.
        if self.scale:
            self.gamma = self.add_weight("gamma", features, self.gamma_initializer,
                                         self.gamma_regularizer, self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", features, self.beta_initializer,
                                        self.beta_regularizer, self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", features,
                                           self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", features,
                                               self.moving_variance_initializer,
                                               trainable=False)
        super().build(input_shape)

    def weights_and_biases(self) -> tuple[list[Variable], list[Variable]]:
        """Gamma counts with the weights (it scales), beta with the biases (it shifts)."""
        return ([self.gamma] if self.scale else []), ([self.beta] if self.center else [])

    # -- the math ------------------------------------------------------------------
    def _shape(self, ndim: int) -> tuple:
        """Shape that broadcasts one value per feature against the input."""
        shape = [1] * ndim
        shape[self._feature_axis] = -1
        return tuple(shape)

    def _reduce_axes(self, ndim: int) -> tuple:
        return tuple(i for i in range(ndim) if i != self._feature_axis)

    def _affine(self, x_hat):
        shape = self._shape(x_hat.ndim)
        y = x_hat * self.gamma.value.reshape(shape) if self.scale else x_hat.copy()
        if self.center:
            y += self.beta.value.reshape(shape)
        return y

    def forward(self, x, training=False, keep=None):
        """y = γ·x̂ + β with x̂ = (x − μ)/√(σ² + ε): the batch's μ, σ² in training (the
        moving ones move towards them), the moving ones otherwise."""
        shape, axes = self._shape(x.ndim), self._reduce_axes(x.ndim)
        batch_statistics = training and self.trainable
        if batch_statistics:
            mean = x.mean(axis=axes)
            variance = x.var(axis=axes)  # the population variance, as Keras
            decay = 1.0 - self.momentum
            self.moving_mean.value[...] = (self.moving_mean.value * self.momentum
                                           + mean * decay)
            self.moving_variance.value[...] = (self.moving_variance.value * self.momentum
                                               + variance * decay)
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        inv_std = (1.0 / np.sqrt(variance + self.epsilon)).astype(x.dtype, copy=False)
        x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        if training if keep is None else keep:
            # What backward needs, and whether the statistics depended on x.
            self._x_hat, self._inv_std = x_hat, inv_std
            self._batch_statistics = bool(batch_statistics)
        return self._affine(x_hat)

    def backward(self, dy, need_dx=True):
        """dγ = Σ dy·x̂, dβ = Σ dy; dx through x̂ (and through μ, σ² when they were the
        batch's)."""
        x_hat, inv_std = self._x_hat, self._inv_std
        shape, axes = self._shape(dy.ndim), self._reduce_axes(dy.ndim)
        if self.center:
            self.beta.grad[...] = dy.sum(axis=axes)
            if self.beta.regularizer is not None:
                self.beta.regularizer.add_gradient(self.beta.value, self.beta.grad)
        if self.scale:
            self.gamma.grad[...] = (dy * x_hat).sum(axis=axes)
            if self.gamma.regularizer is not None:
                self.gamma.regularizer.add_gradient(self.gamma.value, self.gamma.grad)
        if not need_dx:
            return None
        dx_hat = dy * self.gamma.value.reshape(shape) if self.scale else dy
        if not self._batch_statistics:
            return dx_hat * inv_std.reshape(shape)
        # μ and σ² depend on every sample of the batch:
        # dx = (1/σ) (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), means over the batch.
        return inv_std.reshape(shape) * (
            dx_hat - dx_hat.mean(axis=axes, keepdims=True)
            - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True))

    def kept(self) -> dict[str, np.ndarray]:
        if self._x_hat is None:
            return {}
        return {"x_hat": self._x_hat, "inv_std": self._inv_std}

    def onnx_nodes(self, graph, x: str, scope: str) -> str:
        """Inference as one affine map per feature: x * multiplier + shift."""
        if self._feature_axis != 1:
            raise ConfigError(f"BatchNormalization {self.name!r} over axis {self.axis} has "
                               f"no ONNX translation (only the features of 2-D input)")
        mean = self.moving_mean.value.astype(np.float64)
        inv_std = 1.0 / np.sqrt(self.moving_variance.value.astype(np.float64) + self.epsilon)
        gamma = self.gamma.value.astype(np.float64) if self.scale else np.ones_like(mean)
        beta = self.beta.value.astype(np.float64) if self.center else np.zeros_like(mean)
        multiplier = gamma * inv_std
        shift = beta - mean * multiplier
        scaled = graph.node("Mul", [x, graph.constant(f"{scope}/multiplier", multiplier)],
                            scope)
        return graph.node("Add", [scaled, graph.constant(f"{scope}/shift", shift)], scope)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": gninitializers.serialize(self.beta_initializer),
            "gamma_initializer": gninitializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": gninitializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer":
                gninitializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": gnregularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": gnregularizers.serialize(self.gamma_regularizer),
            "beta_constraint": gnconstraints.serialize(self.beta_constraint),
            "gamma_constraint": gnconstraints.serialize(self.gamma_constraint),
        })
        return config
