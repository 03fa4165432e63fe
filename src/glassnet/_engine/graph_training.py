"""Training steps for a branched functional model (a chain uses ``training.Trainer``).

The same interface as ``Trainer`` (``forward``, ``loss_and_backward``, ``train_step``,
``gather``), so ``fit``, ``evaluate``, ``train_on_batch`` and ``inspect.gradients``
run unchanged. Forward runs the model's nodes in order; backward runs them in
reverse from the loss's gradient, summing at fan-out. As in the chain trainer, a
softmax or sigmoid output Dense fuses with its cross-entropy (dL/dz = (p - y) / n).
"""

from __future__ import annotations

import numpy as np

from glassnet._engine.training import Trainer, _fused_output


class GraphTrainer(Trainer):
    def __init__(self, model):
        if model.multi_output:
            from glassnet.errors import ConfigError

            raise ConfigError(f"model {model.name!r} has {len(model.outputs)} outputs; "
                              f"glassnet trains and evaluates models with one output "
                              f"for now (predict and calling it work)")
        self.model = model
        self.layers = model.layers
        output = model._compute_nodes[-1]  # the output's node: made after all it reads
        self.fused = _fused_output(model.loss, output.layer)
        self.regularized = [v for v in model.trainable_variables if v.regularizer is not None]
        self.constrained = [v for v in model.trainable_variables if v.constraint is not None]
        self._dz: dict[int, np.ndarray] = {}
        self._gather: dict[tuple, np.ndarray] = {}
        self._upstream = model._upstream_trainable()
        # With a fused output the last node's own backward is the loss step's.
        nodes = model._compute_nodes
        self._nodes = nodes[:-1] if self.fused is not None else nodes
        self._output = output

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.model.forward(x, training=True)

    def can_fuse_sgd(self, callbacks) -> bool:
        return False  # the fused step is planned for chains only

    def loss_and_backward(self, y, sample_weight, output, sgd_rate=None) -> float:
        model, node = self.model, self._output
        grad = self._dz.get(output.shape[0])
        if grad is None or grad.dtype != output.dtype:
            grad = self._dz[output.shape[0]] = np.empty_like(output)
        grads = {}
        if self.fused is not None:
            value = model.loss.fused_value_and_grad(y, output, sample_weight, grad)
            if self.fused == "dense":
                need = any(self._upstream[id(t)] for t in node.inputs)
                grad = node.layer.backward_from_z(grad, need)
            # else the output is an Activation: dz is its input's gradient
            if grad is not None:
                grads[id(node.inputs[0])] = grad
        else:
            value = model.loss.value_and_grad(y, output, sample_weight, grad)
            grads[id(node.output)] = grad
        timing = model.last_step_timing if model.profile_layers else None
        model.backward_nodes(grads, self._nodes, upstream=self._upstream, timing=timing)
        for variable in self.regularized:
            value += variable.regularizer.penalty(variable.value)
        return value
