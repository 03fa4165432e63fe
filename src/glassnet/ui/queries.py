"""What the dashboard shows, as JSON-ready dicts: read from the store, thinned, never SQL.

Both the HTTP app and the static HTML report call these functions, so a page and a
report draw the same figures from the same numbers. Every float that is NaN or
infinite becomes ``None`` (JSON has no NaN) through :func:`jsonable`.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from glassnet.track.architecture import activations
from glassnet.track.thinning import thin_indices
from glassnet.ui.network import network

MAX_CURVE_POINTS = 2000
MAX_STAT_POINTS = 500
MAX_HEATMAP_STEPS = 200
HEATMAP_BINS = 48
MAX_TABLE_ROWS = 200
_STAT_FIELDS = ("mean", "std", "min", "max", "l2", "neg_share", "grad_l2", "grad_std",
                "update_ratio")
_LAYER_FIELDS = ("dead_share", "saturated_share", "backward_time", "update_time")


def jsonable(value):
    """``value`` with NumPy types made plain and NaN/inf made ``None``, recursively."""
    kind = type(value)  # exact-type fast paths first: a runs list holds ~20,000 plain values
    if kind is float:
        return value if value - value == 0 else None  # inf - inf and nan - nan are nan
    if kind is str or kind is int or value is None or kind is bool:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


# -- one run (the runs list: runs_list.py) ----------------------------------------
def run_detail(store, run_id: str) -> dict:
    """One run: its record, metric keys, Variables, snapshot steps, datasets and models."""
    run = dict(store.run(run_id))
    run_id = run["id"]
    snapshots = store.snapshot_info(run_id)
    from glassnet.report.metric_labels import summary_labels

    return {
        "run": run,
        "framework": framework(run),
        "summary_labels": summary_labels(run["summary"]),
        "metric_keys": store.metric_keys(run_id),
        "param_paths": _network_order(store.param_paths(run_id)),
        "snapshots": [{"step": s["step"], "label": s["label"]} for s in snapshots],
        "datasets": [{"name": n, "version": v} for n, v in store.run_datasets(run_id)],
        "models": [{"name": m["name"], "version": m["version"], "aliases": m["aliases"]}
                   for m in store.models() if m["run_id"] == run_id],
    }


def framework(run: dict) -> dict:
    """``{"name", "version"}`` of what trained the run: the framework a watcher named
    (PyTorch, Keras), else glassnet itself."""
    env = run.get("env") or {}
    named = env.get("framework")
    if isinstance(named, dict) and named.get("name"):
        return {"name": str(named["name"]), "version": named.get("version")}
    return {"name": "glassnet", "version": env.get("glassnet")}


def _network_order(paths: list[str]) -> list[str]:
    """Variable paths layer by layer in Keras's naming order, each kernel before its bias."""
    from glassnet.ui.network import _name_key

    def key(path):
        layer, _, leaf = path.rpartition("/")
        return (_name_key(layer), {"kernel": 0, "bias": 1}.get(leaf, 2), leaf)

    return sorted(paths, key=key)


def curves(store, run_id: str, keys=None, max_points: int = MAX_CURVE_POINTS) -> dict:
    """``{key: {"steps", "values", "recorded"}}``: each metric thinned to ``max_points``."""
    run_id = store.resolve_run_id(run_id)
    keys = store.metric_keys(run_id) if keys is None else keys
    out = {}
    for key in keys:
        steps, values = store.metrics(run_id, key)
        recorded = len(steps)
        keep = thin_indices(values, max_points)  # read once: the count and the points
        out[key] = {"steps": steps[keep], "values": values[keep], "recorded": recorded}
    return out


def _thin(rows: list, max_points: int, fields) -> list:
    """Rows thinned keeping every field's extremes and NaNs (None counts as NaN)."""
    if len(rows) <= max_points:
        return rows
    values = np.array([[r[f] for f in fields] for r in rows], dtype=np.float64)
    return [rows[i] for i in thin_indices(values, max_points)]


def param_series(store, run_id: str, max_points: int = MAX_STAT_POINTS) -> dict:
    """Per Variable path, over recorded steps: value and gradient statistics, update ratio."""
    run_id = store.resolve_run_id(run_id)
    by_path: dict[str, list] = {}
    for row in store.param_stats(run_id):
        by_path.setdefault(row["path"], []).append(row)
    out = {}
    for path, rows in by_path.items():
        rows = _thin(rows, max_points, _STAT_FIELDS)
        series = {"steps": [r["step"] for r in rows], "count": rows[-1]["count"]}
        for field in _STAT_FIELDS:
            series[field] = [r[field] for r in rows]
        out[path] = series
    return out


def layer_series(store, run_id: str, max_points: int = MAX_STAT_POINTS) -> dict:
    """Per layer, over recorded steps: dead and saturated unit shares, backward and update time."""
    run_id = store.resolve_run_id(run_id)
    by_layer: dict[str, list] = {}
    for row in store.layer_stats(run_id):
        by_layer.setdefault(row["layer"], []).append(row)
    out = {}
    for layer, rows in by_layer.items():
        rows = _thin(rows, max_points, _LAYER_FIELDS)
        out[layer] = {"steps": [r["step"] for r in rows],
                      **{f: [r[f] for r in rows] for f in _LAYER_FIELDS}}
    return out


def histogram_heatmap(store, run_id: str, path: str, max_steps: int = MAX_HEATMAP_STEPS,
                      bins: int = HEATMAP_BINS) -> dict:
    """One Variable's value histograms over steps, re-binned onto one common value axis.

    Each recorded histogram has its own edges (its step's min to max); the heatmap needs
    one value axis, so each bin's count is placed at its centre on a common grid spanning
    every step's range. Returns ``{"steps", "values" (bin centres), "counts" (bins x steps)}``.
    """
    steps, edges, counts = store.histograms(run_id, path)
    if len(steps) == 0:
        return {"path": path, "steps": [], "values": [], "counts": []}
    keep = thin_indices(len(steps), max_steps)  # histograms: evenly spaced steps
    steps, edges, counts = steps[keep], edges[keep], counts[keep]
    finite = edges[np.isfinite(edges)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    grid = np.linspace(low, high, bins + 1)
    heat = np.zeros((bins, len(steps)))
    for i in range(len(steps)):
        centres = (edges[i, :-1] + edges[i, 1:]) / 2
        ok = np.isfinite(centres)
        heat[:, i], _ = np.histogram(centres[ok], bins=grid, weights=counts[i][ok])
    return {"path": path, "steps": steps, "values": (grid[:-1] + grid[1:]) / 2, "counts": heat}


def network_at(store, run_id: str, step: int | str = "end") -> dict:
    """The network diagram data of the snapshot at ``step`` (``"end"``: the last one)."""
    run_id = store.resolve_run_id(run_id)
    steps = store.snapshots(run_id)
    if not steps:
        return {"step": None, "steps": [], "columns": [], "edges": [], "max_abs": 0.0}
    if step in ("end", "last"):
        step = steps[-1]
    model_config = store.model_config(run_id)
    diagram = network(store.snapshot(run_id, step), model_config=model_config)
    return {"step": int(step), "steps": steps, **diagram,
            "activations": layer_activations(store, run_id, model_config)}


def layer_activations(store, run_id: str, model_config: dict | None = None) -> dict[str, str]:
    """``{layer name: activation}`` from the run's recorded model config, else from the model
    it registered; {} if it has neither."""
    if model_config is None:
        model_config = store.model_config(run_id)
    if model_config is not None:
        return activations(model_config)
    made = [m for m in store.models() if m["run_id"] == run_id]
    if not made:
        return {}
    return dict(_activations_in_model_file(str(store.blobs.path(made[-1]["sha"]))))


@functools.lru_cache(maxsize=64)  # a blob never changes: its name is its content's hash
def _activations_in_model_file(path: str) -> tuple:
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        layers = config["model"]["layers"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return ()  # no readable architecture: the diagram goes without activation names
    return tuple((layer["config"]["name"], str(layer["config"]["activation"]))
                 for layer in layers
                 if isinstance(layer.get("config"), dict) and "activation" in layer["config"])


# -- across runs -----------------------------------------------------------------------
def compare(store, run_a: str, run_b: str) -> dict:
    """Two runs side by side: config differences, shared curves, final-weight differences."""
    a, b = store.run(run_a), store.run(run_b)
    keys = sorted(set(a["config"]) | set(b["config"]))
    config = [{"key": k, "a": a["config"].get(k), "b": b["config"].get(k),
               "same": a["config"].get(k) == b["config"].get(k)} for k in keys]
    shared = sorted(set(store.metric_keys(a["id"])) & set(store.metric_keys(b["id"])))
    return {
        "runs": [{k: r[k] for k in ("id", "name", "project", "status", "summary")}
                 for r in (a, b)],
        "config": config,
        "curves": {"a": curves(store, a["id"], shared), "b": curves(store, b["id"], shared)},
        "weights": weight_differences(store, a["id"], b["id"]),
    }


def _paired_paths(wa: dict, wb: dict) -> list[tuple[str, str, str]]:
    """``(label, path in A, path in B)``: by path when both runs name their Variables alike,
    else layer by layer in network order (Keras numbers layer names per session, so two
    runs of one architecture may be ``dense/kernel`` and ``dense_2/kernel``)."""
    from glassnet.ui.network import layer_order

    if set(wa) == set(wb):
        return [(p, p, p) for p in sorted(wa)]
    pairs = []
    for la, lb in zip(layer_order(wa), layer_order(wb)):
        for leaf in ("kernel", "bias"):
            pa, pb = f"{la}/{leaf}", f"{lb}/{leaf}"
            if pa in wa and pb in wb:
                pairs.append((pa if pa == pb else f"{pa} ↔ {pb}", pa, pb))
    return pairs


def weight_differences(store, run_a: str, run_b: str) -> list[dict]:
    """Per Variable of both final snapshots: ‖A−B‖, ‖A−B‖/‖A‖, cosine, mean |A−B|.

    Variables of different shapes are listed with their shapes and no figures."""
    if not store.snapshots(run_a) or not store.snapshots(run_b):
        return []
    wa, wb = store.snapshot(run_a, "end"), store.snapshot(run_b, "end")
    out = []
    for label, pa, pb in _paired_paths(wa, wb):
        row = {"path": label, "shape_a": wa[pa].shape, "shape_b": wb[pb].shape,
               "diff_l2": None, "relative": None, "cosine": None, "mean_abs_diff": None}
        if wa[pa].shape == wb[pb].shape:
            x, y = wa[pa].astype(np.float64).ravel(), wb[pb].astype(np.float64).ravel()
            diff = float(np.linalg.norm(x - y))
            norm_a, norm_b = float(np.linalg.norm(x)), float(np.linalg.norm(y))
            row.update(diff_l2=diff, relative=diff / norm_a if norm_a else None,
                       cosine=float(x @ y) / (norm_a * norm_b) if norm_a and norm_b else None,
                       mean_abs_diff=float(np.abs(x - y).mean()) if x.size else 0.0)
        out.append(row)
    return out


def registry(store) -> dict:
    """Datasets and registered models with their versions and the runs that used or made them."""
    names = {r["id"]: r["name"] for r in store.runs(archived=True)}
    used: dict[tuple, set] = {}
    for artifact in store.artifacts():
        if artifact["kind"] == "dataset" and artifact["run_id"]:
            used.setdefault((artifact["name"], artifact["version"]), set()).add(artifact["run_id"])
    datasets = []
    for d in store.datasets():
        runs = sorted(used.get((d["name"], d["version"]), set()))
        datasets.append({"name": d["name"], "version": d["version"], "hash": d["hash"],
                         "meta": d["meta"], "created_at": d["created_at"], "sha": d["sha"],
                         "runs": [{"id": r, "name": names.get(r, r)} for r in runs]})
    models = [{"name": m["name"], "version": m["version"], "aliases": m["aliases"],
               "meta": m["meta"], "created_at": m["created_at"], "sha": m["sha"],
               "run": None if not m["run_id"] else
               {"id": m["run_id"], "name": names.get(m["run_id"], m["run_id"])}}
              for m in store.models()]
    return {"datasets": datasets, "models": models}


def known_blobs(store) -> set[str]:
    """Hashes of the blobs the dashboard may hand out: logged datasets, models and files."""
    shas = {a["sha"] for a in store.artifacts() if a["sha"]}
    shas |= {m["sha"] for m in store.models()}
    return shas


def tables(store, run_id: str) -> dict:
    """The ten tables of one run as ``{name: {"columns", "rows"}}`` (from glassnet.report)."""
    try:
        from glassnet.report import tables as make_tables
    except ImportError as exc:
        return {"available": False, "reason": f"glassnet.report is not available: {exc}"}
    run_id = store.resolve_run_id(run_id)
    try:
        made = make_tables(run_id, store)
    except Exception as exc:  # a table that cannot be made must not take the page down
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    out = {}
    for name, table in made.items():
        records = table.to_records()
        columns = list(records[0]) if records else list(getattr(table, "columns", []))
        half = MAX_TABLE_ROWS // 2  # a long run's loss table: its first and last rows
        shown = records if len(records) <= MAX_TABLE_ROWS else records[:half] + records[-half:]
        out[name] = {"title": getattr(table, "title", name) or name, "columns": columns,
                     "rows": [[r.get(c) for c in columns] for r in shown],
                     "total": len(records), "elided_after": half
                     if len(records) > MAX_TABLE_ROWS else None}
    return {"available": True, "tables": out}
