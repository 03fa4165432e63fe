"""Comparing N runs (issue 20, item 2): what the compare page draws, as JSON-ready dicts.

:func:`compare_runs` gives the runs named by what differs in their config, the config
table, each run's curves, its single-value metrics and its final per-Variable weight and
bias statistics. :func:`weight_diff` compares two snapshots Variable by Variable.
Everything is read through the store's public query methods.
"""

from __future__ import annotations

import json

import numpy as np

from glassnet.ui import queries
from glassnet.ui.hyper import hyperparameters

MAX_RUNS = 50  # a compare page of more runs than this draws unreadable charts
CURVE_POINTS = 500  # per curve and run: 50 runs x a few curves stay a small answer
STAT_FIELDS = ("mean", "std", "min", "max", "l2")
TOP_K = 10


def run_ids(store, runs=(), sweep: str | None = None) -> list[str]:
    """The runs to compare: ``runs`` (ids or prefixes) and the runs of ``sweep``, in order."""
    ids = [store.resolve_run_id(r) for r in runs]
    if sweep:
        members = store.runs(group_id=sweep)
        if not members:
            raise ValueError(f"no run belongs to sweep {sweep!r}")
        ids += [r["id"] for r in reversed(members)]  # oldest first: the sweep's order
    ids = list(dict.fromkeys(ids))
    if not 2 <= len(ids) <= MAX_RUNS:
        raise ValueError(f"compare needs 2 to {MAX_RUNS} runs, got {len(ids)}")
    return ids


def _same(values: list) -> bool:
    return len({json.dumps(v, sort_keys=True, default=str) for v in values}) == 1


def differing_keys(configs: list[dict]) -> list[str]:
    """Config keys whose value is not the same in every run (a missing key counts)."""
    keys = sorted({k for c in configs for k in c})
    return [k for k in keys if not _same([c.get(k) for c in configs])]


def labels(records: list[dict], differing: list[str]) -> list[str]:
    """Each run's legend name: its values of the differing keys (``lr=0.1 act=relu``);
    the run's name where that is empty or the same for two runs (e.g. repeated configs)."""
    def show(v):
        return json.dumps(v) if isinstance(v, (dict, list)) else str(v)

    made = [" ".join(f"{k}={show(r['config'].get(k))}" for k in differing) for r in records]
    out = []
    for r, label in zip(records, made):
        if not label or made.count(label) > 1:
            label = f"{r['name']} {label}".strip()
        out.append(label)
    return out


def _final_stats(store, run_id: str) -> dict[str, dict]:
    """Per Variable path: its statistics at the last recorded step."""
    last: dict[str, dict] = {}
    for row in store.param_stats(run_id):
        if row["path"] not in last or row["step"] >= last[row["path"]]["step"]:
            last[row["path"]] = row
    return {p: {"step": r["step"], **{f: r[f] for f in STAT_FIELDS}} for p, r in last.items()}


def _aligned_stats(stats: list[dict]) -> tuple[list[str], list[list]]:
    """Rows of Variables across runs: by path when every run names them alike, else by
    position in network order (Keras numbers layers per session: ``dense`` in one run is
    ``dense_4`` in the next), labelled ``layer K/kernel``."""
    ordered = [queries._network_order(list(s)) for s in stats]
    if all(o == ordered[0] for o in ordered):
        return ordered[0], [[s[p] for p in ordered[0]] for s in stats]
    width = max(len(o) for o in ordered)
    layers = [[p.rpartition("/")[0] for p in o] for o in ordered]
    names = []
    for k in range(width):
        run0 = next(o for o in ordered if len(o) > k)
        layer = next(lay for lay in layers if len(lay) > k)
        position = list(dict.fromkeys(layer)).index(layer[k]) + 1
        names.append(f"layer {position}/{run0[k].rpartition('/')[2]}")
    rows = [[s[o[k]] if k < len(o) else None for k in range(width)]
            for s, o in zip(stats, ordered)]
    return names, rows


def compare_runs(store, runs=(), sweep: str | None = None) -> dict:
    """N runs side by side: labels, config table, curves, single values, layer statistics."""
    ids = run_ids(store, runs, sweep)
    records = [store.run(r) for r in ids]
    configs = [r["config"] for r in records]
    differing = differing_keys(configs)
    keys = differing + [k for k in sorted({k for c in configs for k in c}) if k not in differing]
    curves = [queries.curves(store, r, max_points=CURVE_POINTS) for r in ids]
    singles = sorted({k for c in curves for k, v in c.items() if v["recorded"] == 1} - {"epoch"})
    paths, stat_rows = _aligned_stats([_final_stats(store, r) for r in ids])
    return {
        "runs": [{"id": r["id"], "name": r["name"], "project": r["project"],
                  "status": r["status"], "label": label}
                 for r, label in zip(records, labels(records, differing))],
        "config": [{"key": k, "values": [c.get(k) for c in configs], "differs": k in differing}
                   for k in keys],
        "curves": [{k: v for k, v in c.items() if v["recorded"] > 1} for c in curves],
        "single_values": [{"key": k, "values": [r["summary"].get(k) for r in records]}
                          for k in singles],
        "summary_keys": sorted({k for r in records for k in r["summary"]} - {"epoch"}),
        "summaries": [r["summary"] for r in records],
        "hyper": hyperparameters(configs, [r["summary"] for r in records], differing),
        "layer_stats": {"paths": paths, "fields": list(STAT_FIELDS),
                        "runs": stat_rows},
    }


def _unit_name(path: str, index: tuple[int, ...]) -> str:
    """``"input 3 → unit 7"`` for a kernel entry, ``"unit 7"`` for a bias entry."""
    if len(index) == 2:
        return f"input {index[0]} → unit {index[1]}"
    if len(index) == 1:
        return f"unit {index[0]}"
    return "[" + ", ".join(map(str, index)) + "]"


def variable_diff(x: np.ndarray, y: np.ndarray, top_k: int = TOP_K) -> dict:
    """One Variable in two snapshots: ‖B−A‖/‖A‖, cosine, share of sign flips, top-k changes."""
    a, b = x.astype(np.float64), y.astype(np.float64)
    delta = b - a
    norm_a, norm_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    order = np.argsort(-np.abs(delta), axis=None, kind="stable")[:top_k]
    top = []
    for flat in order:
        index = tuple(int(i) for i in np.unravel_index(flat, a.shape))
        top.append({"index": list(index), "a": float(a[index]), "b": float(b[index]),
                    "delta": float(delta[index])})
    return {"diff_l2": float(np.linalg.norm(delta)),
            "relative": float(np.linalg.norm(delta)) / norm_a if norm_a else None,
            "cosine": float(a.ravel() @ b.ravel()) / (norm_a * norm_b)
            if norm_a and norm_b else None,
            # strictly opposite signs: a zero bias that moved is not a flip
            "sign_flips": float(np.mean(a * b < 0)) if a.size else 0.0,
            "top": top}


def weight_diff(store, run_a: str, run_b: str, step_a="end", step_b="end",
                top_k: int = TOP_K) -> dict:
    """The snapshots of two runs compared per Variable (paired as :func:`queries.compare`
    pairs them); Variables of different shapes are listed with their shapes only."""
    if not 1 <= top_k <= 1000:
        raise ValueError(f"top must be between 1 and 1000, got {top_k}")
    a, b = store.resolve_run_id(run_a), store.resolve_run_id(run_b)
    for run in (a, b):
        if not store.snapshots(run):
            raise ValueError(f"run {run} has no snapshot to compare (run.watch(snapshots=...))")
    wa, wb = store.snapshot(a, step_a), store.snapshot(b, step_b)
    rows = []
    for label, pa, pb in queries._paired_paths(wa, wb):
        row = {"path": label, "shape_a": list(wa[pa].shape), "shape_b": list(wb[pb].shape)}
        if wa[pa].shape == wb[pb].shape:
            row.update(variable_diff(wa[pa], wb[pb], top_k))
            for t in row["top"]:
                t["unit"] = _unit_name(label, tuple(t["index"]))
        rows.append(row)
    steps = {"a": store.snapshots(a), "b": store.snapshots(b)}
    return {"a": a, "b": b, "step_a": _step(steps["a"], step_a),
            "step_b": _step(steps["b"], step_b), "steps": steps, "variables": rows}


def _step(steps: list[int], step) -> int:
    return int(steps[-1]) if step in ("end", "last") else int(step)
