"""Training steps for a branched functional model (a chain uses ``training.Trainer``).

The same interface as ``Trainer`` (``forward``, ``loss_and_backward``, ``train_step``,
``gather``), so ``fit``, ``evaluate``, ``train_on_batch`` and ``inspect.gradients``
run unchanged. Forward runs the model's nodes in order; backward runs them in
reverse from the loss's gradient, summing at fan-out. As in the chain trainer, a
softmax or sigmoid output Dense fuses with its cross-entropy (dL/dz = (p - y) / n).
With several outputs, backward starts from each output's weighted loss gradient
(``models.multi_output.OutputLosses``), unfused.
"""

from __future__ import annotations

import time

import numpy as np

from glassnet._engine.fusion import fused_output
from glassnet._engine.training import Trainer


class GraphTrainer(Trainer):
    def __init__(self, model):
        self.model = model
        self.layers = model.layers
        output = model._compute_nodes[-1]  # the output's node: made after all it reads
        # Several outputs never fuse: an output may also feed other layers.
        self.fused = None if model.multi_output else fused_output(model.loss, output.layer)
        self.regularized = [v for v in model.trainable_variables if v.regularizer is not None]
        self.constrained = [v for v in model.trainable_variables if v.constraint is not None]
        self._dz: dict[int, np.ndarray] = {}
        self._gather: dict[tuple, np.ndarray] = {}
        self._upstream = model._upstream_trainable()
        # With a fused output the last node's own backward is the loss step's.
        nodes = model._compute_nodes
        self._nodes = nodes[:-1] if self.fused is not None else nodes
        self._output = output
        self.timed_layers = []  # named as they run: see loss_and_backward
        self._view = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.model.forward(x, training=True)

    def can_fuse_sgd(self) -> bool:
        return False  # the fused step is planned for chains only

    def _output_grads(self, outputs: list) -> list:
        """One gradient buffer per output, kept per batch size."""
        key = ("outputs", outputs[0].shape[0])
        grads = self._dz.get(key)
        if grads is None or any(g.shape != o.shape or g.dtype != o.dtype
                                for g, o in zip(grads, outputs)):
            grads = self._dz[key] = [np.empty_like(o) for o in outputs]
        return grads

    def loss_and_backward(self, y, sample_weight, output, sgd_rate=None,
                          stamps: list | None = None) -> float:
        """As a chain's, but a graph's nodes may be skipped (an output that does not
        reach the loss), so each timed layer's seconds go by name into the view's
        ``seconds``, and ``stamps`` gets one clock read, before the update."""
        model = self.model
        if model.multi_output:  # output is the list of outputs, one loss each
            buffers = self._output_grads(output)
            value = model.loss.value_and_grads(y, output, sample_weight, buffers)
            grads = {id(t): g for t, g in zip(model.outputs, buffers)}
        else:
            value, grads = self._output_loss(y, sample_weight, output)
        timing = None if stamps is None else self.view.seconds
        model.backward_nodes(grads, self._nodes, upstream=self._upstream, timing=timing)
        if stamps is not None:
            stamps.append(time.perf_counter())
        for variable in self.regularized:
            value += variable.regularizer.penalty(variable.value)
        return value

    def _output_loss(self, y, sample_weight, output) -> tuple[float, dict]:
        """One output's loss and the gradients backward starts from: dL/doutput, or with
        a fused output, dL/d(its input) after the output Dense's own backward."""
        model, node = self.model, self._output
        grad = self._dz.get(output.shape[0])
        if grad is None or grad.dtype != output.dtype:
            grad = self._dz[output.shape[0]] = np.empty_like(output)
        if self.fused is None:
            value = model.loss.value_and_grad(y, output, sample_weight, grad)
            return value, {id(node.output): grad}
        value = model.loss.fused_value_and_grad(y, output, sample_weight, grad)
        if self.fused == "dense":
            need = any(self._upstream[id(t)] for t in node.inputs)
            grad = node.layer.backward_from_z(grad, need)
        # else the output is an Activation: dz is its input's gradient
        return value, ({id(node.inputs[0]): grad} if grad is not None else {})
