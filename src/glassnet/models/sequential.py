"""Sequential: a stack of layers, with Keras's build/compile/fit/evaluate/predict.

``build`` re-seats every trainable Variable as a view into one contiguous flat
buffer (and every gradient into a second one), so an optimizer updates the whole
model with a few ufunc calls and nothing keeps a second copy of a weight.
"""

from __future__ import annotations

import numpy as np

from glassnet import losses as gnlosses
from glassnet import metrics as gnmetrics
from glassnet import optimizers as gnoptimizers
from glassnet._engine import blas
from glassnet.errors import (
    ConfigError,
    NotBuiltError,
    NotCompiledError,
    NotFoundError,
    ShapeError,
    ValueTypeError,
)
from glassnet.layers import InputLayer, Layer, deserialize, serialize, unique_name
from glassnet.variables import Variable


class Sequential:
    """A linear stack of layers: ``Sequential([Input((64,)), Dense(25, "relu"), Dense(10)])``."""

    #: What the trainer, inspection and export ask of every model (a functional Model
    #: answers for its graph): one input array, layers called one after another.
    multi_input = False
    is_chain = True

    def __init__(self, layers=None, name=None, trainable=True):
        self.name = name or unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_shape: tuple | None = None
        self.built = False
        self.trainable = trainable
        self.optimizer = self.loss = None
        self.metrics: list = []
        self._metric_specs: list = []
        self._weighted_metric_specs: list = []
        self.compiled = False
        self.stop_training = False
        self.history = None
        # Filled during training for watchers: per-layer backward seconds and update seconds.
        self.profile_layers = False
        self.last_step_timing: dict[str, float] = {}
        self.last_update_seconds = 0.0
        self.last_batch_loss = float("nan")
        self._trainer = None
        self._flat_key = None
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

    def _flatten_variables(self) -> None:
        """Re-seat trainable Variables into one flat value buffer and one flat gradient buffer."""
        variables = self.trainable_variables
        key = tuple(id(v) for v in variables)
        # Still ours? A model that holds the same layers (this one nested in a
        # Sequential, a second Model on its tensors) re-seats them into its own buffers.
        if key == self._flat_key and all(np.shares_memory(v.value, self._flat_params)
                                         for v in variables):
            return
        dtypes = {v.dtype for v in variables}
        if len(dtypes) > 1:
            raise ConfigError(f"all trainable weights of a model must share one dtype, got "
                              f"{sorted(str(d) for d in dtypes)}")
        dtype = dtypes.pop() if dtypes else np.dtype("float32")
        total = sum(v.size for v in variables)
        self._flat_params = np.empty(total, dtype=dtype)
        self._flat_grads = np.zeros(total, dtype=dtype)
        self._segments = []
        offset = 0
        for v in variables:
            segment = slice(offset, offset + v.size)
            v._reseat(self._flat_params[segment].reshape(v.shape),
                      self._flat_grads[segment].reshape(v.shape))
            self._segments.append(segment)
            offset += v.size
        self._flat_key = key
        if self.optimizer is not None:
            self.optimizer.build(self._flat_params, self._flat_grads, self._segments)
        self._trainer = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_trainer"] = None
        return state

    def __setstate__(self, state):
        # Pickling copies each Variable's view on its own: seat them in one buffer again
        # and point the optimizer (whose slots survive) at it.
        self.__dict__.update(state)
        if self.built:
            self._flat_key = None
            slots = dict(self.optimizer.slots) if self.optimizer is not None else {}
            iterations = self.optimizer.iterations if self.optimizer is not None else 0
            self._flatten_variables()
            if self.optimizer is not None and self.optimizer.built:
                for name, value in slots.items():
                    if name in self.optimizer.slots and value.shape == \
                            self.optimizer.slots[name].shape:
                        self.optimizer.slots[name][...] = value
                self.optimizer.iterations = iterations

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

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

    def get_layer(self, name=None, index=None) -> Layer:
        """The layer called ``name`` (or at ``index``)."""
        if index is not None:
            if not -len(self._layers) <= index < len(self._layers):
                raise NotFoundError(f"model {self.name!r} has {len(self._layers)} layers, "
                                    f"no index {index}")
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise NotFoundError(f"no layer named {name!r} in model {self.name!r}; layers: "
                            f"{', '.join(layer.name for layer in self._layers)}")

    def _require_built(self):
        if not self.built:
            raise NotBuiltError(f"model {self.name!r} is not built yet: give it an Input, call "
                                f"build((None, n_features)), or fit/predict on data first")

    # -- weights ---------------------------------------------------------------------
    @property
    def weights(self) -> list[Variable]:
        return [v for layer in self._layers for v in layer.weights]

    variables = weights

    @property
    def trainable_variables(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [v for layer in self._layers for v in layer.trainable_weights]

    trainable_weights = trainable_variables

    @property
    def losses(self) -> list[np.ndarray]:
        """The regularization penalties, one per regularized trainable Variable (Keras's
        ``model.losses``): ``sum(model.losses)`` is what ``fit`` adds to the loss."""
        return [np.asarray(v.regularizer.penalty(v.value), dtype=v.dtype)
                for v in self.trainable_variables if v.regularizer is not None]

    @property
    def non_trainable_variables(self) -> list[Variable]:
        trainable = {id(v) for v in self.trainable_variables}
        return [v for v in self.weights if id(v) not in trainable]

    non_trainable_weights = non_trainable_variables

    def count_params(self) -> int:
        self._require_built()
        return int(sum(v.size for v in self.weights))

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight, layer by layer (Dense: kernel then bias)."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Set every weight from a list in ``get_weights()`` order; checks count and shapes."""
        self._require_built()
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self._layers)
        if len(weights) != expected:
            raise ShapeError(f"model {self.name!r} expects {expected} weight arrays "
                             f"(as get_weights() returns), got {len(weights)}")
        from glassnet.layers import _as_weight

        checked, position = [], 0
        for layer in self._layers:
            for variable in layer.weights:
                checked.append((variable, _as_weight(layer.name, variable, weights[position])))
                position += 1
        for variable, array in checked:
            variable.value[...] = array

    # -- training --------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, jit_compile="auto",
                steps_per_execution=1, auto_scale_loss=True) -> None:
        """Choose the optimizer, the loss and the metrics (names resolve as in Keras)."""
        if loss_weights is not None:
            raise ConfigError("loss_weights is not supported by single-output models")
        self.optimizer = gnoptimizers.get(optimizer)
        self.loss = gnlosses.get(loss) if loss is not None else None
        if isinstance(metrics, (str, gnmetrics.Metric)):
            metrics = [metrics]
        self._metric_specs = list(metrics or [])
        # As Keras: sample and class weights weigh only the weighted_metrics.
        if isinstance(weighted_metrics, (str, gnmetrics.Metric)):
            weighted_metrics = [weighted_metrics]
        self._weighted_metric_specs = list(weighted_metrics or [])
        for spec in self._metric_specs + self._weighted_metric_specs:  # fail now, not in fit
            gnmetrics.get(spec, self.loss, None)
        self.metrics = []
        self.compiled = True
        self._flat_key = None
        self._trainer = None
        if self.built:
            self._flatten_variables()
            self._resolve_metrics()
            if self.count_params() >= blas.FUSED_SGD_MIN_PARAMS:
                blas.fusion_available()  # binds NumPy's CBLAS now, not in a fit step

    def _resolve_metrics(self):
        units = self.output_shape[-1] if self.built else None
        self.metrics = [gnmetrics.get(spec, self.loss, units) for spec in
                        self._metric_specs + getattr(self, "_weighted_metric_specs", [])]

    @property
    def metrics_names(self) -> list[str]:
        """``["loss", ...]`` in the order ``evaluate`` returns its values (as tf.keras;
        Keras 3 says ``["loss", "compile_metrics"]``, which zips wrongly with them)."""
        if not self.metrics and self._metric_specs + self._weighted_metric_specs:
            units = self.output_shape[-1] if self.built else None
            return ["loss"] + [gnmetrics.get(spec, self.loss, units).name for spec in
                               self._metric_specs + self._weighted_metric_specs]
        return ["loss"] + [metric.name for metric in self.metrics]

    def _require_compiled(self):
        if not self.compiled:
            raise NotCompiledError(f"model {self.name!r} must be compiled before training or "
                                   f"evaluation: call model.compile(optimizer=..., loss=...)")
        if self.loss is None:
            raise NotCompiledError(f"model {self.name!r} was compiled without a loss: "
                                   f"call model.compile(optimizer=..., loss=...)")

    def _get_trainer(self):
        from glassnet._engine.training import Trainer

        if self._trainer is None:
            self._trainer = Trainer(self)
        return self._trainer

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` passes over (x, y); returns a History (``.history`` dict)."""
        from glassnet._engine.training import fit

        return fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                   callbacks=callbacks, validation_split=validation_split,
                   validation_data=validation_data, shuffle=shuffle, class_weight=class_weight,
                   sample_weight=sample_weight, initial_epoch=initial_epoch,
                   steps_per_epoch=steps_per_epoch,
                   validation_batch_size=validation_batch_size, validation_freq=validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 return_dict=False):
        """Loss (and metrics) on (x, y): a float, a list ``[loss, *metrics]``, or a dict."""
        from glassnet._engine.training import evaluate

        return evaluate(self, x, y, batch_size=batch_size, sample_weight=sample_weight,
                        return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x`` of shape (n_samples, n_features), in batches."""
        from glassnet._engine.training import predict

        return predict(self, x, batch_size=batch_size)

    def __call__(self, x, training=False):
        from glassnet._engine.training import predict
        from glassnet.tensor import Tensor

        return predict(self, x, batch_size=None).view(Tensor)  # answers .numpy(), as TF

    def predict_on_batch(self, x):
        from glassnet._engine.training import predict

        return predict(self, x, batch_size=None)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics)."""
        from glassnet._engine.training import train_on_batch

        return train_on_batch(self, x, y, sample_weight=sample_weight,
                              class_weight=class_weight, return_dict=return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        return self.evaluate(x, y, batch_size=len(x), sample_weight=sample_weight,
                             return_dict=return_dict)

    # -- description -----------------------------------------------------------------
    def summary(self, line_length=None, print_fn=None) -> None:
        """Print the Keras-style table, with weights and biases counted apart."""
        from glassnet.models.summary import summary_text

        (print_fn or print)(summary_text(self))

    # -- config and files -------------------------------------------------------------
    def to_json(self, **kwargs) -> str:
        """The architecture as Keras's JSON (``models.model_from_json`` reads it back)."""
        from glassnet.models.functional_config import to_json

        return to_json(self, **kwargs)

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

    def get_compile_config(self) -> dict | None:
        if not self.compiled:
            return None
        return {"optimizer": gnoptimizers.serialize(self.optimizer),
                "loss": gnlosses.serialize(self.loss) if self.loss else None,
                "metrics": [spec if isinstance(spec, str) else gnmetrics.serialize(spec)
                            for spec in self._metric_specs],
                "weighted_metrics": [spec if isinstance(spec, str) else
                                     gnmetrics.serialize(spec)
                                     for spec in self._weighted_metric_specs] or None}

    def compile_from_config(self, config: dict) -> None:
        self.compile(optimizer=config["optimizer"], loss=config.get("loss"),
                     metrics=config.get("metrics"),
                     weighted_metrics=config.get("weighted_metrics"))

    def save(self, filepath, include_optimizer=True) -> None:
        """Write ``.glassnet`` (glassnet's zip) or ``.keras`` (Keras 3's, loadable by Keras)."""
        from glassnet.io.dispatch import save

        save(self, filepath, include_optimizer=include_optimizer)

    def save_weights(self, filepath) -> None:
        """Write the weights as ``.weights.safetensors`` or Keras's ``.weights.h5``."""
        from glassnet.io.dispatch import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath) -> None:
        """Read weights from .safetensors, .glassnet, .weights.h5 or .keras, by position."""
        from glassnet.io.dispatch import load_weights

        load_weights(self, filepath)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={len(self._layers)} built={self.built}>"

    def _repr_html_(self) -> str:  # a notebook cell's rich display (glassnet.report.display)
        from glassnet.report.display import model_html
        return model_html(self)

    def _repr_markdown_(self) -> str:
        from glassnet.report.display import model_markdown
        return model_markdown(self)


def load_model(filepath, compile=True) -> Sequential:
    """Read a model saved with ``model.save("name.glassnet")`` (or a Keras ``.keras`` file)."""
    from glassnet.io.dispatch import load_model as load

    return load(filepath, compile=compile)


def model_from_json(json_string: str, custom_objects=None):
    """The model (fresh weights) described by ``to_json()``'s text, glassnet's or Keras's."""
    from glassnet.models.functional_config import model_from_json as from_json

    return from_json(json_string, custom_objects)


__all__ = ["Sequential", "load_model", "model_from_json"]
