"""A functional model's config in Keras's shape, and ``to_json`` / ``model_from_json``.

Keras writes a functional model as its layers, each with ``inbound_nodes`` naming
the layers it reads (``keras_history``: [layer name, node index, tensor index]),
and ``input_layers`` / ``output_layers``. glassnet writes the same shape with its
own layer settings, and reads back both its own JSON and Keras's (for the layers
glassnet has, through ``io.keras_models``, as a ``.keras`` file's config is read).
"""

from __future__ import annotations

import json

from glassnet.errors import ConfigError, FileFormatError, GlassnetError

KERAS_MODULE = "keras.src.models.functional"


def _tensor_ref(tensor) -> dict:
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(tensor.shape), "dtype": tensor.dtype.name,
                       "keras_history": [tensor.node.layer.name, 0, 0]}}


def functional_config(model) -> dict:
    """``model.get_config()`` of a functional Model, as Keras 3 lays it out."""
    from glassnet.layers import serialize

    layers = []
    for node in model.nodes:
        refs = [_tensor_ref(t) for t in node.inputs]
        inbound = [] if not node.inputs else [
            {"args": [refs] if node.takes_list else refs, "kwargs": {}}]
        layers.append({**serialize(node.layer), "name": node.layer.name,
                       "inbound_nodes": inbound})
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": _layer_refs(model.inputs),
            "output_layers": output_refs(model)}


def output_refs(model):
    """``output_layers``: Keras's refs, a dict of them by key for ``outputs={...}``."""
    keys = model._output_keys
    if keys:
        by_key = dict(zip(model.output_keys, model.outputs, strict=True))
        return {key: [by_key[key].node.layer.name, 0, 0] for key in keys}
    return _layer_refs(model.outputs)


def _layer_refs(tensors) -> list:
    """``["x", 0, 0]`` for one tensor, Keras's list of those for several."""
    refs = [[t.node.layer.name, 0, 0] for t in tensors]
    return refs[0] if len(refs) == 1 else refs


def _history_names(args) -> list[str]:
    """Layer names referenced by one inbound node's args (a tensor, or a list of them)."""
    names = []
    for item in args:
        for ref in item if isinstance(item, list) else [item]:
            if not isinstance(ref, dict) or "keras_history" not in ref.get("config", {}):
                raise ConfigError(f"malformed inbound tensor {ref!r}")
            names.append(ref["config"]["keras_history"][0])
    return names


def _layer_names(ref) -> list[str]:
    """The names in ``input_layers``: ``["x", 0, 0]`` or Keras's list of those."""
    refs = ref if isinstance(ref, list) and ref and isinstance(ref[0], list) else [ref]
    for one in refs:
        if not isinstance(one, list) or not one or not isinstance(one[0], str):
            raise ConfigError(f"malformed layer reference {one!r}")
    return [one[0] for one in refs]


def functional_from_config(config: dict, layer_builder=None, budget=None):
    """The Model that ``functional_config`` (or Keras) described, with fresh weights.

    ``budget(input_shape, layer)``, if given, is called before each layer is built
    (and may refuse it: a file's reader bounds the weights it allocates)."""
    from glassnet.layers import InputLayer, deserialize
    from glassnet.models.functional import Model, input_tensor

    build = layer_builder or deserialize
    outputs: dict[str, object] = {}
    for entry in config["layers"]:
        if not isinstance(entry, dict):
            raise ConfigError(f"malformed layer entry {entry!r}")
        layer = build(entry)
        name = entry.get("name") or layer.name
        if isinstance(layer, InputLayer):
            outputs[name] = input_tensor(layer)
            continue
        nodes = entry.get("inbound_nodes") or []
        if len(nodes) != 1:
            raise ConfigError(f"layer {name!r} is called {len(nodes)} times; glassnet "
                              f"supports layers called exactly once")
        args = nodes[0].get("args", [])
        names = _history_names(args)
        missing = [n for n in names if n not in outputs]
        if missing:
            raise ConfigError(f"layer {name!r} reads {missing}, which no earlier layer "
                              f"makes")
        tensors = [outputs[n] for n in names]
        takes_list = len(args) == 1 and isinstance(args[0], list)
        if budget is not None:
            budget([t.shape for t in tensors] if takes_list else tensors[0].shape, layer)
        outputs[name] = layer(tensors if takes_list else tensors[0])
    try:
        inputs = [outputs[n] for n in _layer_names(config["input_layers"])]
        refs = config["output_layers"]
        if isinstance(refs, dict):  # Model(outputs={key: tensor}), as Keras writes it
            output = {key: outputs[_layer_names(ref)[0]] for key, ref in refs.items()}
        else:
            output = [outputs[n] for n in _layer_names(refs)]
    except KeyError as exc:
        raise ConfigError(f"the model's input or output names no layer: {exc}") from None
    return Model(inputs=inputs, outputs=output, name=config.get("name"),
                 trainable=config.get("trainable", True))


def to_json(model, **kwargs) -> str:
    """``{"module", "class_name", "config", ...}`` as Keras's ``model.to_json()`` writes."""
    functional = getattr(model, "nodes", None) is not None
    document = {"module": KERAS_MODULE if functional else "keras",
                "class_name": "Functional" if functional else "Sequential",
                "config": model.get_config(),
                "registered_name": "Functional" if functional else None}
    return json.dumps(document, **kwargs)


def model_from_json(text: str, custom_objects=None):
    """A Sequential or functional Model, with fresh weights, from ``to_json()``'s text."""
    from glassnet.models.sequential import Sequential

    if custom_objects:
        raise ConfigError("model_from_json: custom_objects are not supported by glassnet")
    try:
        document = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"model_from_json: not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise FileFormatError("model_from_json: expected {\"class_name\": ..., \"config\": "
                              "{...}} as model.to_json() writes")
    kind, config = document.get("class_name"), document["config"]
    keras_made = any(isinstance(entry, dict) and "module" in entry
                     for entry in config.get("layers", []))
    try:
        if keras_made:  # Keras's own layer settings: translated as a .keras file's are
            from glassnet.io.dispatch import model_from_keras_config

            return model_from_keras_config(document, "model_from_json")
        if kind == "Sequential":
            return Sequential.from_config(config)
        if kind not in ("Functional", "Model"):
            raise FileFormatError(f"model_from_json: a {kind!r} model; glassnet reads "
                                  f"Sequential and Functional models")
        return functional_from_config(config)
    except (GlassnetError, KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise FileFormatError(f"model_from_json: the architecture cannot be rebuilt: "
                              f"{exc}") from None
