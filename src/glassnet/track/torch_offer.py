"""A logged step of a watched torch module on the CPU, offered as glassnet's own loop
offers one: what :class:`~glassnet.track.step_keeper.StepKeeper` reads.

The keeper copies a logged step into a buffer set (:mod:`glassnet.track.kept_steps`)
and has it summarised there, by the statistics process when the watch logs often:
the same path, and the same code, as glassnet's own watch. This adapter's part is the
copy: every parameter, or every gradient, straight from the tensors into its view of
the kept row in one ``torch._foreach_copy_`` (``torch.from_numpy`` views share the
set's memory, shared memory included). A Linear ``weight`` is copied as PyTorch holds
it, (out, in): no statistic depends on the orientation.
"""

from __future__ import annotations

import numpy as np

_NAN = float("nan")
_MAX_TARGETS = 1024  # cached row views (8 sets of 32 rows, values and gradients, fit)


def host_dtype(torch, tensors):
    """The NumPy dtype one buffer holds all ``tensors`` in (their widest float type;
    bfloat16, which NumPy lacks, in float32), or None when they are not all floats."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return {torch.float16: np.float16, torch.float32: np.float32,
            torch.float64: np.float64, torch.bfloat16: np.float32}.get(dtype)


def copy_tensors(torch, targets: list, sources: list):
    """Copy each of ``sources`` into its view in ``targets``, without autograd: True;
    where some sources are None (a parameter without a gradient), those are skipped
    and the answer says which were copied."""
    with torch.no_grad():
        if all(s is not None for s in sources):
            if hasattr(torch, "_foreach_copy_"):  # every tensor in one call: no flattening
                torch._foreach_copy_(targets, sources)  # (a reshape costs as much as a copy)
            else:
                for target, source in zip(targets, sources, strict=True):
                    target.copy_(source)
            return True
        for target, source in zip(targets, sources, strict=True):
            if source is not None:
                target.copy_(source)
    return [s is not None for s in sources]


class HostSteps:
    """A watch's logged steps of CPU ``params``, kept and summarised by a
    :class:`~glassnet.track.step_keeper.StepKeeper` (``layers`` ``[(layer,
    activation)]``; ``paths`` name the parameters)."""

    def __init__(self, torch, run, recorder, params: list, paths: list[str],
                 layers: list[tuple[str, str]], dtype, histograms: bool,
                 log_freq: int) -> None:
        from glassnet.track.step_keeper import StepKeeper

        self._offer = TorchOffer(torch, params, layers, dtype)
        names = [name for name, _ in layers]
        # the user's optimizer is not timed: every layer's update seconds are NaN
        self._keeper = StepKeeper(run, recorder, paths, [int(p.numel()) for p in params],
                                  dtype, names, [0.0] * len(names), histograms, log_freq)

    def prepare(self, step: int) -> None:
        """Before logged step ``step``: W kept for its ΔW, unless the keeper has it."""
        if self._keeper.last_kept() != step - 1:
            self._offer.keep_before()

    def keep(self, step: int, logs: dict, outputs: dict, backward: dict, now: float) -> bool:
        offer = self._offer
        offer.outputs, offer.backward = outputs, backward
        try:
            return self._keeper.keep(step, logs, offer, now)
        finally:
            offer.done()

    def send(self, last: bool = False) -> None:
        self._keeper.send(last)

    def release(self) -> None:
        self._keeper.release()


class TorchOffer:
    """The watched ``params`` (CPU tensors) and the unit layers ``units`` ``[(layer,
    activation)]`` of one module, offered a logged step at a time."""

    def __init__(self, torch, params: list, units: list[tuple[str, str]], dtype) -> None:
        self._torch = torch
        self._params = list(params)
        self._sizes = [int(p.numel()) for p in params]
        self._shapes = [tuple(p.shape) for p in params]
        self._units = list(units)
        self._targets: dict[tuple, tuple] = {}  # (set id, row, kind): (set, views)
        self._before = np.empty(sum(self._sizes), dtype=dtype)  # W before a logged step
        self._before_views = None
        self._before_kept = False
        self._values = None  # the kept row of this step's values, for ΔW
        self.outputs: dict[str, object] = {}  # unit layer: its output on this step's batch
        self.backward: dict[str, float] = {}  # layer: seconds of its backward (timings)

    def keep_before(self) -> None:
        """W before the update of the step that will be logged next."""
        if self._before_views is None:
            self._before_views = self._split(self._torch.from_numpy(self._before))
        copy_tensors(self._torch, self._before_views, self._params)
        self._before_kept = True

    def done(self) -> None:
        """The step is kept: what it offered is let go."""
        self._before_kept, self._values = False, None
        self.outputs, self.backward = {}, {}

    # -- what StepKeeper reads --------------------------------------------------------
    def copy_into(self, kind: str, kept, row: int):
        """Copy ``kind`` into row ``row`` of the buffer set ``kept``: True; for
        gradients, which parameters had one; False where not offered (ΔW without W
        kept before the step)."""
        if kind == "parameters":
            self._values = kept.values[row]
            return copy_tensors(self._torch, self._views(kept, row, kind), self._params)
        if kind == "gradients":
            return copy_tensors(self._torch, self._views(kept, row, kind),
                                [p.grad for p in self._params])
        if kind == "update" and self._before_kept and self._values is not None:
            np.subtract(self._values, self._before, out=kept.changes[row])
            return True
        return False

    def activations(self) -> dict[str, tuple[str, np.ndarray | None]]:
        """Every unit layer, with its output of this step's forward (None if unseen)."""
        return {name: (activation, _host_array(self._torch, self.outputs.get(name)))
                for name, activation in self._units}

    def timings(self) -> tuple[dict[str, float], float]:
        return self.backward, _NAN  # no update seconds: the user's optimizer is not timed

    # -- the rows' views ----------------------------------------------------------------
    def _views(self, kept, row: int, kind: str) -> list:
        """Row ``row`` of ``kept``'s values or gradients as tensors shaped as the
        parameters, sharing the set's memory (made once per set and row)."""
        key = (id(kept), row, kind)
        found = self._targets.get(key)
        if found is not None and found[0] is kept:  # (not another set of a reused id)
            return found[1]
        if len(self._targets) >= _MAX_TARGETS:
            self._targets.clear()
        flat = self._torch.from_numpy((kept.values if kind == "parameters" else kept.grads)[row])
        views = self._split(flat)
        self._targets[key] = (kept, views)
        return views

    def _split(self, flat) -> list:
        return [piece.view(shape) for piece, shape
                in zip(flat.split(self._sizes), self._shapes, strict=True)]


def _host_array(torch, tensor):
    if tensor is None:
        return None
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.numpy()
