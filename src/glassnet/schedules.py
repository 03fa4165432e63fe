"""Learning-rate schedules with Keras's formulas (``keras.optimizers.schedules``).

A schedule is a function of the optimizer step (0 for the first update): give one
as ``learning_rate`` to any optimizer, which asks it for the rate before every
update, exactly as Keras does. ``step`` counts optimizer steps, not epochs.

- ExponentialDecay:       lr0 * rate ** (step / decay_steps)     (floor'd with staircase)
- InverseTimeDecay:       lr0 / (1 + rate * step / decay_steps)  (floor'd with staircase)
- PiecewiseConstantDecay: values[i] while boundaries[i-1] < step <= boundaries[i]
- PolynomialDecay:        (lr0 - end) * (1 - step / decay_steps) ** power + end
- CosineDecay:            lr0 * ((1 - alpha) * (1 + cos(pi * step / decay_steps)) / 2 + alpha),
                          after an optional linear warmup from lr0 to warmup_target
- CosineDecayRestarts:    the cosine, restarted after first_decay_steps * t_mul**i steps
"""

from __future__ import annotations

import math

from glassnet._engine.resolve import resolve
from glassnet.errors import ConfigError


def _positive(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{owner} {name} must be a positive number, got {value!r}")


class LearningRateSchedule:
    """Base class: ``schedule(step)`` is the learning rate of optimizer step ``step``."""

    def __call__(self, step) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class _DecayEverySteps(LearningRateSchedule):
    """A decay driven by p = step / decay_steps, floored with ``staircase``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        _positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase = decay_rate, bool(staircase)
        self.name = name or type(self).__name__

    def _progress(self, step) -> float:
        p = float(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_DecayEverySteps):
    """initial_learning_rate * decay_rate ** (step / decay_steps); with ``staircase``
    the exponent is floored, so the rate drops every ``decay_steps`` steps."""

    def __call__(self, step):
        return float(self.initial_learning_rate) * float(self.decay_rate) ** self._progress(step)


class InverseTimeDecay(_DecayEverySteps):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (floored with
    ``staircase``)."""

    def __call__(self, step):
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate)
                                                    * self._progress(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ConfigError(f"PiecewiseConstantDecay needs one value more than "
                              f"boundaries, got {len(boundaries)} boundaries and "
                              f"{len(values)} values")
        if any(b > a for b, a in zip(boundaries, boundaries[1:])):
            raise ConfigError(f"PiecewiseConstantDecay boundaries must increase, got "
                              f"{boundaries}")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """(lr0 - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end; with
    ``cycle`` the horizon grows to the next multiple of decay_steps instead."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        _positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power = end_learning_rate, power
        self.cycle, self.name = bool(cycle), name

    def __call__(self, step):
        step, horizon = float(step), float(self.decay_steps)
        if self.cycle:
            horizon *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, horizon)
        lr0, end = float(self.initial_learning_rate), float(self.end_learning_rate)
        return (lr0 - end) * (1.0 - step / horizon) ** float(self.power) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


def _cosine(fraction: float, alpha: float) -> float:
    return (1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the rate to ``alpha`` times it over ``decay_steps`` steps.

    With ``warmup_target``, the first ``warmup_steps`` steps rise linearly from
    ``initial_learning_rate`` to ``warmup_target``, which the cosine then decays.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _positive(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step):
        step, lr0 = float(step), float(self.initial_learning_rate)
        alpha = float(self.alpha)
        if self.warmup_target is None:
            return lr0 * _cosine(min(step, self.decay_steps) / self.decay_steps, alpha)
        target, warmup = float(self.warmup_target), float(self.warmup_steps)
        step = min(step, self.decay_steps + warmup)
        if step < warmup:
            return (target - lr0) * (step / warmup) + lr0
        return target * _cosine((step - warmup) / self.decay_steps, alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of first_decay_steps * t_mul**i
    steps, the i-th starting at m_mul**i times the rate."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _positive(type(self).__name__, "first_decay_steps", first_decay_steps)
        self.initial_learning_rate, self.first_decay_steps = (initial_learning_rate,
                                                              first_decay_steps)
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        fraction = float(step) / self.first_decay_steps
        t_mul = float(self.t_mul)
        if t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            restart = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            done = (1.0 - t_mul**restart) / (1.0 - t_mul)
            fraction = (fraction - done) / t_mul**restart
        m_fac = float(self.m_mul) ** restart
        alpha = float(self.alpha)
        cosine = 0.5 * m_fac * (1.0 + math.cos(math.pi * fraction))
        return float(self.initial_learning_rate) * ((1.0 - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay,
    CosineDecay, CosineDecayRestarts)}


def serialize(schedule: LearningRateSchedule) -> dict:
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config) -> LearningRateSchedule:
    """A schedule from ``{"class_name": ..., "config": {...}}`` (or an instance)."""
    return resolve(config, kind="learning rate schedule", base=LearningRateSchedule,
                   names=SCHEDULES)


__all__ = ["CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
           "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "SCHEDULES",
           "deserialize", "serialize"]
