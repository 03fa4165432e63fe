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

Cost: statistics are computed with torch ops on the parameters' device; only the
(k, 14) statistics and (k, 64) histogram counts are copied. An unlogged step costs
one call and a list append.
"""

from __future__ import annotations

import fnmatch
import time

import numpy as np

from glassnet.errors import ConfigError
from glassnet.track.observe import N_LAYER_COLUMNS, LoggedStep, Recorder, check_options
from glassnet.track.torch_stats import TorchStats

_DEAD = {"relu"}
_SATURATED = {
    "sigmoid": lambda lo, hi: (lo > 0.99) | (hi < 0.01),
    "tanh": lambda lo, hi: (lo > 0.99) | (hi < -0.99),
}
_FLUSH_SECONDS = 0.25  # the writer gets every row within a quarter second...
_MAX_ROWS = 32  # ...and kept steps are summarised this many at a time


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
        self._names = chosen
        self._params = [params[n] for n in chosen]
        self._linear_weights = {f"{n}.weight" for n, m in module.named_modules()
                                if isinstance(m, torch.nn.Linear)}
        self._unit_modules = layers  # [(layer name, activation, module)]
        self._timed = timed if self.timings else []  # [(layer, last module, its parameters)]
        self._stamps: dict[str, list[float]] = {}  # layer: [backward start, last grad ready]
        self.recorder = Recorder(run, [names.get(n, n) for n in chosen],
                                 [name for name, _, _ in layers])
        self.recorder.architecture(config)
        self.recorder.framework("PyTorch", torch.__version__)
        self._stats = TorchStats(self._params, _MAX_ROWS) if self._params else None
        self._pending: list[tuple] = []  # (step, time, activation ranges, logs) kept
        self._losses: list = []
        self._loss_start = 0
        self._handed_at = time.time()
        self._hooks: list = []
        self._ranges: dict[str, tuple] = {}
        if snapshots is not None:
            self._snapshot(-1, "init")
        self._prepare(0)

    # -- per step -------------------------------------------------------------------
    def step(self, loss=None, logs=None) -> None:
        """One optimizer step is done: ``loss`` its batch loss (a tensor or number)."""
        step = self.step_count
        self.step_count = step + 1
        if loss is not None:
            if not self._losses:
                self._loss_start = step
            self._losses.append(loss.detach() if hasattr(loss, "detach") else float(loss))
        logged = step % self.log_freq == 0
        if logged:
            self._keep(step, logs or {})
        if self._snapshot_every and step % self._snapshot_every == 0:
            self._snapshot(step, "step")
        now = time.time()
        if len(self._pending) == _MAX_ROWS or now - self._handed_at > _FLUSH_SECONDS:
            self._hand_over()
        self._prepare(step + 1, just_kept=logged)

    def _prepare(self, step: int, just_kept: bool = False) -> None:
        """Before a logged step: keep W (for ‖ΔW‖) and hook the activations' forward.

        ``just_kept``: this step's W was kept a moment ago, as the last step's values
        (log_freq 1); the buffer row before already holds it."""
        if step % self.log_freq:
            return
        if self._stats is not None:
            row = len(self._pending)
            if not (just_kept and self._stats.previous_is_kept(row)):
                self._stats.keep_previous(row, self._params)
        self._ranges, self._stamps = {}, {}
        if self._hooks:
            return  # still attached: log_freq 1
        for name, activation, module in self._unit_modules:
            if activation in _DEAD or activation in _SATURATED:
                self._hooks.append(module.register_forward_hook(self._hook(name, activation)))
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

    def _hook(self, name: str, activation: str):
        def keep_range(module, inputs, output):
            if getattr(output, "ndim", 0) == 2 and output.shape[0]:
                out = output.detach()
                low = None if activation in _DEAD else out.amin(0)
                self._ranges[name] = (low, out.amax(0))
        return keep_range

    def _unhook(self) -> None:
        hooks, self._hooks = self._hooks, []
        for handle in hooks:
            handle.remove()

    def _keep(self, step: int, logs: dict) -> None:
        """Copy what a logged step needs (on the device); summarised later, many at once."""
        if self.log_freq > 1:
            self._unhook()
        if self._stats is not None:
            self._stats.keep(len(self._pending), self._params,
                             [p.grad for p in self._params])
        timings = {name: stop - start for name, (start, stop) in self._stamps.items()}
        self._pending.append((step, time.time(), self._ranges,
                              {k: _number(v) for k, v in logs.items()}, timings))
        self._ranges, self._stamps = {}, {}

    def _layer_rows(self, pending) -> np.ndarray:
        torch = self._torch
        rows = np.full((len(pending), len(self._unit_modules), N_LAYER_COLUMNS), np.nan)
        if self._timed:  # backward seconds, where asked for (timings=True)
            for r, kept in enumerate(pending):
                for i, (name, _, _) in enumerate(self._unit_modules):
                    rows[r, i, 0] = kept[4].get(name, np.nan)
        for i, (name, activation, _) in enumerate(self._unit_modules):
            kept = [(r, p[2][name]) for r, p in enumerate(pending) if name in p[2]]
            if not kept:
                continue
            which = [r for r, _ in kept]
            hi = torch.stack([high for _, (_, high) in kept])
            if activation in _DEAD:
                flat, column = hi <= 0, 2
            else:
                lo = torch.stack([low for _, (low, _) in kept])
                flat, column = _SATURATED[activation](lo, hi), 3
            rows[which, i, column] = (flat.sum(1).to(torch.float64) / hi.shape[1]).cpu().numpy()
        return rows

    def _rows_of(self, pending, summarise) -> list[LoggedStep]:
        stats, counts, edges = summarise()
        layers = self._layer_rows(pending)
        return [LoggedStep(step, stats[r], None if counts is None else counts[r],
                           None if edges is None else edges[r], layers[r], logs, at)
                for r, (step, at, _, logs, _) in enumerate(pending)]

    # -- rows -----------------------------------------------------------------------
    def _hand_over(self) -> None:
        """Summarise the kept steps and give the recorder everything collected."""
        if self._losses:
            self.recorder.losses(self._loss_start, _floats(self._torch, self._losses))
            self._losses = []
        pending, self._pending = self._pending, []
        if pending:  # summarised in another thread, while training goes on
            m = len(pending)
            summarise = self._stats.take(m, self.histograms) if self._stats is not None \
                else (lambda: (np.empty((m, 0, 14)), None, None))
            latest: dict[str, float] = {}
            for _, _, _, logs, _ in pending:
                latest.update(logs)
            self.recorder.later(lambda: self._rows_of(pending, summarise), latest)
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
        self._hand_over()
        self.recorder.close()  # every queued summary with the store before the run ends
        if self.snapshots is not None and self.step_count > 0:
            self._snapshot(self.step_count - 1, "end")


def _floats(torch, losses: list) -> list[float]:
    """The batch losses as floats: one stack and one copy to the host for all of them."""
    if all(isinstance(v, torch.Tensor) and v.numel() == 1 for v in losses):
        try:
            return torch.stack([v.reshape(()) for v in losses]).to(torch.float64).cpu().tolist()
        except RuntimeError:  # on several devices, or of several dtypes
            pass
    return [_number(v) for v in losses]


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
