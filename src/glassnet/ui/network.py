"""The network diagram's data: layers in order, large layers sampled, weights per edge.

A snapshot is ``{path: ndarray}`` with no layer order. The order comes from the run's
recorded model config (``store.model_config``) when there is one; else it is rebuilt
from the kernels' shapes: each Dense kernel is (inputs, units), and a chain of kernels
whose shapes meet end to end is the network. Names break ties in Keras's order
(``dense``, ``dense_1``, ``dense_2``...). Layers wider than ``max_units`` are sampled at evenly
spaced units -- the same units at every step, so replaying the snapshots moves only
the weights -- and the diagram says so.
"""

from __future__ import annotations

import re

import numpy as np

from glassnet.track.architecture import inbound, layer_names, layer_specs

MAX_UNITS = 16


def _name_key(layer: str):
    """Keras naming order: ``dense`` < ``dense_1`` < ``dense_2`` < ``dense_10``."""
    match = re.fullmatch(r"(.*?)(?:_(\d+))?", layer)
    return (match.group(1), int(match.group(2) or 0), layer)


def layer_order(arrays: dict[str, np.ndarray], model_config: dict | None = None) -> list[str]:
    """Names of the layers with a 2-D ``kernel``, first to last: in the order of
    ``model_config`` (the run's recorded ``model.get_config()``) when it names them all,
    else chained by shape."""
    kernels = {p.rsplit("/", 1)[0]: a.shape for p, a in arrays.items()
               if p.endswith("/kernel") and np.ndim(a) == 2}
    recorded = [name for name in layer_names(model_config) if name in kernels]
    if recorded and len(recorded) == len(kernels):
        return recorded
    names = sorted(kernels, key=_name_key)
    if _chains(names, kernels):
        return names
    for start in names:  # the names do not chain: find one chain through every kernel
        order, left = [start], [n for n in names if n != start]
        while left:
            fits = [n for n in left if kernels[n][0] == kernels[order[-1]][1]]
            if not fits:
                break
            order.append(fits[0])
            left.remove(fits[0])
        if not left:
            return order
    return names  # not a chain (a model this diagram cannot draw exactly): name order


def _chains(names, kernels) -> bool:
    return all(kernels[a][1] == kernels[b][0] for a, b in zip(names, names[1:]))


def sample_units(n: int, max_units: int = MAX_UNITS) -> list[int]:
    """Evenly spaced unit indices, first and last kept; all of them when ``n <= max_units``."""
    if n <= max_units:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, max_units)})


def network(arrays: dict[str, np.ndarray], max_units: int = MAX_UNITS,
            model_config: dict | None = None) -> dict:
    """The diagram of one snapshot, as JSON-ready data.

    ``{"columns": [{"name", "size", "units": [index...], "bias": [b...] | None}],
    "edges": [{"layer", "weights": [[w shown-in x shown-out]]}], "max_abs": float}``.
    Column 0 is the input; the bias of each later column's units sits beside them.
    ``model_config``: the run's recorded ``model.get_config()``, which fixes the order.
    """
    order = layer_order(arrays, model_config)
    if not order:
        return {"columns": [], "edges": [], "max_abs": 0.0}
    links = inbound(model_config)
    if links is not None and not _is_chain(order, links, model_config):
        return _graph_network(arrays, order, links, model_config, max_units)
    first = np.asarray(arrays[f"{order[0]}/kernel"])
    inputs = sample_units(first.shape[0], max_units)
    columns = [{"name": "input", "size": int(first.shape[0]), "units": inputs, "bias": None}]
    edges, max_abs, previous = [], 0.0, inputs
    for layer in order:
        kernel = np.asarray(arrays[f"{layer}/kernel"], dtype=np.float64)
        bias = arrays.get(f"{layer}/bias")
        units = sample_units(kernel.shape[1], max_units)
        shown = kernel[np.ix_(previous, units)] if kernel.shape[0] > max(previous, default=-1) \
            else np.zeros((len(previous), len(units)))
        columns.append({
            "name": layer, "size": int(kernel.shape[1]), "units": units,
            "bias": None if bias is None else _finite(np.asarray(bias, np.float64)[units]),
        })
        edges.append({"layer": layer, "weights": [_finite(row) for row in shown]})
        finite = shown[np.isfinite(shown)]
        if finite.size:
            max_abs = max(max_abs, float(np.abs(finite).max()))
        previous = units
    return {"columns": columns, "edges": edges, "max_abs": max_abs}


def _is_chain(order, links, model_config) -> bool:
    """Whether each drawn layer reads (through weightless layers) only the one before."""
    feeds = _feeds(links, model_config, set(order))
    previous = "input"
    for name in order:
        if [column for column, _ in feeds(name)] != [previous]:
            return False
        previous = name
    return True


def _feeds(links, model_config, columns):
    """``feeds(layer)``: the (column, first kernel row) pairs a layer's input is made of.

    Weightless layers are looked through: a Concatenate lays its inputs' features end to
    end (the second starts at the first's width), an Add overlays them (each at row 0),
    any other passes its input on. ``columns`` are the drawn layers; "input" is the input.
    """
    specs = {spec["name"]: spec for spec in layer_specs(model_config)}
    widths: dict[str, int] = {}

    def width(name) -> int:
        if name not in widths:
            parts = resolve(name)
            widths[name] = max((row + _column_width(column) for column, row in parts),
                               default=0)
        return widths[name]

    def _column_width(column) -> int:
        return widths.get(column, 0)

    def resolve(name) -> list[tuple[str, int]]:
        """What tensor ``name`` outputs, as (column, row offset) pairs."""
        if name in columns or not links.get(name):
            return [(name if name in columns else "input", 0)]
        sources = links[name]
        if specs.get(name, {}).get("class_name") == "Concatenate":
            parts, offset = [], 0
            for source in sources:
                parts += [(column, row + offset) for column, row in resolve(source)]
                offset += width(source)
            return parts
        return [pair for source in sources for pair in resolve(source)]

    def feeds(name) -> list[tuple[str, int]]:
        return [pair for source in links.get(name, []) for pair in resolve(source)]

    feeds.widths = widths
    return feeds


def _input_width(model_config) -> int:
    """Features of the model's input, from its InputLayer's recorded shape."""
    if model_config.get("build_input_shape"):
        return int(model_config["build_input_shape"][-1])
    for layer in model_config.get("layers", []):
        settings = layer.get("config", {})
        shape = settings.get("shape") or settings.get("batch_shape")
        if layer.get("class_name") == "InputLayer" and shape:
            return int(shape[-1])
        if isinstance(settings.get("layers"), list):  # a nested model first
            return _input_width(settings)
    return 0


def _graph_network(arrays, order, links, model_config, max_units) -> dict:
    """A branched model: columns in call order, an edge for each (source, layer) pair,
    drawn from the source's column (which need not be the one just before)."""
    kernels = {name: np.asarray(arrays[f"{name}/kernel"], dtype=np.float64) for name in order}
    n_inputs = _input_width(model_config)
    feeds = _feeds(links, model_config, set(order))
    feeds.widths.update({"input": n_inputs, **{n: kernels[n].shape[1] for n in order}})
    columns = [{"name": "input", "size": n_inputs, "units": sample_units(n_inputs, max_units),
                "bias": None}]
    index = {"input": 0}
    edges, max_abs = [], 0.0
    for name in order:
        kernel, bias = kernels[name], arrays.get(f"{name}/bias")
        units = sample_units(kernel.shape[1], max_units)
        index[name] = len(columns)
        columns.append({"name": name, "size": int(kernel.shape[1]), "units": units,
                        "bias": None if bias is None else
                        _finite(np.asarray(bias, np.float64)[units])})
        for column, row in feeds(name):
            rows = [row + u for u in columns[index[column]]["units"]]
            if not rows or max(rows) >= kernel.shape[0]:
                continue
            shown = kernel[np.ix_(rows, units)]
            edges.append({"layer": name, "from": index[column], "to": index[name],
                          "weights": [_finite(r) for r in shown]})
            finite = shown[np.isfinite(shown)]
            if finite.size:
                max_abs = max(max_abs, float(np.abs(finite).max()))
    return {"columns": columns, "edges": edges, "max_abs": max_abs}


def _finite(values: np.ndarray) -> list:
    """Floats for JSON: NaN and inf become None (JSON has neither)."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values).ravel()]
