"""Building a glassnet model from a Keras 3 model config: Sequential, functional, nested.

``model_from_keras`` reads the config of a ``.keras`` file and the JSON of Keras's
``model.to_json()`` alike (``model_from_json`` calls it): a ``Sequential``, or a
``Functional`` (``keras.Model(inputs, outputs)``, through ``functional_config``'s
reading of Keras's graph layout, with ``Add`` and ``Concatenate``), whose layers may
themselves be models. Each layer's settings are translated by ``keras_config``.

A Sequential nested in a Keras model becomes a chain Model (glassnet nests Models,
not Sequentials), marked ``keras_sequential`` so that its files call it a Sequential
again (``keras_graph``). The numbers the architecture allocates are bounded
(``WeightBudget``), counted before each layer is built.
"""

from __future__ import annotations

from glassnet import layers as gnlayers
from glassnet.errors import FileFormatError, GlassnetError
from glassnet.io.keras_config import (
    SUPPORTED_LAYERS,
    _activation_layer,
    _check_keys,
    _common,
    _dense,
    _dropout,
    _fail,
    _flatten,
    _input_shape,
    _normalization,
    _settings_layer,
)


class WeightBudget:
    """How many more numbers the architecture may allocate, spent layer by layer before
    each is built (a tampered ``units`` must not exhaust memory)."""

    def __init__(self, limit: int | None, where: str):
        self.left, self.where = limit, where
        self.depth = 0  # how many models the one being built is nested in

    def spend(self, input_shape, layer) -> None:
        from glassnet.io.planning import planned_weight_count

        if self.left is None or not isinstance(input_shape, tuple):
            return  # no bound given, or a merge of several inputs (no weights)
        self.left -= planned_weight_count(input_shape, [layer])
        if self.left < 0:
            raise _fail(self.where, "the architecture in config.json needs more weights "
                                    "than model.weights.h5 can hold")


_MODELS = ("Sequential", "Functional", "Model")
MAX_NESTING = 16  # far beyond real models; bounds the recursion a hostile file can ask for
_MERGES = ("Add", "Concatenate")


def layer_from_keras(entry: dict, where: str, budget: WeightBudget, input_rank: int = 2):
    """One layer (or nested model) of a Keras config, in glassnet; InputLayer excluded."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise _fail(where, f"malformed layer entry {entry!r}")
    class_name, layer_config = entry.get("class_name"), entry["config"]
    at = f"{where}: layer {layer_config.get('name')!r}"
    known = SUPPORTED_LAYERS + _MODELS + _MERGES
    registered = (None, class_name) + (("Functional",) if class_name in _MODELS else ())
    if class_name not in known or class_name == "InputLayer" or entry.get(
            "registered_name") not in registered:
        raise FileFormatError(
            f"{at} is a Keras {class_name}, which glassnet cannot load (it loads "
            f"{', '.join(sorted(set(known)))})")
    try:
        if class_name in _MODELS:
            if budget.depth >= MAX_NESTING:
                raise _fail(at, f"models nested more than {MAX_NESTING} deep are not read")
            budget.depth += 1
            try:
                return model_from_keras(entry, at, budget=budget, nested=True)
            finally:
                budget.depth -= 1
        if class_name in _MERGES:
            _check_keys(layer_config, {"axis"}, at, class_name)
            axis = {"axis": layer_config.get("axis", -1)} if class_name == "Concatenate" else {}
            return gnlayers.LAYERS[class_name](**axis, **_common(layer_config, at))
        if class_name == "Normalization":
            return _normalization(layer_config, at, input_rank)
        if class_name in ("BatchNormalization", "GaussianNoise", "LeakyReLU", "ReLU",
                          "Rescaling", "Softmax"):
            return _settings_layer(class_name, layer_config, at)
        builder = {"Dense": _dense, "Activation": _activation_layer,
                   "Dropout": _dropout, "Flatten": _flatten}[class_name]
        return builder(layer_config, at)
    except (GlassnetError, KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise _fail(at, f"cannot be rebuilt in glassnet: {exc}") from None


def model_from_keras(config: dict, where: str, max_weights: int | None = None,
                     budget: WeightBudget | None = None, nested: bool = False):
    """Build the glassnet model a Keras config describes: a Sequential, or a functional
    Model (``keras.Model(inputs, outputs)``), possibly holding nested models.

    ``max_weights`` bounds how many numbers the architecture may allocate, checked
    before each layer is built.
    """
    budget = budget or WeightBudget(max_weights, where)
    kind = config.get("class_name") if isinstance(config, dict) else type(config).__name__
    if kind == "Sequential":
        return sequential_from_keras(config, where, budget=budget, nested=nested)
    if kind not in ("Functional", "Model"):
        raise _fail(where, f"glassnet reads Keras Sequential and functional models; this "
                           f"file holds a {kind!r}")
    from glassnet.models.functional_config import functional_from_config

    body = config.get("config")
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise _fail(where, "config.json has no list of layers")

    def build(entry):
        if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
            layer_config = entry.get("config") or {}
            return gnlayers.InputLayer(shape=_input_shape(layer_config, where),
                                       name=layer_config.get("name"))
        return layer_from_keras(entry, where, budget)

    try:
        return functional_from_config(body, build, budget=budget.spend)
    except (GlassnetError, KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise _fail(where, f"the functional model cannot be rebuilt: {exc}") from None


def _sequential_chain(input_shape, layers, name):
    """A Sequential nested in a model, as a chain Model (glassnet nests Models, not
    Sequentials) that Keras's files still call a Sequential (``keras_graph``)."""
    from glassnet.models.functional import Model

    x = inputs = gnlayers.Input(input_shape, name=f"{name}_input")
    for layer in layers:
        x = layer(x)
    model = Model(inputs=inputs, outputs=x, name=name)
    model.keras_sequential = True
    return model


def sequential_from_keras(config: dict, where: str, max_weights: int | None = None,
                          budget: WeightBudget | None = None, nested: bool = False):
    """Build the glassnet Sequential that a Keras ``config.json`` describes.

    ``max_weights`` bounds how many numbers the architecture may allocate, checked
    before anything is built (a tampered ``units`` must not exhaust memory).
    """
    from glassnet.io.planning import planned_weight_count
    from glassnet.models import Sequential

    budget = budget or WeightBudget(max_weights, where)
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        kind = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise _fail(where, f"glassnet reads Keras Sequential models; this file holds a "
                           f"{kind!r}")
    body = config.get("config")
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise _fail(where, "config.json has no list of layers")
    shape = body.get("build_input_shape") or (config.get("build_config") or {}).get(
        "input_shape")
    input_shape = _input_shape({"batch_shape": shape}, where) if shape else None
    layers = []
    for entry in body["layers"]:
        if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
            layer_config = entry.get("config") or {}
            input_shape = _input_shape(layer_config,
                                       f"{where}: layer {layer_config.get('name')!r}")
            continue
        rank = 1 + len(input_shape) if input_shape else 2
        layers.append(layer_from_keras(entry, where, budget, rank))
    if input_shape is None:
        raise _fail(where, "config.json does not say the model's input shape")
    planned = planned_weight_count((None,) + input_shape, layers)
    if budget.left is not None and planned > budget.left:
        raise _fail(where, f"the architecture in config.json needs {planned} weights, more "
                           f"than model.weights.h5 can hold")
    if budget.left is not None:
        budget.left -= planned
    try:
        if not nested:
            return Sequential([gnlayers.Input(input_shape), *layers], name=body.get("name"))
        return _sequential_chain(input_shape, layers, body.get("name"))
    except (GlassnetError, TypeError, ValueError) as exc:
        raise _fail(where, f"the model cannot be built in glassnet: {exc}") from None
