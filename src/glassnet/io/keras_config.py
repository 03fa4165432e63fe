"""Translating a Keras 3 model config (the ``config.json`` of a ``.keras`` file) to glassnet.

Each layer of ``SUPPORTED_LAYERS`` is translated here; ``keras_models`` builds the
Sequential, functional and nested models from them (for ``.keras`` files and
``model_from_json`` alike), and ``compile_from_keras`` the compile settings.
Every setting is either carried over, known to be
harmless at its value (``sparse: false``, ``quantization_config: null``...), or
refused with an error naming the layer, the setting and its value: nothing a
Keras model does is silently dropped, so a loaded model predicts what Keras did.

Initializers are the one lenient case: the saved weights overwrite whatever an
initializer drew, so a Keras initializer glassnet lacks falls back to glassnet's
default (it matters only if the layer is re-initialised later).
"""

from __future__ import annotations

import inspect

from glassnet import activations as gnactivations
from glassnet import constraints as gnconstraints
from glassnet import initializers as gninitializers
from glassnet import layers as gnlayers
from glassnet import losses as gnlosses
from glassnet import optimizers as gnoptimizers
from glassnet import regularizers as gnregularizers
from glassnet.errors import FileFormatError, GlassnetError

SUPPORTED_LAYERS = ("Activation", "BatchNormalization", "Dense", "Dropout", "Flatten",
                    "GaussianNoise", "InputLayer", "LeakyReLU", "Normalization", "ReLU",
                    "Rescaling", "Softmax")
_ANY = object()
# Keras settings glassnet has no counterpart for, with the values at which they change
# nothing (``_ANY``: no value changes predictions or training).
_HARMLESS = {
    "name": _ANY, "trainable": _ANY, "dtype": _ANY, "registered_name": _ANY,
    "sparse": False, "ragged": False, "optional": False, "input_tensor": None,
    "activity_regularizer": None, "quantization_config": None, "lora_rank": None,
    "lora_alpha": _ANY, "noise_shape": None, "data_format": (None, "channels_last"),
    "reduction": "sum_over_batch_size", "axis": -1, "label_smoothing": 0.0,
    "ignore_class": None, "use_ema": False, "ema_momentum": _ANY,
    "ema_overwrite_frequency": _ANY, "loss_scale_factor": None,
    "gradient_accumulation_steps": None, "input_axes": None, "output_axes": None,
}
_ACTIVATION_ALIASES = {"swish": "silu"}


def _fail(where: str, message: str) -> FileFormatError:
    return FileFormatError(f"{where}: {message}")


def _harmless(key, value) -> bool:
    allowed = _HARMLESS.get(key, ())
    if allowed is _ANY:
        return True
    return value in allowed if isinstance(allowed, tuple) else value == allowed


def _accepted_keywords(cls) -> set[str]:
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        names |= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                           p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return names - {"self"}


def _kwargs_for(cls, config: dict, where: str, what: str) -> dict:
    """The Keras settings glassnet's ``cls`` takes; the rest must be harmless."""
    accepted = _accepted_keywords(cls)
    kwargs = {}
    for key, value in config.items():
        if key in accepted and key != "name":
            kwargs[key] = value
        elif not _harmless(key, value):
            raise _fail(where, f"{what} setting {key}={value!r} is not supported by glassnet")
    return kwargs


# Each module's name-keyed table; Keras names the classes in its files.
_TABLES = {gninitializers: gninitializers.INITIALIZERS, gnregularizers: gnregularizers.REGULARIZERS,
           gnconstraints: gnconstraints.CONSTRAINTS, gnlosses: gnlosses.LOSSES,
           gnoptimizers: gnoptimizers.OPTIMIZERS}


def _object(module, spec, where: str, what: str, lenient: bool = False):
    """A glassnet initializer/regularizer/constraint/loss/optimizer from a Keras spec."""
    if spec is None or isinstance(spec, str):
        try:
            return module.get(spec)
        except GlassnetError as exc:
            if lenient:
                return None
            raise _fail(where, f"Keras {what} {spec!r} has no glassnet counterpart "
                               f"({exc})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("config", {}), dict):
        raise _fail(where, f"malformed Keras {what} {spec!r}")
    class_name = spec.get("class_name")
    cls = {c.__name__: c for c in _TABLES[module].values()}.get(class_name)
    if cls is None:
        if lenient:
            return None
        raise _fail(where, f"Keras {what} {class_name!r} has no glassnet counterpart")
    try:
        return cls(**_kwargs_for(cls, spec.get("config", {}), where, f"{what} {class_name}"))
    except (GlassnetError, TypeError, ValueError) as exc:
        raise _fail(where, f"Keras {what} {class_name} could not be rebuilt: {exc}") from None


def _activation(spec, where: str) -> str:
    if isinstance(spec, dict):  # a serialized built-in function
        spec = spec.get("config") if isinstance(spec.get("config"), str) else spec
    if spec is None:
        return "linear"
    name = _ACTIVATION_ALIASES.get(spec, spec) if isinstance(spec, str) else spec
    if name not in gnactivations.ACTIVATIONS:
        raise _fail(where, f"activation {spec!r} is not one glassnet has (it has "
                           f"{', '.join(sorted(gnactivations.ACTIVATIONS))})")
    return name


def _dtype(spec, where: str) -> str | None:
    if isinstance(spec, dict):  # a DTypePolicy
        spec = (spec.get("config") or {}).get("name")
    if spec is None:
        return None
    if spec not in ("float16", "float32", "float64"):
        raise _fail(where, f"dtype policy {spec!r} is not supported (float16, float32 or "
                           f"float64)")
    return spec


def _check_keys(config: dict, handled: set[str], where: str, what: str) -> None:
    for key, value in config.items():
        if key not in handled and not _harmless(key, value):
            raise _fail(where, f"{what} setting {key}={value!r} is not supported by glassnet")


def _dense(config, where):
    _check_keys(config, {"units", "activation", "use_bias", "kernel_initializer",
                         "bias_initializer", "kernel_regularizer", "bias_regularizer",
                         "kernel_constraint", "bias_constraint"}, where, "Dense")
    initializer = {key: _object(gninitializers, config.get(key), where, "initializer",
                                lenient=True) for key in ("kernel_initializer",
                                                          "bias_initializer")}
    return gnlayers.Dense(
        config["units"], activation=_activation(config.get("activation"), where),
        use_bias=config.get("use_bias", True),
        kernel_initializer=initializer["kernel_initializer"] or "glorot_uniform",
        bias_initializer=initializer["bias_initializer"] or "zeros",
        kernel_regularizer=_object(gnregularizers, config.get("kernel_regularizer"), where,
                                   "regularizer"),
        bias_regularizer=_object(gnregularizers, config.get("bias_regularizer"), where,
                                 "regularizer"),
        kernel_constraint=_object(gnconstraints, config.get("kernel_constraint"), where,
                                  "constraint"),
        bias_constraint=_object(gnconstraints, config.get("bias_constraint"), where,
                                "constraint"),
        **_common(config, where))


def _common(config, where) -> dict:
    return {"name": config.get("name"), "trainable": config.get("trainable", True),
            "dtype": _dtype(config.get("dtype"), where)}


def _activation_layer(config, where):
    _check_keys(config, {"activation"}, where, "Activation")
    return gnlayers.Activation(_activation(config.get("activation"), where),
                               **_common(config, where))


def _dropout(config, where):
    _check_keys(config, {"rate", "seed"}, where, "Dropout")
    return gnlayers.Dropout(config["rate"], seed=config.get("seed"), **_common(config, where))


def _flatten(config, where):
    _check_keys(config, set(), where, "Flatten")
    return gnlayers.Flatten(**_common(config, where))


def _normalization(config, where, input_rank):
    _check_keys(config, {"axis", "mean", "variance", "invert"}, where, "Normalization")
    axis = config.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if axis in ([], None):  # Keras saves axis=None as ()
        return gnlayers.Normalization(axis=None, mean=config.get("mean"),
                                      variance=config.get("variance"),
                                      invert=config.get("invert", False),
                                      **_common(config, where))
    if axis not in (-1, input_rank - 1):
        raise _fail(where, f"Normalization over axis {config.get('axis')!r} is not supported "
                           f"(glassnet normalizes the last axis)")
    return gnlayers.Normalization(mean=config.get("mean"), variance=config.get("variance"),
                                  invert=config.get("invert", False), **_common(config, where))


# Keras BatchNormalization settings glassnet has not, harmless at these values.
_BATCH_NORM_DEFAULTS = {"renorm": False, "renorm_clipping": None, "renorm_momentum": _ANY,
                        "synchronized": False}
_OBJECT_KEYS = (("_initializer", gninitializers, "initializer"),
                ("_regularizer", gnregularizers, "regularizer"),
                ("_constraint", gnconstraints, "constraint"))


def _settings_layer(class_name, config, where):
    """The layers whose Keras settings are glassnet's own keyword arguments."""
    cls = gnlayers.LAYERS[class_name]
    config = dict(config)
    if class_name == "BatchNormalization":
        for key, harmless in _BATCH_NORM_DEFAULTS.items():
            value = config.pop(key, harmless)
            if harmless is not _ANY and value != harmless:
                raise _fail(where, f"BatchNormalization setting {key}={value!r} is not "
                                   f"supported by glassnet")
    common = _common(config, where)
    kwargs = _kwargs_for(cls, {k: v for k, v in config.items()
                               if k not in ("trainable", "dtype")}, where, class_name)
    for key, value in kwargs.items():
        for suffix, module, what in _OBJECT_KEYS:
            if key.endswith(suffix):
                lenient = what == "initializer"
                kwargs[key] = _object(module, value, where, what, lenient=lenient) or \
                    inspect.signature(cls.__init__).parameters[key].default
    return cls(**kwargs, **common)


def _input_shape(layer_config: dict, where: str) -> tuple:
    shape = layer_config.get("batch_shape", layer_config.get("batch_input_shape"))
    if not isinstance(shape, list) or len(shape) < 2 or \
            not all(isinstance(d, int) and d > 0 for d in shape[1:]):
        raise _fail(where, f"input shape {shape!r} is not a fixed shape glassnet can build")
    return tuple(shape[1:])


def _losses(spec, where: str):
    """One loss, or a several-output model's list or dict by output name of them (Keras
    stores them as ``compile`` was given them)."""
    def one(item):
        return _object(gnlosses, item, where, "loss") if item is not None else None

    if isinstance(spec, dict) and "class_name" not in spec:
        return {name: one(item) for name, item in spec.items()}
    if isinstance(spec, list):
        return [one(item) for item in spec]
    return one(spec)


def compile_from_keras(model, compile_config: dict, where: str) -> None:
    """Compile ``model`` with the optimizer, loss and metrics of a Keras compile_config."""
    if not isinstance(compile_config, dict):
        raise _fail(where, f"malformed compile_config {compile_config!r}")
    _check_keys(compile_config, {"optimizer", "loss", "metrics", "loss_weights",
                                 "weighted_metrics", "run_eagerly", "steps_per_execution",
                                 "jit_compile"}, where, "compile")
    if compile_config.get("weighted_metrics") is not None:
        raise _fail(where, f"compile setting weighted_metrics="
                           f"{compile_config['weighted_metrics']!r} is not supported by "
                           f"glassnet (load with compile=False)")
    optimizer = _object(gnoptimizers, compile_config.get("optimizer") or "rmsprop", where,
                        "optimizer")
    loss = _losses(compile_config.get("loss"), where)
    metrics = compile_config.get("metrics") or []
    loss_weights = compile_config.get("loss_weights")
    try:
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics,
                      loss_weights=loss_weights)
    except (GlassnetError, TypeError, ValueError) as exc:
        raise _fail(where, f"the compile settings cannot be used in glassnet ({exc}); load "
                           f"with compile=False") from None

