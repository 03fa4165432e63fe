"""Hyperparameters against results (issue 20, item 3): what the compare page's parallel
coordinates, scatter and importance ranking draw.

The importance of a hyperparameter for a metric is its **correlation ratio η²**: the
share of the metric's variance across the runs that the hyperparameter's values alone
explain (between-group sum of squares over total sum of squares, grouping runs by the
hyperparameter's value). 1 means runs with the same value always score the same; 0 means
the value tells nothing. It needs no model fit, and is honest about what it is: with few
runs per value (a key whose every run has its own value) it is 1 whatever the effect, so
such keys are listed as ``unique`` rather than ranked.
"""

from __future__ import annotations

import json
import math
import numbers

import numpy as np


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def correlation_ratio(groups: list, values: list[float]) -> float | None:
    """η² of ``values`` grouped by ``groups`` (any hashable-as-JSON values); None when the
    values do not vary."""
    y = np.asarray(values, dtype=np.float64)
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0 or len(y) < 2:
        return None
    keys = [json.dumps(g, sort_keys=True, default=str) for g in groups]
    between = 0.0
    for key in set(keys):
        members = y[[k == key for k in keys]]
        between += len(members) * (members.mean() - y.mean()) ** 2
    return float(between / total)


def importance(configs: list[dict], summaries: list[dict], keys: list[str]) -> dict:
    """Per numeric final metric: the hyperparameters ranked by η² (see the module doc)."""
    metrics = sorted({k for s in summaries for k, v in s.items()
                      if k != "epoch" and _number(v) is not None})
    out = {}
    for metric in metrics:
        have = [i for i, s in enumerate(summaries) if _number(s.get(metric)) is not None]
        values = [float(summaries[i][metric]) for i in have]
        ranked = []
        for key in keys:
            groups = [configs[i].get(key) for i in have]
            distinct = len({json.dumps(g, sort_keys=True, default=str) for g in groups})
            if distinct < 2:
                continue
            eta2 = correlation_ratio(groups, values)
            ranked.append({"key": key, "eta2": eta2, "values": distinct,
                           "unique": distinct == len(have)})
        ranked.sort(key=lambda r: (r["unique"], -(r["eta2"] or 0.0)))
        out[metric] = {"runs": len(have), "ranking": ranked}
    return out


def hyperparameters(configs: list[dict], summaries: list[dict], differing: list[str]) -> dict:
    """The differing config keys (numeric or categorical), the numeric final metrics, and
    the importance ranking: the data of the parallel coordinates and the scatter."""
    params = []
    for key in differing:
        column = [c.get(key) for c in configs]
        numeric = all(_number(v) is not None for v in column)
        params.append({"key": key, "numeric": numeric,
                       "values": column if numeric else [
                           json.dumps(v) if isinstance(v, (dict, list)) else
                           (None if v is None else str(v)) for v in column]})
    return {"params": params, "importance": importance(configs, summaries, differing),
            "statistic": "correlation ratio η² (share of the metric's variance explained "
                         "by the hyperparameter's values)"}
