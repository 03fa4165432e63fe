"""What every glassnet model has, Sequential and functional alike: ``ModelBase``.

A subclass says what its layers are (``_layers``), how data flows through them
(``forward``, ``_get_trainer``) and what comes out (``output_shape``); the base holds
the rest once: the flat parameter buffers, weights, ``compile``, ``fit``, ``evaluate``,
``predict``, the summary, JSON and files (through ``glassnet.io.dispatch``, the one
door from models to io).

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
from glassnet.errors import ConfigError, NotBuiltError, NotCompiledError, NotFoundError, ShapeError
from glassnet.layers import Layer
from glassnet.variables import Variable


class ModelBase:
    """The methods Sequential and the functional Model share (neither borrows the other's)."""

    #: What the trainer, inspection and export ask of every model (a functional Model
    #: answers for its graph): one input array, one output, layers called in a row.
    multi_input = False
    multi_output = False
    is_chain = True

    def _init_compile_state(self) -> None:
        self.optimizer = self.loss = None
        self.metrics: list = []
        self._metric_specs: list = []
        self._weighted_metric_specs: list = []
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._trainer = None
        self._flat_key = None

    # -- the flat buffers ------------------------------------------------------------
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

    # -- layers and weights -----------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

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
    def non_trainable_variables(self) -> list[Variable]:
        trainable = {id(v) for v in self.trainable_variables}
        return [v for v in self.weights if id(v) not in trainable]

    non_trainable_weights = non_trainable_variables

    @property
    def losses(self) -> list[np.ndarray]:
        """The regularization penalties, one per regularized trainable Variable (Keras's
        ``model.losses``): ``sum(model.losses)`` is what ``fit`` adds to the loss."""
        return [np.asarray(v.regularizer.penalty(v.value), dtype=v.dtype)
                for v in self.trainable_variables if v.regularizer is not None]

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

    @property
    def packed_output_shape(self) -> tuple:
        """The shape of what the trainer's inference returns (one array, even for a model
        with several outputs, which are then side by side)."""
        return self.output_shape

    # -- compile ---------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, jit_compile="auto",
                steps_per_execution=1, auto_scale_loss=True) -> None:
        """Choose the optimizer, the loss and the metrics (names resolve as in Keras).

        A model with several outputs takes one loss for all, a list (in output order) or
        a dict by output name; ``loss_weights`` and ``metrics`` likewise (Keras 3's rules,
        ``glassnet.models.multi_output``)."""
        if self.multi_output:
            from glassnet.models.multi_output import compile_outputs

            self.loss, self._metric_specs = compile_outputs(self, loss, loss_weights, metrics,
                                                            weighted_metrics)
            self._weighted_metric_specs = []
        else:
            from glassnet.models.multi_output import single_output_specs

            loss, loss_weights, metrics, weighted_metrics = single_output_specs(
                self, loss, loss_weights, metrics, weighted_metrics)
            if loss_weights is not None:
                raise ConfigError("loss_weights is not supported by single-output models")
            self.loss = gnlosses.get(loss) if loss is not None else None
            if isinstance(metrics, (str, gnmetrics.Metric)):
                metrics = [metrics]
            self._metric_specs = list(metrics or [])
            # As Keras: sample and class weights weigh only the weighted_metrics.
            if isinstance(weighted_metrics, (str, gnmetrics.Metric)):
                weighted_metrics = [weighted_metrics]
            self._weighted_metric_specs = list(weighted_metrics or [])
            for spec in self._metric_specs + self._weighted_metric_specs:  # fail now
                gnmetrics.get(spec, self.loss, None)
        self.optimizer = gnoptimizers.get(optimizer)
        self.metrics = []
        self.compiled = True
        self._flat_key = None
        self._trainer = None
        if self.built:
            self._flatten_variables()
            self._resolve_metrics()
            if self.count_params() >= blas.FUSED_SGD_MIN_PARAMS:
                blas.fusion_available()  # binds NumPy's CBLAS now, not in a fit step

    def fresh_metrics(self) -> list:
        """New metric objects for the compiled specs, in the order logs list them (the
        weighted metrics last); a several-output model's per-output losses come first."""
        if self.multi_output:
            return self.loss.metrics(self._metric_specs)
        units = self.output_shape[-1] if self.built else None
        return [gnmetrics.get(spec, self.loss, units)
                for spec in self._metric_specs + self._weighted_metric_specs]

    def _resolve_metrics(self):
        self.metrics = self.fresh_metrics()

    def weighted_metric_flags(self, metrics: list) -> list[bool]:
        """Which of ``metrics`` (as ``fresh_metrics`` lists them) take the sample and class
        weights: as Keras, only the ``weighted_metrics`` (they come last), and a
        several-output model's per-output losses."""
        if self.multi_output:
            return [metric.weighs_samples for metric in metrics]
        plain = len(metrics) - len(self._weighted_metric_specs)
        return [i >= plain for i in range(len(metrics))]

    @property
    def metrics_names(self) -> list[str]:
        """``["loss", ...]`` in the order ``evaluate`` returns its values (as tf.keras;
        Keras 3 says ``["loss", "compile_metrics"]``, which zips wrongly with them)."""
        metrics = self.metrics
        if not metrics and (self.multi_output and self.compiled or
                            self._metric_specs + self._weighted_metric_specs):
            metrics = self.fresh_metrics()
        return ["loss"] + [metric.name for metric in metrics]

    def _require_compiled(self):
        if not self.compiled:
            raise NotCompiledError(f"model {self.name!r} must be compiled before training or "
                                   f"evaluation: call model.compile(optimizer=..., loss=...)")
        if self.loss is None:
            raise NotCompiledError(f"model {self.name!r} was compiled without a loss: "
                                   f"call model.compile(optimizer=..., loss=...)")

    def get_compile_config(self) -> dict | None:
        if not self.compiled:
            return None
        if self.multi_output:
            return {"optimizer": gnoptimizers.serialize(self.optimizer),
                    **self.loss.compile_config()}
        return {"optimizer": gnoptimizers.serialize(self.optimizer),
                "loss": gnlosses.serialize(self.loss) if self.loss else None,
                "metrics": [spec if isinstance(spec, str) else gnmetrics.serialize(spec)
                            for spec in self._metric_specs],
                "weighted_metrics": [spec if isinstance(spec, str) else
                                     gnmetrics.serialize(spec)
                                     for spec in self._weighted_metric_specs] or None}

    def compile_from_config(self, config: dict) -> None:
        self.compile(optimizer=config["optimizer"], loss=config.get("loss"),
                     metrics=config.get("metrics"), loss_weights=config.get("loss_weights"),
                     weighted_metrics=config.get("weighted_metrics"))

    # -- training --------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` passes over (x, y); returns a History (``.history`` dict).

        With several outputs, ``y`` is a list (output order) or a dict by output name."""
        from glassnet._engine.fit_loop import fit

        return fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                   callbacks=callbacks, validation_split=validation_split,
                   validation_data=validation_data, shuffle=shuffle, class_weight=class_weight,
                   sample_weight=sample_weight, initial_epoch=initial_epoch,
                   steps_per_epoch=steps_per_epoch,
                   validation_batch_size=validation_batch_size, validation_freq=validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 return_dict=False):
        """Loss (and metrics) on (x, y): a float, a list ``[loss, *metrics]``, or a dict."""
        from glassnet._engine.evaluation import evaluate

        return evaluate(self, x, y, batch_size=batch_size, sample_weight=sample_weight,
                        return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x``, in batches: an array, or a list of them (one per output)."""
        from glassnet._engine.evaluation import predict

        out = predict(self, x, batch_size=batch_size)
        return self.structure_outputs(self.unpack_outputs(out) if self.multi_output
                                      else [out])

    def structure_outputs(self, values: list):
        """Per-output values as the model returns them: the one array, or the list."""
        return values if self.multi_output else values[0]

    def predict_on_batch(self, x):
        return self.predict(x)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics)."""
        from glassnet._engine.fit_loop import train_on_batch

        return train_on_batch(self, x, y, sample_weight=sample_weight,
                              class_weight=class_weight, return_dict=return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        return self.evaluate(x, y, batch_size=max(1, _rows(self, x)), sample_weight=sample_weight,
                             return_dict=return_dict)

    # -- description, config and files --------------------------------------------------
    def summary(self, line_length=None, print_fn=None) -> None:
        """Print the Keras-style table, with weights and biases counted apart."""
        from glassnet.models.summary import summary_text

        (print_fn or print)(summary_text(self))

    def to_json(self, **kwargs) -> str:
        """The architecture as Keras's JSON (``models.model_from_json`` reads it back)."""
        from glassnet.models.functional_config import to_json

        return to_json(self, **kwargs)

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

    def _repr_html_(self) -> str:  # a notebook cell's rich display (glassnet.report.display)
        from glassnet.report.display import model_html
        return model_html(self)

    def _repr_markdown_(self) -> str:
        from glassnet.report.display import model_markdown
        return model_markdown(self)


def _rows(model, x) -> int:
    """How many samples ``x`` holds: an array's rows; for several inputs (a list or a
    dict of arrays), the first one's."""
    if model.multi_input and isinstance(x, dict):
        x = next(iter(x.values()), ())
    elif model.multi_input and isinstance(x, (list, tuple)) and x:
        x = x[0]
    return len(x) if hasattr(x, "__len__") else 1


__all__ = ["ModelBase"]
