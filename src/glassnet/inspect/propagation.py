"""Forward and backward propagation layer by layer, in float64, keeping every number.

Inspection wants every x, z, a, dz, dW and db of every layer. It gets them from the
layers themselves: each layer of a float64 replica of the model (so the model is not
touched) runs its own ``forward(x, keep=True)`` and ``backward`` — the code ``fit``
runs — and the pass copies what the layer kept (``layer.kept()``) and its weights'
gradients as it goes. There is no second copy of the math here; what is here is the
bookkeeping: the order of the layers (a graph's, a nested model's in place), which
pass reads which, gradients summed where a tensor feeds several layers.

By default the layers run their inference function (Dropout off, BatchNormalization
on its moving statistics) and its gradient; ``training=True`` runs the training pass
``train_on_batch`` would run, with the masks it would draw next.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from glassnet import random as gnrandom
from glassnet._engine.fusion import fused_output
from glassnet.errors import ConfigError, NotBuiltError, NotCompiledError

# What a layer's kept() may name besides its extras: read into the pass's own fields.
_FIELDS = ("x", "z", "a", "dz")


@dataclass
class LayerPass:
    """One layer's numbers for a batch: inputs, weights, pre-activation, output, gradients."""

    name: str
    kind: str                   # the layer's class, for display: "Dense", "Dropout"...
    activation: str | None
    x: np.ndarray               # (n_samples, n_in)
    a: np.ndarray               # (n_samples, n_out)
    z: np.ndarray | None = None  # pre-activation (Dense, Activation)
    W: np.ndarray | None = None
    b: np.ndarray | None = None
    da: np.ndarray | None = None
    dz: np.ndarray | None = None
    dW: np.ndarray | None = None
    db: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)  # passes this one reads; -1 is the input
    layer: object = field(default=None, repr=False, compare=False)  # the layer that ran
    run: tuple | None = field(default=None, repr=False, compare=False)  # (replica, token)

    @property
    def has_kernel(self) -> bool:
        """Whether the layer is an affine map z = x·W (+ b): Dense's arithmetic applies."""
        return self.W is not None


def require_one_input_and_output(model, what: str) -> None:
    """Refuse, by name, a functional model with several inputs or outputs."""
    if getattr(model, "multi_input", False) or getattr(model, "multi_output", False):
        ins, outs = len(model.inputs), len(model.outputs)
        raise ConfigError(f"model {model.name!r} has {ins} input{'s' * (ins != 1)} and "
                          f"{outs} output{'s' * (outs != 1)}; {what} follows models of one "
                          f"input and one output (branches and merges between them are "
                          f"fine); glassnet.inspect.gradients works on it")


def forward(model, x, training: bool = False) -> list[LayerPass]:
    """Run ``x`` through every layer, keeping every number (see the module doc).

    A functional model's layers are visited in graph order, a nested model's layers
    in place of it; each pass's ``sources`` lists the passes it reads (-1: the input).
    """
    if not getattr(model, "built", False):
        raise NotBuiltError(f"model {model.name!r} is not built: give it an Input or call it "
                            f"on data before inspecting it")
    require_one_input_and_output(model, "the layer-by-layer trace")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(1, -1) if model.input_shape[-1] == x.shape[0] else x.reshape(-1, 1)
    x = np.ascontiguousarray(x)
    passes: list[LayerPass] = []
    with _global_generator_untouched():
        replica = _replica(model)
    run = _CURRENT_RUN[replica] = object()  # backward checks it is still this run
    with _global_generator_untouched():
        _run_model(replica, x, -1, passes, bool(training))
    for p in passes:
        p.run = (replica, run)
    return passes


def _run_model(model, x, source: int, passes: list[LayerPass],
               training: bool) -> tuple[np.ndarray, int]:
    """Append the passes of ``model`` on ``x`` (made by pass ``source``); return its
    output and the index of the pass that made it."""
    from glassnet.models.sequential import Sequential

    if isinstance(model, Sequential):  # each layer reads the one before
        for layer in model.layers:
            x, source = _run_layer(layer, [x], [source], passes, False, training)
        return x, source
    nodes = model.nodes
    made = {id(nodes[0].output): (x, source)}
    for node in nodes[1:]:
        inputs = [made[id(t)] for t in node.inputs]
        made[id(node.output)] = _run_layer(node.layer, [v for v, _ in inputs],
                                           [i for _, i in inputs], passes,
                                           node.takes_list, training)
    return made[id(nodes[-1].output)]


def _run_layer(layer, inputs, sources, passes, takes_list,
               training) -> tuple[np.ndarray, int]:
    from glassnet.models.functional import Model

    if isinstance(layer, Model):  # a model nested as a layer: its layers, in place
        return _run_model(layer, inputs[0], sources[0], passes, training)
    a = layer.forward(inputs if takes_list else inputs[0], training=training, keep=True)
    kept = layer.kept()
    kernel, bias = getattr(layer, "kernel", None), getattr(layer, "bias", None)
    p = LayerPass(layer.name, type(layer).__name__, getattr(layer, "activation_name", None),
                  _copy(np.concatenate(inputs, -1) if takes_list else inputs[0]), _copy(a),
                  z=_copy(kept.get("z")),
                  W=None if kernel is None else _copy(kernel.value),
                  b=None if bias is None else _copy(bias.value),
                  extra={k: _copy(v) for k, v in kept.items() if k not in _FIELDS},
                  sources=list(sources), layer=layer)
    if takes_list:
        p.extra["inputs"] = [_copy(v) for v in inputs]
    passes.append(p)
    return a, len(passes) - 1


def output_gradient(model, passes: list[LayerPass], y, sample_weight=None) -> tuple[float, bool]:
    """Loss of the last output against ``y``; fill the last pass's ``dz`` (fused) or ``da``.

    Returns ``(loss, fused)``. Fused or not is the training loop's rule
    (``_engine/fusion.py``): sigmoid/softmax + cross-entropy give dL/dz = w (p - y) / n
    directly; any other pair goes through dL/da, then the layer's own backward.
    """
    loss = getattr(model, "loss", None)
    if loss is None:
        raise NotCompiledError(f"model {model.name!r} has no loss: compile it (or pass "
                               f"loss=) before tracing the backward pass")
    last = passes[-1]
    output = last.a
    targets = loss.prepare_targets(np.asarray(y), output.shape)
    if targets.dtype.kind == "f":
        targets = targets.astype(np.float64)
    weights = None if sample_weight is None else np.asarray(sample_weight, np.float64).reshape(-1)
    grad = np.empty_like(output)
    fused = fused_output(loss, _output_layer(model)) is not None
    if fused:
        value = loss.fused_value_and_grad(targets, output, weights, grad)
        last.dz, last.da = grad, None
    else:
        value = loss.value_and_grad(targets, output, weights, grad)
        last.da, last.dz = grad, None
    # As the training loop: the penalties of the trainable weights.
    value += sum(float(v.regularizer.penalty(v.value)) for v in model.trainable_variables
                 if v.regularizer is not None)
    return value, fused


def backward(model, passes: list[LayerPass]) -> np.ndarray:
    """Propagate the last pass's ``dz`` or ``da`` back to the input; return dL/dx.

    Each layer runs its own backward (from dz where the loss fused with it); each pass
    gets ``da``, the ``dz`` the layer kept, and its weights' gradients (``dW``, ``db``,
    all of them in ``extra["grads"]``; regularizer gradients included, as in training).
    Where a pass feeds several others, its ``da`` is the sum of what they send back.
    """
    replica, run = passes[0].run if passes and passes[0].run else (None, None)
    if replica is not None and _CURRENT_RUN.get(replica) is not run:
        raise ConfigError(f"these passes of model {model.name!r} are stale: forward ran "
                              f"again on the model since; run forward again before backward")
    arriving: dict[int, np.ndarray] = {}
    for i in range(len(passes) - 1, -1, -1):
        p = passes[i]
        layer = p.layer
        if p.da is None and p.dz is not None:  # given dL/dz: a fused loss, a seed
            grads = layer.backward_from_z(np.array(p.dz), need_dx=True)
        else:
            p.da = arriving.pop(i, None) if p.da is None else p.da
            if p.da is None:  # this pass does not reach the loss
                continue
            # A copy to the layer: it may write dz over the da it is given.
            grads = layer.backward(np.array(p.da), need_dx=True)
        _read_gradients(p, layer)
        for source, grad in zip(p.sources, grads if isinstance(grads, list) else [grads]):
            arriving[source] = _copy(grad) if source not in arriving else arriving[source] + grad
    return arriving.get(-1)


def _read_gradients(p: LayerPass, layer) -> None:
    dz = layer.kept().get("dz")
    if dz is not None:
        p.dz = _copy(dz)
    kernels, biases = layer.weights_and_biases()
    if kernels or biases:
        p.extra["grads"] = {v.name: _copy(v.grad) for v in kernels + biases}
    if p.W is not None:
        p.dW = _copy(layer.kernel.grad)
        if p.b is not None:
            p.db = _copy(layer.bias.grad)


def _output_layer(model):
    """The layer whose output is the model's (what the training loop fuses with the loss)."""
    from glassnet.models.sequential import Sequential

    return model.layers[-1] if isinstance(model, Sequential) else model.nodes[-1].layer


def _copy(value):
    return None if value is None else np.array(value, dtype=np.float64, copy=True)


# -- the replica -----------------------------------------------------------------------
# A float64 copy of a model, kept while the model lives for the next call in the same
# thread (diagnose, importance and check_gradients make many passes; copying W3's
# network costs a third of a second): rebuilt when the model's config changes, its
# weights brought up to date at every call. Per thread, so that two threads never
# run one replica's layers at once.
_REPLICAS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {thread: ..}
_CURRENT_RUN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # replica -> token


def _replica(model):
    from glassnet.inspect.gradcheck import float64_copy

    config = repr((model.get_config(), model.get_compile_config()
                   if getattr(model, "loss", None) is not None else None))
    per_thread = _REPLICAS.setdefault(model, {})
    entry = per_thread.get(threading.get_ident())
    if entry is None or entry[0] != config:
        entry = per_thread[threading.get_ident()] = (config, float64_copy(model))
    replica = entry[1]
    replica.set_weights([np.asarray(w, dtype=np.float64) for w in model.get_weights()])
    for original, copy in zip(_every_layer(model), _every_layer(replica), strict=True):
        if original.generator is not None:  # a seeded layer draws what the model's would
            copy.generator.bit_generator.state = original.generator.bit_generator.state
    return replica


def _every_layer(model):
    """The layers of ``model`` in order, a nested model's in place of it."""
    from glassnet.models.functional import Model

    for layer in model.layers:
        if isinstance(layer, Model):
            yield from _every_layer(layer)
        else:
            yield layer


@contextmanager
def _global_generator_untouched():
    """Leave glassnet's global generator as it was: building the replica draws initial
    weights, a training pass draws Dropout masks; neither should change what the
    model's own next step draws (it then draws the very masks the trace showed)."""
    generator = gnrandom.generator()
    state = generator.bit_generator.state
    try:
        yield
    finally:
        generator.bit_generator.state = state
