"""Watch a ``torch.nn.Module`` in a plain PyTorch loop: ``run.watch(module)``, ``run.step``.

::

    run = gn.track.init("digits")
    run.watch(model, log_freq=100, histograms=True, snapshots="end", include=None)
    for xb, yb in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        run.step(loss=loss)            # once per optimizer step, after optimizer.step()
    run.finish()                       # last rows written; every hook removed

Recorded under the keys of glassnet's own watch (:mod:`glassnet.track.watch`):

- every step: ``loss`` (and any number passed as ``run.step(loss=..., name=value)``,
  at logged steps);
- every ``log_freq`` steps, per parameter (weight and bias apart): count, mean, std,
  min, max, L2 norm and share negative of its value and of its gradient (``.grad``
  as ``backward`` left it), the update ratio ‖ΔW‖/‖W‖ of the step's update, and a
  64-bin histogram; per layer, the share of dead ReLU units (output 0 for the whole
  batch) and of saturated sigmoid/tanh units, from forward hooks attached only for
  the forward of a logged step. Per-layer backward and update times are not measured
  (NaN);
- snapshots: ``"end"``, ``"epoch"`` (treated as ``"end"``: a plain loop has no epochs),
  every N steps, or None; with any, one at step -1 before the first update.

Orientation: an ``nn.Linear``'s ``weight`` is (out, in); glassnet's kernel is (in, out).
Snapshots hold every Linear weight **transposed**, in glassnet's orientation (the
statistics do not depend on it). An ``nn.Sequential`` of Linear and activation modules
is recorded as the equivalent glassnet model (paths ``dense/kernel``, ``dense/bias``,
``dense_1/kernel``...; its config is the architecture), so the network picture, the
ten tables, ``glassnet diagnose`` and ``trace`` work on the run. Any other module is
recorded by its own parameter names (``fc1.weight``...), without an architecture.
``include`` (glob patterns on PyTorch's parameter names, e.g. ``["0.*", "*.bias"]``)
selects which parameters get statistics; snapshots keep every parameter.

Cost: an unlogged step costs one call and a list append. On the CPU a logged step is
kept as glassnet's own watch keeps one (:mod:`glassnet.track.torch_offer`): its
parameters and gradients copied into a buffer set in one ``torch._foreach_copy_`` each,
the sets summarised by the same code, in the statistics process when the watch logs
every 4th step or more often. On another device (CUDA) the steps are kept and
summarised there with torch ops (:mod:`glassnet.track.torch_stats`); only the (k, 14)
statistics and (k, 64) histogram counts are copied to the host.
"""

from __future__ import annotations

import fnmatch
import time

import numpy as np

from glassnet.errors import ConfigError
from glassnet.track.batch_stats import UNIT_STATS
from glassnet.track.observe import Recorder, check_options

_FLUSH_SECONDS = 0.25  # the writer gets every row within a quarter second


class TorchWatch:
    """Records a torch module into a run; made by ``run.watch(module)``, fed by ``run.step``."""

    def __init__(self, run, module, log_freq: int = 100, histograms: bool = True,
                 snapshots="end", include=None, timings: bool = False) -> None:
        import torch

        self.log_freq = check_options(log_freq, snapshots)
        if isinstance(include, str):
            include = [include]
        self.include = None if include is None else list(include)
        self.module, self.histograms, self.snapshots = module, bool(histograms), snapshots
        self.timings = bool(timings)
        self._snapshot_every = snapshots if isinstance(snapshots, int) and not isinstance(
            snapshots, bool) else 0
        self._torch = torch
        self._cuda = any(p.is_cuda for p in module.parameters())
        self.step_count = 0  # the next optimizer step
        self._mapped = _layout(module)  # {torch name: glassnet path}, layers, config
        names, layers, config, timed = self._mapped
        params = dict(module.named_parameters())
        chosen = [n for n in params if self.include is None
                  or any(fnmatch.fnmatchcase(n, pattern) for pattern in self.include)]
        if self.include is not None and not chosen:
            raise ConfigError(f"watch include={self.include!r} matches no parameter of the "
                              f"module (its parameters: {', '.join(params) or 'none'})")
        self._params = [params[n] for n in chosen]
        self._linear_weights = {f"{n}.weight" for n, m in module.named_modules()
                                if isinstance(m, torch.nn.Linear)}
        self._unit_modules = [(name, activation, m) for name, activation, m in layers
                              if activation in UNIT_STATS]  # hooked at logged steps
        self._timed = timed if self.timings else []  # [(layer, last module, its parameters)]
        self._stamps: dict[str, list[float]] = {}  # layer: [backward start, last grad ready]
        paths = [names.get(n, n) for n in chosen]
        self.recorder = Recorder(run, paths, [name for name, _, _ in layers])
        self.recorder.architecture(config)
        self.recorder.framework("PyTorch", torch.__version__)
        self._steps = _step_sink(torch, run, self.recorder, self._params, paths,
                                 [(name, activation) for name, activation, _ in layers],
                                 self.histograms, self.log_freq)
        self._losses: list = []
        self._losses_on_host = all(p.device.type == "cpu" for p in module.parameters())
        self._loss_start = 0
        self._next_event = 0
        self._handed_at = time.time()
        self._hooks: list = []
        self._outputs: dict[str, object] = {}  # unit layer: its output of a logged step
        if snapshots is not None:
            self._snapshot(-1, "init")
        self._prepare(0)

    # -- per step -------------------------------------------------------------------
    def step(self, loss=None, logs=None) -> None:
        """One optimizer step is done: ``loss`` its batch loss (a tensor or number)."""
        if loss is not None:
            try:  # on the CPU a float at once (cheaper than keeping a tensor); on a GPU
                # the tensor, read with the others at a hand-over (no sync each step)
                loss = loss.item() if self._losses_on_host else loss.detach()
            except (AttributeError, RuntimeError):
                loss = _loss_number(loss)  # a number, or a clear error (no step counted)
        step = self.step_count
        self.step_count = step + 1
        if loss is not None:
            if not self._losses:
                self._loss_start = step
            self._losses.append(loss)
        if step >= self._next_event or time.time() - self._handed_at > _FLUSH_SECONDS:
            self._event(step, logs or {})  # most steps end above

    def _event(self, step: int, logs: dict) -> None:
        """A step that is logged, precedes a logged one, saves a snapshot or hands over."""
        full = False
        if step % self.log_freq == 0:
            full = self._keep(step, logs)
        if self._snapshot_every and step % self._snapshot_every == 0:
            self._snapshot(step, "step")
        if full or time.time() - self._handed_at > _FLUSH_SECONDS:
            self._hand_over()
        self._prepare(step + 1)

    def _prepare(self, step: int) -> None:
        """Before a logged step: keep W (for ‖ΔW‖) and hook the activations' forward;
        and the next step that is an event."""
        every = self.log_freq
        # the next logged step, or the one before it (which prepares it)
        self._next_event = min(step + (-step) % every, step + (-step - 1) % every)
        if self._snapshot_every:
            self._next_event = min(self._next_event, step + (-step) % self._snapshot_every)
        if step % every:
            return
        self._steps.prepare(step)
        self._outputs, self._stamps = {}, {}
        if self._hooks:
            return  # still attached: log_freq 1
        for name, _, module in self._unit_modules:
            self._hooks.append(module.register_forward_hook(self._hook(name)))
        for name, last, parameters in self._timed:
            self._hooks.append(last.register_forward_hook(self._start_clock(name)))
            for parameter in parameters:
                self._hooks.append(parameter.register_hook(self._stop_clock(name)))

    def _start_clock(self, name: str):
        """The layer's backward starts when the gradient of its output arrives."""
        synchronize = self._synchronize

        def on_output_gradient(grad):
            synchronize()
            self._stamps[name] = [time.perf_counter(), float("nan")]

        def on_forward(module, inputs, output):
            if getattr(output, "requires_grad", False):
                output.register_hook(on_output_gradient)
        return on_forward

    def _stop_clock(self, name: str):
        """...and ends when the last of its parameters' gradients is computed."""
        synchronize = self._synchronize

        def on_parameter_gradient(grad):
            stamps = self._stamps.get(name)
            if stamps is not None:
                synchronize()
                stamps[1] = time.perf_counter()
        return on_parameter_gradient

    def _synchronize(self) -> None:
        """On a GPU, kernels run after their launch: wait for them before reading a clock."""
        if self._cuda:
            self._torch.cuda.synchronize()

    def _hook(self, name: str):
        def keep_output(module, inputs, output):
            # kept as it is: ReLU, sigmoid and tanh save their output for backward, so
            # autograd refuses any change to it before the step is done
            if getattr(output, "ndim", 0) == 2 and output.shape[0]:
                self._outputs[name] = output.detach()
        return keep_output

    def _unhook(self) -> None:
        hooks, self._hooks = self._hooks, []
        for handle in hooks:
            handle.remove()

    def _keep(self, step: int, logs: dict) -> bool:
        """Copy what a logged step needs; True when the kept steps should go."""
        if self.log_freq > 1:
            self._unhook()
        backward = {name: stop - start for name, (start, stop) in self._stamps.items()}
        full = self._steps.keep(step, {k: _number(v) for k, v in logs.items()},
                                self._outputs, backward, time.time())
        self._outputs, self._stamps = {}, {}
        return full

    # -- rows -----------------------------------------------------------------------
    def _hand_over(self, last: bool = False) -> None:
        """Send the kept steps to be summarised and give the recorder the losses."""
        self._steps.send(last)
        if self._losses:
            self.recorder.losses(self._loss_start, _floats(self._torch, self._losses))
            self._losses = []
        self.recorder.flush()
        self._handed_at = time.time()

    def _snapshot(self, step: int, label: str) -> None:
        names = self._mapped[0]
        arrays = {}
        for name, tensor in self.module.state_dict().items():
            array = tensor.detach().cpu().numpy().copy()
            if name in self._linear_weights:
                array = np.ascontiguousarray(array.T)  # glassnet's (in, out)
            arrays[names.get(name, name)] = array
        self.recorder.snapshot(step, label, arrays)

    def finish(self) -> None:
        """Write what is left and remove every hook (``run.finish()`` calls it)."""
        self._unhook()
        self._hand_over(last=True)
        self.recorder.close()  # every queued summary with the store before the run ends
        self._steps.release()
        if self.snapshots is not None and self.step_count > 0:
            self._snapshot(self.step_count - 1, "end")


def _step_sink(torch, run, recorder, params, paths, layers, histograms, log_freq):
    """Where logged steps are kept and summarised: as glassnet's own watch keeps them
    when the parameters are CPU floats, else on their device."""
    from glassnet.track.torch_offer import HostSteps, host_dtype

    dtype = host_dtype(torch, params) if params else np.float32
    if dtype is not None and all(p.device.type == "cpu" for p in params):
        return HostSteps(torch, run, recorder, params, paths, layers, dtype, histograms,
                         log_freq)
    from glassnet.track.torch_stats import DeviceSteps

    return DeviceSteps(torch, recorder, params, layers, histograms)


def _floats(torch, losses: list) -> list[float]:
    """The batch losses as floats: one stack and one copy to the host for all of them."""
    if not isinstance(losses[0], torch.Tensor):
        return losses  # floats already (a CPU loop)
    try:
        return torch.stack(losses).to(torch.float64).cpu().tolist()
    except (RuntimeError, TypeError):  # other shapes (1,), devices, numbers among them
        return [_number(v) for v in losses]


def _loss_number(loss) -> float:
    """``run.step``'s loss as a float, or ConfigError saying what was given."""
    try:
        return _number(loss)
    except (TypeError, ValueError, RuntimeError):
        shape = getattr(loss, "shape", None)
        given = f"a tensor of shape {tuple(shape)}" if shape is not None else repr(loss)
        raise ConfigError(f"run.step(loss=...) takes the batch's loss, one number; "
                          f"got {given}") from None


def _number(value) -> float:
    return float(value.detach().cpu()) if hasattr(value, "detach") else float(value)


def _layout(module):
    """``({torch name: glassnet path}, [(layer, activation, activation module)], config)``.

    An nn.Sequential glassnet can convert maps to the converted model's paths and
    config; any other module keeps its names, and its ReLU/Sigmoid/Tanh modules are
    the layers of the dead and saturated shares."""
    from glassnet.io.frameworks import from_torch, torch_plan

    try:
        plan = torch_plan(module)
    except ConfigError:
        return {}, _activation_modules(module), None, []
    names, layers, timed = {}, [], []
    for step in plan:
        if step["kind"] != "dense":
            continue
        names[f"{step['torch_name']}.weight"] = f"{step['name']}/kernel"
        names[f"{step['torch_name']}.bias"] = f"{step['name']}/bias"
        layers.append((step["name"], step["activation"], step["activation_module"]))
        linear = step["linear"]
        last = step["activation_module"] or linear
        timed.append((step["name"], last, [p for p in (linear.weight, linear.bias)
                                           if p is not None and p.requires_grad]))
    config = from_torch(module).get_config()
    return names, layers, config, timed


def _activation_modules(module):
    import torch

    kinds = {torch.nn.ReLU: "relu", torch.nn.Sigmoid: "sigmoid", torch.nn.Tanh: "tanh"}
    found = []
    for name, child in module.named_modules():
        for cls, activation in kinds.items():
            if isinstance(child, cls):
                found.append((name, activation, child))
    return found
