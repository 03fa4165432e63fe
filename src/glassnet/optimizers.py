"""Optimizers with Keras 3's argument names, defaults and update formulas.

A model hands its optimizer two flat buffers: every trainable weight and bias
(``params``) and their gradients (``grads``), each Variable a view into them. The
update rules are elementwise, so one optimizer step is a handful of in-place ufunc
calls over the whole model, with the slots (``momentum``, ``m``, ``v``) flat too.

Order of one step, as in Keras: clip the gradients (``clipvalue``, ``clipnorm``,
``global_clipnorm``), apply weight decay ``w -= lr * weight_decay * w``, then the rule.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from glassnet import schedules
from glassnet._engine.resolve import resolve, serialize
from glassnet.errors import ConfigError

# ``from glassnet.optimizers.schedules import ExponentialDecay``, as in Keras.
sys.modules.setdefault(f"{__name__}.schedules", schedules)


def _check_range(owner: str, name: str, value, low, high, high_open=False, low_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise ConfigError(f"{owner} {name} must be a number, got {value!r}")
    ok_low = value > low if low_open else value >= low
    ok_high = value < high if high_open else value <= high
    if not (ok_low and ok_high and np.isfinite(value)):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ConfigError(f"{owner} {name} must be in {interval}, got {value!r}")


class Optimizer:
    """Base class: ``build(params, grads, segments)`` once, then ``step()`` per batch."""

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        self.name = name or type(self).__name__.lower()
        if isinstance(learning_rate, dict):  # a schedule's config, as get_config writes it
            learning_rate = schedules.deserialize(learning_rate)
        if callable(learning_rate):
            self._schedule = learning_rate
            self._learning_rate = float(learning_rate(0))
        else:
            self._schedule = None
            _check_range(type(self).__name__, "learning_rate", learning_rate, 0, np.inf)
            self._learning_rate = float(learning_rate)
        if weight_decay is not None:
            _check_range(type(self).__name__, "weight_decay", weight_decay, 0, np.inf)
        for label, clip in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                            ("global_clipnorm", global_clipnorm)):
            if clip is not None:
                _check_range(type(self).__name__, label, clip, 0, np.inf, low_open=True)
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            # As Keras: combining them would make the order of clipping matter.
            raise ConfigError(f"only one of clipnorm, clipvalue and global_clipnorm can be "
                              f"set, got clipnorm={clipnorm}, clipvalue={clipvalue}, "
                              f"global_clipnorm={global_clipnorm}")
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.iterations = 0
        self.built = False
        self.slots: dict[str, np.ndarray] = {}

    @property
    def learning_rate(self) -> float:
        """The rate of the coming step (from the schedule, if there is one)."""
        if self._schedule is not None:
            return float(self._schedule(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if self._schedule is not None:
            raise ConfigError(f"{type(self).__name__} was given a learning-rate schedule "
                              f"({self._schedule!r}): its rate cannot be set; give the "
                              f"optimizer a float learning_rate to change it by hand")
        _check_range(type(self).__name__, "learning_rate", value, 0, np.inf)
        self._learning_rate = float(value)

    def build(self, params: np.ndarray, grads: np.ndarray, segments=()) -> None:
        """Bind the flat buffers and allocate the slots (zeros, unless said otherwise)."""
        self.params, self.grads, self.segments = params, grads, list(segments)
        self._tmp = np.empty_like(params)
        self.slots = {name: np.full_like(params, self.slot_initial_value(name))
                      for name in self.slot_names()}
        self.built = True

    def slot_names(self) -> tuple[str, ...]:
        return ()

    def slot_initial_value(self, name: str) -> float:
        return 0.0

    def fusable(self) -> bool:
        """Whether a step is ``w -= lr * g`` alone, which a gradient product can apply
        itself (``fit`` then fuses it; see ``glassnet._engine.blas``). Only plain SGD says yes."""
        return False

    def _advance_schedule(self) -> None:
        """Set the learning rate of the coming step from the schedule, if there is one."""
        if self._schedule is not None:
            self._learning_rate = float(self._schedule(self.iterations))

    def step(self) -> None:
        """One update of every weight and bias from its gradient."""
        self._advance_schedule()
        self._clip()
        lr = self._learning_rate
        if self.weight_decay:
            self.params *= 1.0 - lr * self.weight_decay
        self.update(self.params, self.grads, lr)
        self.iterations += 1

    def _clip(self) -> None:
        g = self.grads
        if self.clipvalue is not None:
            np.clip(g, -self.clipvalue, self.clipvalue, out=g)
        if self.clipnorm is not None:
            for segment in self.segments:
                norm = float(np.sqrt(np.dot(g[segment], g[segment])))
                if norm > self.clipnorm:
                    g[segment] *= self.clipnorm / norm
        if self.global_clipnorm is not None:
            norm = float(np.sqrt(np.dot(g, g)))
            if norm > self.global_clipnorm:
                g *= self.global_clipnorm / norm

    def update(self, w: np.ndarray, g: np.ndarray, lr: float) -> None:  # pragma: no cover
        raise NotImplementedError

    def get_config(self) -> dict:
        rate = (schedules.serialize(self._schedule)
                if isinstance(self._schedule, schedules.LearningRateSchedule)
                else self._learning_rate)
        return {"name": self.name, "learning_rate": rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    momentum = 0:  w = w - lr * g
    otherwise:     m = momentum * m - lr * g
                   w = w + m                             (nesterov=False)
                   w = w + momentum * m - lr * g         (nesterov=True)
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_range("SGD", "momentum", momentum, 0, 1)
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def slot_names(self):
        return ("momentum",) if self.momentum else ()

    def fusable(self) -> bool:
        """True without momentum, weight decay or clipping (not for subclasses, which
        may change ``update``)."""
        return (type(self) is SGD and not self.momentum and not self.weight_decay
                and self.clipnorm is None and self.clipvalue is None
                and self.global_clipnorm is None)

    def begin_fused_step(self) -> float:
        """Count a step that the gradient products apply (``fusable()``); its learning rate."""
        self._advance_schedule()
        self.iterations += 1
        return self._learning_rate

    def update(self, w, g, lr):
        tmp = self._tmp
        np.multiply(g, lr, out=tmp)
        if not self.momentum:
            w -= tmp
            return
        m = self.slots["momentum"]
        m *= self.momentum
        m -= tmp
        if self.nesterov:
            w -= tmp
            np.multiply(m, self.momentum, out=tmp)
            w += tmp
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba), as Keras computes it; t counts steps from 1.

    m = m + (g - m) * (1 - beta_1);   v = v + (g**2 - v) * (1 - beta_2)
    alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
    w = w - alpha * m / (sqrt(v) + epsilon)        (amsgrad: v replaced by max over time)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        owner = type(self).__name__
        _check_range(owner, "beta_1", beta_1, 0, 1, high_open=True)
        _check_range(owner, "beta_2", beta_2, 0, 1, high_open=True)
        _check_range(owner, "epsilon", epsilon, 0, np.inf)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon, self.amsgrad = float(epsilon), bool(amsgrad)

    def slot_names(self):
        return ("m", "v", "v_hat") if self.amsgrad else ("m", "v")

    def update(self, w, g, lr):
        t = self.iterations + 1
        # A Python float, so the ufuncs below stay in the weights' float32 loops.
        alpha = lr * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        m, v, tmp = self.slots["m"], self.slots["v"], self._tmp
        np.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta_2
        v += tmp
        if self.amsgrad:
            np.maximum(self.slots["v_hat"], v, out=self.slots["v_hat"])
            v = self.slots["v_hat"]
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: first w = w - lr * weight_decay * w, then Adam."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    """RMSprop, as Keras computes it.

    v = rho * v + (1 - rho) * g**2
    centered: a = rho * a + (1 - rho) * g;  denominator = v - a**2 + epsilon
    else:     denominator = v + epsilon
    increment = lr * g / sqrt(denominator)
    w = w - increment, or with momentum: m = momentum * m + increment; w = w - m
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_range("RMSprop", "rho", rho, 0, 1)
        _check_range("RMSprop", "momentum", momentum, 0, 1)
        _check_range("RMSprop", "epsilon", epsilon, 0, np.inf)
        self.rho, self.momentum = float(rho), float(momentum)
        self.epsilon, self.centered = float(epsilon), bool(centered)

    def slot_names(self):
        names = ["velocity"]
        if self.momentum:
            names.append("momentum")
        if self.centered:
            names.append("average_gradient")
        return tuple(names)

    def update(self, w, g, lr):
        v, tmp = self.slots["velocity"], self._tmp
        v *= self.rho
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        v += tmp
        if self.centered:
            a = self.slots["average_gradient"]
            a *= self.rho
            a += (1.0 - self.rho) * g
            np.multiply(a, a, out=tmp)
            np.subtract(v, tmp, out=tmp)
        else:
            np.copyto(tmp, v)
        tmp += self.epsilon
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        if self.momentum:
            m = self.slots["momentum"]
            m *= self.momentum
            m += tmp
            w -= m
        else:
            w -= tmp

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad: accumulator = accumulator + g**2;  w = w - lr * g / sqrt(accumulator + eps).

    The accumulator starts at ``initial_accumulator_value`` (0.1), as Keras.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_range("Adagrad", "initial_accumulator_value", initial_accumulator_value, 0,
                     np.inf)
        _check_range("Adagrad", "epsilon", epsilon, 0, np.inf)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def slot_names(self):
        return ("accumulator",)

    def slot_initial_value(self, name):
        return self.initial_accumulator_value

    def update(self, w, g, lr):
        acc, tmp = self.slots["accumulator"], self._tmp
        np.multiply(g, g, out=tmp)
        acc += tmp
        np.add(acc, self.epsilon, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        w -= tmp

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier) -> Optimizer:
    """Resolve ``"sgd"``, ``"adam"``... a class, a config dict or an instance."""
    return resolve(identifier, kind="optimizer", base=Optimizer, names=OPTIMIZERS)


__all__ = ["Adagrad", "Adam", "AdamW", "OPTIMIZERS", "Optimizer", "RMSprop", "SGD", "get",
           "serialize"]
