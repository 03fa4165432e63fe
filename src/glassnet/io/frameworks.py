"""Live PyTorch and Keras models in: the glassnet Sequential with the same layers and weights.

``as_glassnet(model)`` is what ``gn.inspect.describe``, ``trace``, ``diagnose`` and
``importance`` call first, so they take a ``torch.nn.Sequential`` of ``Linear`` and
activation modules, or a Keras 3 ``Sequential`` of Dense/Activation/Dropout/
Normalization (and the other layers :func:`glassnet.io.load_keras` reads), as they are.
A glassnet model passes through unchanged. The copy is taken at the call: later
training of the original does not change it.

PyTorch: an ``nn.Linear``'s ``weight`` (out, in) becomes the kernel (in, out), its
``bias`` the bias; an activation module that follows a ``Linear`` becomes that Dense
layer's activation (so ``trace`` and ``diagnose`` see "dense: relu" as glassnet's own
models show it); ``Dropout`` becomes Dropout; a nested ``nn.Sequential`` is read in
place. Anything else raises :class:`~glassnet.errors.ConfigError` naming the first
module glassnet cannot convert. Neither framework is imported here: a model is told
by the modules of its classes, and read through its own methods.
"""

from __future__ import annotations

import json

import numpy as np

from glassnet.errors import ConfigError

# torch.nn activation classes -> glassnet activation names (and the settings they need)
_TORCH_ACTIVATIONS = {
    "ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "GELU": "gelu",
    "SiLU": "silu", "Softplus": "softplus", "ELU": "elu", "Identity": "linear",
    "Softmax": "softmax",
}


def _torch_nn():
    import torch.nn  # a torch module is in hand: torch is already imported

    return torch.nn


def _classes(model) -> list[tuple[str, str]]:
    return [(cls.__module__, cls.__name__) for cls in type(model).__mro__]


def is_torch_module(model) -> bool:
    """A ``torch.nn.Module`` that is not a Keras model (on Keras's torch backend, Keras
    models are torch modules too), told without importing torch."""
    return ("torch.nn.modules.module", "Module") in _classes(model) \
        and not is_keras_model(model)


def is_keras_model(model) -> bool:
    """A Keras 3 model, told without importing keras."""
    return any(module.startswith("keras.") and name in ("Model", "Sequential")
               for module, name in _classes(model))


def as_glassnet(model):
    """``model`` if it is glassnet's; a converted copy of a PyTorch or Keras model."""
    if is_keras_model(model):
        return from_keras(model)
    if is_torch_module(model):
        return from_torch(model)
    return model


def torch_plan(module) -> list[dict]:
    """The glassnet layers an ``nn.Sequential`` stands for, first to last:
    ``[{kind: "dense", name, linear, activation, activation_module, names}]`` or
    ``{kind: "dropout", rate}``; ConfigError naming the first unsupported module."""
    plan: list[dict] = []
    dense_count = 0
    for qualified, child in _torch_children(module, ""):
        kind = _torch_kind(child, qualified)
        if kind == "linear":
            name = "dense" if dense_count == 0 else f"dense_{dense_count}"
            dense_count += 1
            plan.append({"kind": "dense", "name": name, "linear": child, "torch_name": qualified,
                         "activation": "linear", "activation_module": None})
        elif kind == "dropout":
            plan.append({"kind": "dropout", "rate": float(child.p), "torch_name": qualified})
        elif plan and plan[-1]["kind"] == "dense" and plan[-1]["activation"] == "linear" \
                and plan[-1]["activation_module"] is None:
            plan[-1]["activation"], plan[-1]["activation_module"] = kind, child
        else:
            raise ConfigError(f"torch module {qualified!r} ({type(child).__name__}) follows "
                              f"no Linear; glassnet converts an nn.Sequential of Linear layers "
                              f"each followed by at most one activation")
    if not any(step["kind"] == "dense" for step in plan):
        raise ConfigError(f"torch module {type(module).__name__} has no nn.Linear to convert")
    return plan


def _torch_children(module, prefix: str):
    """(qualified name, module) of an nn.Sequential's leaves, nested Sequentials in place."""
    nn = _torch_nn()
    if not isinstance(module, nn.Sequential):
        raise ConfigError(f"glassnet converts a torch nn.Sequential of Linear and activation "
                          f"modules; got a {type(module).__name__} (watch it with "
                          f"run.watch(module) for per-parameter records by name)")
    for name, child in module.named_children():
        qualified = f"{prefix}{name}"
        if isinstance(child, nn.Sequential):
            yield from _torch_children(child, qualified + ".")
        else:
            yield qualified, child


def _torch_kind(child, qualified: str) -> str | None:
    """"linear", "dropout", a glassnet activation name, or ConfigError naming the module."""
    nn = _torch_nn()
    if isinstance(child, nn.Linear):
        return "linear"
    if isinstance(child, nn.Dropout):
        return "dropout"
    for torch_name, name in _TORCH_ACTIVATIONS.items():
        if isinstance(child, getattr(nn, torch_name)):
            _check_torch_settings(child, torch_name)
            return name
    raise ConfigError(f"torch module {qualified!r} ({type(child).__name__}) cannot be "
                      f"converted to glassnet "
                      f"(it converts Linear, Dropout and {', '.join(_TORCH_ACTIVATIONS)})")


def _check_torch_settings(child, torch_name: str) -> None:
    """Refuse settings glassnet's activation of that name does not have."""
    bad = None
    if torch_name == "GELU" and getattr(child, "approximate", "none") != "none":
        bad = f"approximate={child.approximate!r}"
    elif torch_name == "ELU" and float(child.alpha) != 1.0:
        bad = f"alpha={child.alpha}"
    elif torch_name == "Softplus" and float(child.beta) != 1.0:
        bad = f"beta={child.beta}"
    elif torch_name == "Softmax" and child.dim not in (-1, 1):
        bad = f"dim={child.dim}"
    if bad is not None:
        raise ConfigError(f"torch module {torch_name}({bad}) has settings glassnet's "
                          f"{_TORCH_ACTIVATIONS[torch_name]} does not")


def torch_weights(linear) -> tuple[np.ndarray, np.ndarray | None]:
    """An nn.Linear's kernel (in, out) — its ``weight`` transposed — and bias, as NumPy."""
    kernel = linear.weight.detach().cpu().numpy().T.copy()
    bias = None if linear.bias is None else linear.bias.detach().cpu().numpy().copy()
    return kernel, bias


def from_torch(module):
    """The glassnet Sequential of an ``nn.Sequential`` of Linear + activations, weights copied."""
    from glassnet import layers
    from glassnet.models import Sequential

    plan = torch_plan(module)
    first = next(step for step in plan if step["kind"] == "dense")
    built = [layers.Input((int(first["linear"].in_features),))]
    for step in plan:
        if step["kind"] == "dropout":
            built.append(layers.Dropout(step["rate"]))
            continue
        linear = step["linear"]
        built.append(layers.Dense(int(linear.out_features), activation=step["activation"],
                                  use_bias=linear.bias is not None, name=step["name"]))
    model = Sequential(built, name="torch_sequential")
    dense = iter(layer for layer in model.layers if layer.trainable_weights)
    for step in plan:
        if step["kind"] == "dense":
            layer = next(dense)
            kernel, bias = torch_weights(step["linear"])
            layer.kernel.assign(kernel.astype(layer.kernel.dtype))
            if bias is not None:
                layer.bias.assign(bias.astype(layer.bias.dtype))
    return model


def from_keras(model):
    """The glassnet Sequential of a Keras 3 Sequential, through glassnet.io's Keras reader."""
    from glassnet.io.keras import stored_variables
    from glassnet.io.keras_models import model_from_keras

    if not any(name == "Sequential" for _, name in _classes(model)):
        raise ConfigError(f"glassnet converts a Keras Sequential; got a Keras "
                          f"{type(model).__name__}")
    where = f"Keras model {model.name!r}"
    try:
        # what a .keras file's config.json holds: Keras's own JSON of the model
        converted = model_from_keras(json.loads(model.to_json()), where)
    except Exception as exc:  # FileFormatError names the first unsupported layer
        raise ConfigError(str(exc)) from None
    # layer by layer, as glassnet's .keras reader matches them (Keras lists no Input)
    for keras_layer, layer in zip(model.layers, converted.layers, strict=True):
        for variable, value in zip(stored_variables(layer), keras_layer.weights, strict=True):
            variable.assign(np.asarray(_keras_numpy(value), dtype=variable.dtype).reshape(
                variable.shape))
    _compile_as_keras(converted, model, where)
    return converted


def _compile_as_keras(converted, model, where: str) -> None:
    """Compile the copy with the Keras model's loss, optimizer and metrics where glassnet
    has them (``diagnose`` and ``importance`` with ``y`` need the loss); else leave it
    uncompiled, which every inspection without ``y`` accepts."""
    from glassnet.errors import GlassnetError
    from glassnet.io.keras_config import compile_from_keras

    config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if not config:
        return
    try:
        compile_from_keras(converted, json.loads(json.dumps(config)), where)
    except (GlassnetError, TypeError, ValueError):
        pass  # e.g. a custom loss: inspected without one


def _keras_numpy(variable) -> np.ndarray:
    from keras import ops  # only reached with a Keras model in hand

    return ops.convert_to_numpy(variable)


__all__ = ["as_glassnet", "from_keras", "from_torch", "is_keras_model", "is_torch_module",
           "torch_plan", "torch_weights"]
