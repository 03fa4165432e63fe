"""The stated interface between a training loop and a watcher, and glassnet's side of it.

A loop offers each watcher, once per optimizer step, one call::

    ask = watcher.observe_step(step, loss, logs, observed)

``step`` is the loop's number for the step just done, ``loss`` the batch's loss (a
float or a framework's scalar tensor), ``logs`` the metrics as they stand (a loop may
pass None at a step the watcher asked nothing of, sparing their computation). ``observed``
is None unless the watcher asked for something at this step; then it is an
:class:`Observed` the watcher may read until the call returns. The returned
:class:`Ask` says what the watcher will read at the *next* step, so the loop prepares
exactly that: glassnet's trainer times layers only when asked, keeps W before the
update only when asked for the update, and leaves plain SGD fused into the gradient
products except on the steps whose gradients are asked for. Before the first step the
loop calls ``watcher.observe_begin(observed)`` (parameters, structure, architecture:
what a watcher needs to set up), which returns the first step's :class:`Ask`.

Everything is offered by path in glassnet's orientation (a Dense kernel is (in, out));
arrays may be NumPy arrays or a framework's tensors, and are the loop's own: valid
until the call returns, to be copied by a watcher that keeps them.
"""

from __future__ import annotations

import enum
from typing import Any, Protocol, runtime_checkable

import numpy as np

_NAN = float("nan")


class Ask(enum.IntFlag):
    """What a watcher will read at a step (a union of these)."""

    NOTHING = 0
    PARAMETERS = 1  # the values after the step's update
    GRADIENTS = 2  # the gradients of the step's update
    UPDATE = 4  # the update just applied: W after − W before
    ACTIVATIONS = 8  # each layer's output in the step's forward
    TIMINGS = 16  # seconds of each layer's backward and of the update


@runtime_checkable
class Observed(Protocol):
    """What a training loop offers a watcher at a step it asked about."""

    def parameters(self) -> dict[str, Any]:
        """Trainable parameters by path, a Dense kernel as (in, out) — glassnet's way."""

    def gradients(self) -> dict[str, Any] | None:
        """The gradients of this step's update by the same paths; None where not offered."""

    def update(self) -> dict[str, Any] | None:
        """ΔW of this step's update by the same paths; None where not kept."""

    def activations(self) -> dict[str, tuple[str, Any]]:
        """``{layer: (activation name, output (batch, units))}`` of this step's forward."""

    def timings(self) -> tuple[dict[str, float], float]:
        """``({layer: seconds of its backward}, seconds of the update)``; ({}, NaN) where
        not measured."""

    def layers(self) -> dict[str, list[str]]:
        """``{layer: paths of its trainable parameters}``, in the network's order."""

    def weights(self) -> dict[str, Any]:
        """Every variable by path, trainable or not (what a snapshot keeps)."""

    def architecture(self) -> tuple[dict, dict | None] | None:
        """``(get_config(), get_compile_config())`` in glassnet's form, or None."""

    def flat(self, kind: str) -> Any | None:
        """``"parameters"``, ``"gradients"`` or ``"update"`` as one 1-D array: the
        arrays of that dict flattened and concatenated in its order, when the loop
        keeps them so (no copy); None when it does not (the watcher gathers them).

        A loop whose arrays are not NumPy's may instead give ``copy_into(kind, kept,
        row)``, copying ``kind`` into that row of a buffer set itself (the PyTorch
        watcher's :mod:`glassnet.track.torch_offer` does: one ``_foreach_copy_``)."""


@runtime_checkable
class StepWatcher(Protocol):
    """A watcher a loop calls once per step (glassnet's ``Watch``; see the module doc)."""

    def observe_begin(self, observed: Observed) -> Ask:
        """Before the first step: set up; return what the first step must offer."""

    def observe_step(self, step: int, loss, logs, observed: Observed | None) -> Ask:
        """Step ``step`` is done; return what the next step must offer."""


def watchers_in(callbacks) -> list:
    """The callbacks that are step watchers (they get ``observe_step`` every step); a
    callback with ``implements`` (glassnet's) may decline, per fit."""
    return [c for c in callbacks if callable(getattr(c, "observe_step", None))
            and callable(getattr(c, "observe_begin", None))
            and (not hasattr(c, "implements") or c.implements("observe_step"))]


class TrainerView:
    """glassnet's :class:`Observed`: the trainer's model, its step's timings and ΔW."""

    def __init__(self, model, timed_layers: list[str] = ()) -> None:
        self.model = model
        self._timed_layers = list(timed_layers)
        variables = model.trainable_variables
        self._variables = variables
        self._values = {v.path: v.value for v in variables}
        self._grads = {v.path: v.grad for v in variables}
        ids = {id(v) for v in variables}
        self._layers = {layer.name: [v.path for v in layer.weights if id(v) in ids]
                        for layer in model.layers}
        self._layers = {name: paths for name, paths in self._layers.items() if paths}
        self._activated = [(layer.name, layer) for layer in model.layers
                           if getattr(layer, "activation_name", None) is not None
                           and hasattr(layer, "last_output")]
        # perf_counter() before the first layer's backward, after each, after the update
        # (the trainer's ``loss_and_backward``): turned into seconds only when read
        self.stamps: list[float] = []
        self.seconds: dict[str, float] = {}  # by layer: a graph's trainer times by name
        # The model keeps its trainable Variables as consecutive views of one buffer (and
        # their gradients of a second) while its flat key names them in this order.
        key = tuple(id(v) for v in variables)
        flat = getattr(model, "_flat_key", None) == key and variables
        self._flat = {"parameters": model._flat_params if flat else None,
                      "gradients": model._flat_grads if flat else None, "update": None}
        n = sum(v.size for v in variables)
        self._before = np.empty(n, dtype=variables[0].dtype if variables else np.float64)
        self._change = np.empty_like(self._before)  # W after − W before, when asked
        self._kept = False

    # -- what the trainer does when asked ---------------------------------------------
    def keep_before_update(self) -> None:
        """Keep W as it is before this step's update (for :meth:`update`)."""
        flat = self._flat["parameters"]
        if flat is not None:
            np.copyto(self._before, flat)
        else:
            _gather([v.value for v in self._variables], self._before)
        self._kept = True

    def begin_step(self) -> None:
        self._kept = False
        self.stamps.clear()
        if self.seconds:
            self.seconds = {}

    # -- Observed -----------------------------------------------------------------------
    def parameters(self) -> dict[str, np.ndarray]:
        return self._values

    def gradients(self) -> dict[str, np.ndarray]:
        return self._grads

    def update(self) -> dict[str, np.ndarray] | None:
        if not self._kept:
            return None
        out, start = {}, 0
        for v in self._variables:
            before = self._before[start:start + v.size].reshape(v.shape)
            out[v.path] = v.value - before
            start += v.size
        return out

    def activations(self) -> dict[str, tuple[str, np.ndarray]]:
        out = {}
        for name, layer in self._activated:
            output = layer.last_output
            if output is not None:
                out[name] = (layer.activation_name, output)
        return out

    def timings(self) -> tuple[dict[str, float], float]:
        stamps, names = self.stamps, self._timed_layers
        if len(stamps) <= len(names):
            return {}, _NAN
        backward = {name: stamps[i + 1] - stamps[i] for i, name in enumerate(names)}
        backward.update(self.seconds)
        after = len(names) + 1  # a stamp after the update (none when SGD was fused)
        return backward, (stamps[after] - stamps[after - 1] if len(stamps) > after else _NAN)

    def layers(self) -> dict[str, list[str]]:
        return self._layers

    def weights(self) -> dict[str, np.ndarray]:
        return {v.path: v.value for v in self.model.weights}

    def flat(self, kind: str) -> np.ndarray | None:
        if kind == "update":
            if not self._kept:
                return None
            after = self._flat["parameters"]
            if after is None:
                after = _gather([v.value for v in self._variables], self._change)
            return np.subtract(after, self._before, out=self._change)
        return self._flat[kind]

    def architecture(self) -> tuple[dict, dict | None] | None:
        try:
            config = self.model.get_config()
        except NotImplementedError:  # a model that cannot describe itself: readers guess
            return None
        return config, self.model.get_compile_config()


def _gather(arrays, out: np.ndarray) -> np.ndarray:
    start = 0
    for a in arrays:
        out[start:start + a.size] = a.reshape(-1)
        start += a.size
    return out


