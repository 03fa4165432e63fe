"""Summarising a buffer set of a watch's kept steps (:mod:`glassnet.track.kept_steps`).

:func:`summarise` writes the results into the set itself, so it runs the same in the
summariser thread and in the statistics process; :func:`logged_steps` then makes them,
with what the watch noted of each step (time, logs, timings), the rows of a
:class:`~glassnet.track.observe.LoggedSteps`.
"""

from __future__ import annotations

import numpy as np

from glassnet.track.kept_steps import KeptSteps
from glassnet.track.observe import LoggedSteps
from glassnet.track.paramstats import FlatStats

# "dead": a ReLU unit that outputs 0 for every sample of the batch. "saturated": a
# sigmoid/tanh unit whose derivative is below ~2% of its peak for every sample, told
# from the unit's lowest and highest output on the batch.
DEAD = {"relu"}
SATURATED = {
    "sigmoid": lambda lo, hi: (lo > 0.99) | (hi < 0.01),
    "tanh": lambda lo, hi: (lo > 0.99) | (hi < -0.99),
}
UNIT_STATS = DEAD | set(SATURATED)
# kinds: how a kept step's ΔW is known -- not at all, offered (or from the W carried over
# the last hand-over), or the difference of its values and the row before's
UNKNOWN, ASKED, FROM_PREVIOUS_ROW = 0, 1, 2
_NAN = float("nan")


def summarise(kept: KeptSteps, m: int, stats: FlatStats | None, histograms: bool) -> bool:
    """Fill the results of the first ``m`` rows of ``kept``: ``stats``, ``counts`` (with
    ``histograms``), ``edges`` and unit ``shares``; return whether ``edges`` holds
    histograms that are not the 64 equal bins over [min, max]."""
    irregular = False
    if stats is not None:
        n = kept.layout.n
        rows, changes, kinds = kept.rows[:m], kept.changes[:m], kept.kinds[:m]
        chained = np.flatnonzero(kinds == FROM_PREVIOUS_ROW)
        if chained.size:
            changes[chained] = rows[chained, :n] - rows[chained - 1, :n]
        known = kinds != UNKNOWN
        table, counts, edges = stats.compute(rows, None, histograms,
                                             update=changes if known.any() else None)
        table[~known, :, 13] = _NAN  # steps without ΔW offered
        table[:, :, 7:13][~kept.has_grad[:m]] = _NAN  # parameters without a gradient
        kept.stats[:m] = table
        if counts is not None:
            kept.counts[:m] = counts
        if edges is not None:
            kept.edges[:m] = edges
            irregular = True
    for i, (_, activation, _, width, _) in enumerate(kept.layout.units):
        outputs = kept.outputs[i][:m]
        hi = np.maximum.reduce(outputs, axis=1)
        if activation in DEAD:  # dead: outputs 0 for the whole batch
            flat = hi <= 0
        else:  # saturated: in the flat region for the whole batch
            flat = SATURATED[activation](np.minimum.reduce(outputs, axis=1), hi)
        shares = np.count_nonzero(flat, axis=1) / max(width, 1)
        kept.shares[:m, i] = np.where(kept.seen[:m, i], shares, _NAN)
    return irregular


def param_block(kept: KeptSteps, m: int, irregular: bool, histograms: bool):
    """``(stats, counts, edges)`` of the first ``m`` summarised rows, copied out (the
    set is reused at once), as ``store.log_param_block`` takes them."""
    if not kept.layout.n:
        return np.empty((m, 0, 14)), None, None
    counts = kept.counts[:m].copy() if histograms else None
    edges = kept.edges[:m].copy() if irregular and counts is not None else None
    return kept.stats[:m].copy(), counts, edges


def logged_steps(kept: KeptSteps, m: int, irregular: bool, histograms: bool,
                 update_share: list[float], unit_index: list[int]) -> LoggedSteps:
    """The rows of the first ``m`` summarised steps of ``kept``, all read from the set
    (``unit_index``: each unit layer's place in ``kept.layout.layers``). Copies them
    out, so the set can be reused at once."""
    layout = kept.layout
    steps, times = kept.steps[:m].tolist(), kept.times[:m].tolist()
    stats, counts, edges = param_block(kept, m, irregular, histograms)
    layers = None
    if layout.layers:
        # (m, n_layers, 4): backward seconds, update seconds, dead share, saturated share
        layers = np.full((m, len(layout.layers), 4), np.nan)
        layers[:, :, 0] = kept.backward[:m]
        layers[:, :, 1] = np.outer(kept.update[:m], update_share)
        for i, (_, activation, *_) in enumerate(layout.units):
            column = 2 if activation in DEAD else 3
            layers[:, unit_index[i], column] = kept.shares[:m, i]
    values = kept.metrics[:m].T.tolist()
    series = {key: (steps, values[i]) for i, key in enumerate(layout.metrics)}
    return LoggedSteps(steps, times, stats, counts, edges, layers, series)
