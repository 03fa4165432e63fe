"""The text of ``model.summary()``: Keras's table, with weights and biases counted apart."""

from __future__ import annotations


def _bytes(n_params: int, itemsize: int) -> str:
    size = float(n_params * itemsize)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def _shape(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def summary_text(model) -> str:
    rows = []
    shape = model.input_shape
    weights_total = biases_total = 0
    # A functional model knows each layer's output shape; a Sequential chains them.
    graph_shapes = model.output_shapes() if hasattr(model, "output_shapes") else None
    for layer in model.layers:
        if graph_shapes is not None:
            shape = graph_shapes[layer.name]
        elif shape is not None:
            shape = layer.compute_output_shape(shape)
        kernels, biases = layer.weights_and_biases()
        n_weights = sum(v.size for v in kernels)
        n_biases = sum(v.size for v in biases)
        weights_total += n_weights
        biases_total += n_biases
        kind = getattr(layer, "serialized_class_name", type(layer).__name__)
        rows.append((f"{layer.name} ({kind})",
                     _shape(shape) if shape is not None else "?",
                     getattr(layer, "activation_name", "") or "",
                     f"{n_weights:,}", f"{n_biases:,}",
                     f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"))
    header = ("Layer (type)", "Output Shape", "Activation", "Weights", "Biases", "Param #")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) + 2 for i in range(len(header))]
    right = (False, False, False, True, True, True)

    def line(cells, left="│", mid="│", end="│"):
        parts = [(" " + c.rjust(w - 2) + " ") if r else (" " + c.ljust(w - 2) + " ")
                 for c, w, r in zip(cells, widths, right)]
        return left + mid.join(parts) + end

    def rule(left, mid, end, fill="━"):
        return left + mid.join(fill * w for w in widths) + end

    out = [f'Model: "{model.name}"', rule("┏", "┳", "┓"), line(header, "┃", "┃", "┃"),
           rule("┡", "╇", "┩")]
    out += [line(r) for r in rows]
    out.append(rule("└", "┴", "┘", "─"))
    if not model.is_chain:  # a branched graph: say who reads whom
        out.append(" Connected to:")
        out += [f"   {layer.name} ← {', '.join(model.inbound_layers(layer.name))}"
                for layer in model.layers[1:]]
    itemsize = model.weights[0].dtype.itemsize if model.weights else 4
    total = sum(v.size for v in model.weights)
    trainable = sum(v.size for v in model.trainable_variables)
    out += [
        f" Total params: {total:,} ({_bytes(total, itemsize)})",
        f" Trainable params: {trainable:,} ({_bytes(trainable, itemsize)})",
        f" Non-trainable params: {total - trainable:,} ({_bytes(total - trainable, itemsize)})",
        f" Weights (kernels): {weights_total:,}   Biases: {biases_total:,}",
    ]
    return "\n".join(out)
