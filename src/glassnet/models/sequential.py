"""Sequential: a stack of layers, with Keras's build/compile/fit/evaluate/predict.

What it shares with the functional ``Model`` (weights, compile, fit, files) is
``glassnet.models.base.ModelBase``; here is what a stack adds: ``add``, ``pop``,
``build`` layer after layer, and its config.
"""

from __future__ import annotations

from glassnet.errors import ConfigError, NotBuiltError, ShapeError, ValueTypeError
from glassnet.layers import InputLayer, Layer, deserialize, serialize, unique_name
from glassnet.models.base import ModelBase


class Sequential(ModelBase):
    """A linear stack of layers: ``Sequential([Input((64,)), Dense(25, "relu"), Dense(10)])``."""

    def __init__(self, layers=None, name=None, trainable=True):
        self.name = name or unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_shape: tuple | None = None
        self.built = False
        self.trainable = trainable
        self._init_compile_state()
        for layer in layers or []:
            self.add(layer)

    # -- structure -------------------------------------------------------------------
    def add(self, layer) -> None:
        """Append a layer (an ``Input`` only first, to declare the input shape)."""
        from glassnet.models.functional import is_symbolic

        if is_symbolic(layer) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer  # keras.Input(...) as a Sequential's first item
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ConfigError("Input must come first in a Sequential model")
            self._input_shape = layer._declared_input_shape
            self._try_build()
            return
        if isinstance(layer, Sequential):  # Sequential([model, Softmax()]), as Keras
            from glassnet.models.nested_sequential import as_layer

            layer = as_layer(layer, self._next_input_shape())
        if not isinstance(layer, Layer):
            raise ValueTypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if any(existing.name == layer.name for existing in self._layers):
            raise ConfigError(f"layer names must be unique in a model: {layer.name!r} is "
                              f"already used")
        if not self._layers and self._input_shape is None:
            self._input_shape = layer._declared_input_shape
        self._layers.append(layer)
        self.built = False
        self._trainer = None
        self._try_build()

    def _next_input_shape(self):
        """The input shape of a layer appended now (None while it is unknown)."""
        if self.built:
            return self.output_shape
        return self._input_shape if not self._layers else None

    def pop(self) -> Layer:
        if not self._layers:
            raise ConfigError("pop() on a model with no layers")
        layer = self._layers.pop()
        self.built = False
        self._trainer = None
        self._try_build()
        return layer

    def _try_build(self):
        if self._input_shape is not None and self._layers:
            self.build(self._input_shape)

    def build(self, input_shape=None) -> None:
        """Create every layer's weights for inputs of ``input_shape`` = (None, n_features)."""
        shape = tuple(input_shape) if input_shape is not None else self._input_shape
        if shape is None:
            raise NotBuiltError(f"model {self.name!r} does not know its input shape: start it "
                                f"with Input(shape=(n_features,)) or call build((None, n))")
        if not self._layers:
            raise ConfigError(f"model {self.name!r} has no layers to build")
        self._input_shape = (None,) + tuple(shape[1:])
        current = self._input_shape
        for layer in self._layers:
            if not layer.built:
                layer.build(current)
            elif tuple(layer.input_shape[1:]) != tuple(current[1:]):
                raise ShapeError(f"layer {layer.name!r} was built for input "
                                 f"{layer.input_shape}, but receives {current} in this model")
            current = layer.compute_output_shape(current)
        self.built = True
        self._flatten_variables()

    @property
    def input_shape(self):
        return self._input_shape

    @property
    def output_shape(self):
        self._require_built()
        shape = self._input_shape
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    # The symbolic graph of a built Sequential (glassnet.models.nested_sequential), for
    # keras.Model(inputs=model.inputs, outputs=model.layers[i].output).
    @property
    def inputs(self) -> list:
        return [self.input]

    @property
    def outputs(self) -> list:
        return [self.output]

    @property
    def input(self):
        from glassnet.models.nested_sequential import symbolic_graph

        return symbolic_graph(self)[0]

    @property
    def output(self):
        from glassnet.models.nested_sequential import symbolic_graph

        return symbolic_graph(self)[1]

    def _get_trainer(self):
        from glassnet._engine.training import Trainer

        if self._trainer is None:
            self._trainer = Trainer(self)
        return self._trainer

    def __call__(self, x, training=False):
        from glassnet._engine.evaluation import predict
        from glassnet.tensor import Tensor

        return predict(self, x, batch_size=None).view(Tensor)  # answers .numpy(), as TF

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable,
                "build_input_shape": list(self._input_shape) if self._input_shape else None,
                "layers": [serialize(layer) for layer in self._layers]}

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            model.add(deserialize(layer_config))
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            model.build(tuple(shape))
        return model

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={len(self._layers)} built={self.built}>"


def load_model(filepath, compile=True) -> Sequential:
    """Read a model saved with ``model.save("name.glassnet")`` (or a Keras ``.keras`` file)."""
    from glassnet.io.dispatch import load_model as load

    return load(filepath, compile=compile)


def model_from_json(json_string: str, custom_objects=None):
    """The model (fresh weights) described by ``to_json()``'s text, glassnet's or Keras's."""
    from glassnet.models.functional_config import model_from_json as from_json

    return from_json(json_string, custom_objects)


__all__ = ["Sequential", "load_model", "model_from_json"]
