"""Describe every weight and bias of a model: per layer, kernel and bias apart, in one Table."""

from __future__ import annotations

from glassnet._engine.table import Table
from glassnet.errors import NotBuiltError
from glassnet.inspect.stats import summarize
from glassnet.io.frameworks import as_glassnet

COLUMNS = ("layer", "variable", "shape", "count", "mean", "std", "min", "max", "l2",
           "neg_share")


def describe(model) -> Table:
    """Shape, count, mean, std, min, max, L2 norm and share negative of each Variable.

    One row per Variable (a Dense layer's ``kernel`` — its weights — and ``bias`` on
    separate rows), in the model's order. Non-trainable Variables (a Normalization
    layer's mean and variance) are listed too, marked in the ``variable`` column.
    """
    model = as_glassnet(model)  # a PyTorch or Keras Sequential: its glassnet copy
    if not getattr(model, "built", False):
        raise NotBuiltError(f"model {model.name!r} has no weights yet: give it an Input or "
                            f"build it before describing it")
    rows = []
    for layer in model.layers:
        for variable in layer.weights:
            stats = summarize(variable.value)
            name = variable.path.split("/", 1)[-1]
            if not variable.trainable:
                name += " (not trained)"
            owner = layer.name
            if hasattr(layer, "nodes"):  # a nested model: which of its layers holds it
                owner += "/" + variable.path.split("/", 1)[0]
            rows.append((owner, name, tuple(variable.shape), stats["count"],
                         *(stats[k] for k in COLUMNS[4:])))
    weights = sum(v.size for layer in model.layers for v in layer.weights_and_biases()[0])
    biases = sum(v.size for layer in model.layers for v in layer.weights_and_biases()[1])
    return Table(COLUMNS, rows, title=f"Weights and biases of {model.name!r}",
                 notes=[f"{weights} weights and {biases} biases; std is the population std; "
                        f"neg_share = share of values < 0"])
