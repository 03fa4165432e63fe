"""The one rule for fusing the output activation with the loss.

Softmax + categorical cross-entropy and sigmoid + binary cross-entropy have a short
gradient with respect to the logits: dL/dz = w·(p − y)/n, with no 1/p to blow up and
no Jacobian to apply (``Loss.fused_value_and_grad`` computes it). A loss built with
``from_logits=True`` takes z itself, so it fuses with a linear output. The training
loops (``training.Trainer``, ``graph_training.GraphTrainer``) and inspection
(``inspect.propagation``) all ask this module, so they fuse in the same cases.
"""

from __future__ import annotations

DENSE = "dense"            # the output Dense goes on with backward_from_z(dz)
ACTIVATION = "activation"  # the output Activation layer: dz is its input's gradient


def fused_output(loss, output_layer) -> str | None:
    """``DENSE`` or ``ACTIVATION`` when ``output_layer``'s activation fuses with ``loss``;
    None when the gradient goes the long way, dL/da and then g′(z)."""
    from glassnet.layers import Activation, Dense

    if loss is None or loss.fuses_with is None:
        return None
    wanted = "linear" if loss.from_logits else loss.fuses_with
    if isinstance(output_layer, Dense) and output_layer.activation_name == wanted:
        return DENSE
    if (isinstance(output_layer, Activation) and wanted != "linear"
            and output_layer.activation_name == wanted):
        return ACTIVATION
    return None
