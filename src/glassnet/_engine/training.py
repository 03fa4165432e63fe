"""The trainer: one step of a chain of layers, planned once per model.

A step is forward through the layers (writing into their reused buffers), the loss and
its gradient (fused with a softmax or sigmoid output), backward through the layers, and
one optimizer step over the flat parameter buffer. Batches are gathered with
``np.take(out=)`` into buffers allocated once per batch size. What a watcher asks of a
step (:class:`glassnet._engine.observing.Ask`) is prepared here and offered through
``Trainer.view``: layer timings, W before the update; fused SGD stays off for a step
whose gradients are asked for. The loop over epochs and batches is ``fit_loop``.
"""

from __future__ import annotations

import time

import numpy as np

from glassnet._engine import blas
from glassnet._engine.fusion import fused_output as _fused_output
from glassnet._engine.observing import Ask, TrainerView

_TIMINGS, _UPDATE = int(Ask.TIMINGS), int(Ask.UPDATE)  # plain ints: enum operators are slow


class Trainer:
    """What one model needs to train fast: the backward plan and the batch buffers."""

    def __init__(self, model):
        self.model = model
        layers = model.layers
        self.layers = layers
        trainable_ids = {id(v) for v in model.trainable_variables}
        with_params = [i for i, layer in enumerate(layers)
                       if any(id(v) in trainable_ids for v in layer.weights)]
        # Layers before the first trainable one need no backward pass at all.
        self.first_backward = with_params[0] if with_params else len(layers)
        self.fused = _fused_output(model.loss, layers[-1])
        # As Keras, only trainable weights are penalised: a frozen layer's penalty is a
        # constant that Layer._get_regularization_losses leaves out of the loss.
        self.regularized = [v for v in model.trainable_variables if v.regularizer is not None]
        self.constrained = [v for v in model.trainable_variables if v.constraint is not None]
        self._dz: dict[int, np.ndarray] = {}
        self._gather: dict[tuple, np.ndarray] = {}
        # The backward pass as a fixed list of (layer, need_dx, has_weights), planned once:
        # with a fused output the last Dense (or Activation) is handled by the loss step;
        # has_weights says which layers a fused SGD step passes the rate to.
        last = len(layers) - 1 - (self.fused is not None)
        self._backward_plan = [(layers[i], i > self.first_backward, bool(layers[i].weights))
                               for i in range(last, self.first_backward - 1, -1)]
        self._output_needs_dx = len(layers) - 1 > self.first_backward
        # the layers whose backward a timed step measures, in the order they run
        self.timed_layers = ([layers[-1].name] if self.fused == "dense" else []) + [
            layer.name for layer, _, _ in self._backward_plan]
        self._view: TrainerView | None = None

    @property
    def view(self) -> TrainerView:
        """What this trainer offers a watcher (the :class:`Observed` of its steps)."""
        if self._view is None:
            self._view = TrainerView(self.model, self.timed_layers)
        return self._view

    def gather(self, array: np.ndarray, index: np.ndarray, slot: str) -> np.ndarray:
        key = (slot, index.shape[0])
        out = self._gather.get(key)
        if out is None or out.shape[1:] != array.shape[1:] or out.dtype != array.dtype:
            out = self._gather[key] = np.empty((index.shape[0],) + array.shape[1:], array.dtype)
        # mode="clip": take(mode="raise") writes into a temporary and then copies it to
        # out (to leave out untouched on a bad index); fit's indices are a permutation
        # of range(n), always valid, so clip's direct write is the same gather, faster.
        return array.take(index, 0, out, mode="clip")

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training=True)
        return x

    def can_fuse_sgd(self) -> bool:
        """Whether ``fit``'s steps can be plain SGD applied inside the gradient products.

        That needs NumPy's OpenBLAS (``blas.fusion_available``), an SGD step that is
        ``w -= lr * g`` alone, a model big enough for it to pay, and every trainable
        Variable a Dense kernel or bias that no regularizer touches, every Dense in the
        backward pass trainable. (``fit`` still runs unfused the steps whose gradients a
        watcher asks for, and each epoch's last.)
        """
        model = self.model
        optimizer = model.optimizer
        trainable = model.trainable_variables
        if not (optimizer.fusable() and not self.regularized
                and sum(v.value.size for v in trainable) >= blas.FUSED_SGD_MIN_PARAMS
                and blas.fusion_available()):
            return False
        from glassnet.layers import Dense

        in_plan = [self.layers[-1]] if self.fused == "dense" else []
        in_plan += [layer for layer, _, _ in self._backward_plan]
        fused = {id(v) for layer in in_plan if isinstance(layer, Dense) for v in layer.weights}
        with_weights = [layer for layer in in_plan if layer.weights]
        return (all(isinstance(layer, Dense) for layer in with_weights)
                and fused == {id(v) for v in trainable})

    def loss_and_backward(self, y, sample_weight, output, sgd_rate=None,
                          stamps: list | None = None) -> float:
        """Compute the loss of ``output`` and fill every trainable Variable's ``grad``.

        With ``sgd_rate`` (see ``can_fuse_sgd``), apply ``w -= sgd_rate * grad`` instead.
        With ``stamps``, a ``perf_counter()`` is appended before the first layer's
        backward and after each (:attr:`timed_layers` names them, in that order): one
        clock read per layer, the seconds taken apart only when a watcher reads them.
        """
        model = self.model
        grad = self._dz.get(output.shape[0])
        if grad is None or grad.dtype != output.dtype:
            grad = self._dz[output.shape[0]] = np.empty_like(output)
        if self.fused is not None:
            value = model.loss.fused_value_and_grad(y, output, sample_weight, grad)
            if self.fused == "dense":
                if stamps is not None:
                    stamps.append(time.perf_counter())
                grad = self.layers[-1].backward_from_z(grad, self._output_needs_dx, sgd_rate)
            # else the output is an Activation layer: dz is its input's gradient
        else:
            value = model.loss.value_and_grad(y, output, sample_weight, grad)
        if stamps is not None:
            clock = time.perf_counter
            stamps.append(clock())  # after the fused output layer's backward, or before all
            for layer, need_dx, has_weights in self._backward_plan:
                if has_weights and sgd_rate is not None:
                    grad = layer.backward(grad, need_dx, sgd_rate)
                else:
                    grad = layer.backward(grad, need_dx)
                stamps.append(clock())
        elif sgd_rate is None:
            for layer, need_dx, _ in self._backward_plan:
                grad = layer.backward(grad, need_dx)
        else:
            for layer, need_dx, has_weights in self._backward_plan:
                grad = (layer.backward(grad, need_dx, sgd_rate) if has_weights
                        else layer.backward(grad, need_dx))
        for variable in self.regularized:
            value += variable.regularizer.penalty(variable.value)
        return value

    def apply_update(self) -> None:
        self.model.optimizer.step()
        self.apply_constraints()

    def apply_constraints(self) -> None:
        for variable in self.constrained:
            variable.constraint.apply(variable.value)

    def train_step(self, x, y, sample_weight, fuse_sgd=False,
                   ask: int = 0) -> tuple[float, np.ndarray]:
        """One step; ``ask`` (:class:`Ask` flags): what a watcher will read of it through
        :attr:`view`."""
        output = self.forward(x)
        stamps = None
        if ask:
            view = self.view
            view.begin_step()
            if ask & _TIMINGS:
                stamps = view.stamps
            if ask & _UPDATE:
                view.keep_before_update()
        if fuse_sgd:
            rate = self.model.optimizer.begin_fused_step()
            value = self.loss_and_backward(y, sample_weight, output, rate, stamps)
            self.apply_constraints()
        else:
            value = self.loss_and_backward(y, sample_weight, output, None, stamps)
            self.apply_update()
            if stamps is not None:  # the update's seconds: from the last layer's stamp
                stamps.append(time.perf_counter())
        return value, output
