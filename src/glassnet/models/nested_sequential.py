"""A Sequential's symbolic graph, and a Sequential nested in another model.

``model.inputs`` / ``model.outputs`` (and each layer's ``.output``) of a built
Sequential are the tensors of calling its layers, in order, on a ``keras.Input``
of its input shape; the graph is made on first use and made again only when the
layers change. ``keras.Model(inputs=model.inputs, outputs=layer.output)`` then
reads a hidden layer, as in keras.io's feature-extraction example.

``Sequential([model, layers.Softmax()])`` with ``model`` a Sequential (the
TensorFlow beginner tutorials' ``probability_model``) holds ``model`` as a
:class:`NestedSequential`: a chain Model over the very same layer objects, so the
two share every Variable. Training the outer model trains the inner one's
weights; the inner model still predicts and trains on its own afterwards (each
model re-seats the shared Variables into its own flat buffer when it trains).
Files call it a Sequential again (``keras_sequential``, ``serialized_class_name``).
"""

from __future__ import annotations

from glassnet.errors import NotBuiltError
from glassnet.layers.base import Input
from glassnet.models.functional import Model, symbolic_call


def symbolic_graph(model):
    """``(input tensor, output tensor)`` of the built Sequential ``model``."""
    model._require_built()
    key = (tuple(id(layer) for layer in model._layers), tuple(model._input_shape))
    cached = getattr(model, "_symbolic", None)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    if cached is not None:  # the layers changed: this model's old calls make way
        for layer in model._layers:
            if getattr(layer, "_graph_node", None) in cached[3]:
                layer._graph_node = None
    x = inputs = Input(shape=model._input_shape[1:], name=f"{model.name}_input")
    nodes = [inputs.node]
    for layer in model._layers:
        x = symbolic_call(layer, x)
        nodes.append(x.node)
    model._symbolic = (key, inputs, x, nodes)
    return inputs, x


class NestedSequential(Model):
    """A Sequential as a layer of another model: a chain Model over its layers."""

    keras_sequential = True  # io.keras_graph writes it as Keras's nested Sequential
    serialized_class_name = "Sequential"

    def __init__(self, sequential):
        self.sequential = sequential  # first: Layer.__init__ assigns ``trainable``
        inputs, outputs = symbolic_graph(sequential)
        Model.__init__(self, inputs=inputs, outputs=outputs, name=sequential.name,
                       trainable=sequential.trainable)

    @property
    def trainable(self) -> bool:
        # One flag for both: ``model.trainable = False`` after nesting freezes it here too.
        return self.sequential.trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self.sequential.trainable = bool(value)

    def get_config(self) -> dict:
        return self.sequential.get_config()

    @classmethod
    def from_config(cls, config: dict) -> NestedSequential:
        from glassnet.models.sequential import Sequential

        return cls(Sequential.from_config(config))

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={len(self._layers) - 1} nested>"


def as_layer(sequential, input_shape=None) -> NestedSequential:
    """``sequential`` ready to be a layer, built for ``input_shape`` if it is not yet."""
    if not sequential.built:
        if input_shape is None:
            raise NotBuiltError(f"model {sequential.name!r} is nested before it knows its "
                                f"input shape: start it (or the outer model) with "
                                f"Input(shape=(n_features,))")
        sequential.build(input_shape)
    cached = getattr(sequential, "_as_layer", None)
    inputs, outputs = symbolic_graph(sequential)
    if cached is None or cached.input is not inputs or cached.output is not outputs:
        cached = sequential._as_layer = NestedSequential(sequential)
    return cached


__all__ = ["NestedSequential", "as_layer", "symbolic_graph"]
