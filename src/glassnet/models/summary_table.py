"""``model.summary()``'s table as a :class:`~glassnet._engine.table.Table`, for the command.

The text of ``model.summary()`` is drawn at a fixed width (Keras's look); the command
prints this Table instead so that it fits the terminal like every other table.
"""

from __future__ import annotations

from glassnet._engine.table import Table
from glassnet.models.summary import _bytes, _shape


def summary_table(model) -> Table:
    """One row per layer: name (type), output shape, activation, weights, biases, params."""
    rows = []
    shape = model.input_shape
    weights_total = biases_total = 0
    for layer in model.layers:
        if shape is not None:
            shape = layer.compute_output_shape(shape)
        kernel = getattr(layer, "kernel", None)
        bias = getattr(layer, "bias", None)
        n_weights = kernel.size if kernel is not None else 0
        n_biases = bias.size if bias is not None else 0
        weights_total += n_weights
        biases_total += n_biases
        rows.append((f"{layer.name} ({type(layer).__name__})",
                     _shape(shape) if shape is not None else "?",
                     getattr(layer, "activation_name", "") or "",
                     f"{n_weights:,}", f"{n_biases:,}",
                     f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"))
    itemsize = model.weights[0].dtype.itemsize if model.weights else 4
    total = sum(v.size for v in model.weights)
    trainable = sum(v.size for v in model.trainable_variables)
    notes = [
        f" Total params: {total:,} ({_bytes(total, itemsize)})",
        f" Trainable params: {trainable:,} ({_bytes(trainable, itemsize)})",
        f" Non-trainable params: {total - trainable:,} ({_bytes(total - trainable, itemsize)})",
        f" Weights (kernels): {weights_total:,}   Biases: {biases_total:,}",
    ]
    return Table(["Layer (type)", "Output Shape", "Activation", "Weights", "Biases", "Param #"],
                 rows, title=f'Model: "{model.name}"', notes=notes)
