"""``keras.utils.plot_model`` of branched functional models: the SVG read back as a graph.

The boxes and arrows are found by layer name (``<g class="layer" data-name>``,
``<path class="edge" data-from data-to>``) and compared with the graph worked out by
hand from the code that builds the model; the counts with the layers' sizes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import glassnet as gn
from glassnet import layers

SVG = "{http://www.w3.org/2000/svg}"


def _two_in_two_out():
    a, b = gn.Input(shape=(4,), name="a"), gn.Input(shape=(3,), name="b")
    h = layers.Dense(5, activation="relu", name="h")(a)
    g = layers.Dense(2, activation="tanh", name="g")(b)
    merged = layers.Concatenate(name="cat")([h, g])  # 7 features: h's 5, then g's 2
    total = layers.Add(name="add")([layers.Dense(3, name="p")(h),
                                    layers.Dense(3, name="q")(merged)])
    cls = layers.Dense(3, activation="softmax", name="cls")(total)
    reg = layers.Dense(1, name="reg")(merged)
    return gn.Model(inputs=[a, b], outputs=[reg, cls], name="two_by_two")


EDGES = {("a", "h", 0), ("b", "g", 0), ("h", "cat", 0), ("g", "cat", 1), ("h", "p", 0),
         ("cat", "q", 0), ("p", "add", 0), ("q", "add", 1), ("add", "cls", 0),
         ("cat", "reg", 0)}
# (weights, biases) of each Dense: inputs x units, and units
COUNTS = {"h": (20, 5), "g": (6, 2), "p": (15, 3), "q": (21, 3), "cls": (9, 3),
          "reg": (7, 1)}


def _read(path):
    root = ET.fromstring(path.read_text())
    boxes = {}
    for group in root.iter(f"{SVG}g"):
        if "layer" not in group.get("class", "").split():
            continue
        rect = group.find(f"{SVG}rect")
        texts = ["".join(t.itertext()) for t in group.iter(f"{SVG}text")]
        boxes[group.get("data-name")] = {
            "classes": set(group.get("class").split()), "texts": texts,
            "weights": group.get("data-weights"), "biases": group.get("data-biases"),
            "output": group.get("data-output"),
            "x": float(rect.get("x")), "y": float(rect.get("y")),
            "w": float(rect.get("width")), "h": float(rect.get("height"))}
    edges = [(p.get("data-from"), p.get("data-to"), int(p.get("data-slot")), p.get("d"))
             for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]
    footer = "".join(list(root.iter(f"{SVG}text"))[-1].itertext())
    return boxes, edges, footer


def _overlap(one, other) -> bool:
    return not (one["x"] + one["w"] <= other["x"] or other["x"] + other["w"] <= one["x"]
                or one["y"] + one["h"] <= other["y"] or other["y"] + other["h"] <= one["y"])


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_a_two_input_two_output_graph_is_drawn_box_by_box_and_arrow_by_arrow(rankdir,
                                                                             tmp_path):
    gn.utils.plot_model(_two_in_two_out(), to_file=tmp_path / "m.svg", rankdir=rankdir)
    boxes, edges, footer = _read(tmp_path / "m.svg")
    assert set(boxes) == {"a", "b", "h", "g", "cat", "p", "q", "add", "cls", "reg"}
    assert {(s, t, slot) for s, t, slot, _ in edges} == EDGES
    assert len(edges) == len(EDGES)  # one arrow per tensor read, none doubled
    # counts per box, weights and biases apart; merges and inputs hold none
    for name, (weights, biases) in COUNTS.items():
        assert (boxes[name]["weights"], boxes[name]["biases"]) == (str(weights), str(biases))
        assert f"{weights:,} weights" in boxes[name]["texts"][2]
        assert f"{biases:,} biases" in boxes[name]["texts"][2]
    for name in ("cat", "add"):
        assert boxes[name]["weights"] is None and boxes[name]["biases"] is None
        assert "no weights or biases" in boxes[name]["texts"]
    assert boxes["cat"]["texts"][:2] == ["cat · Concatenate", "output (None, 7)"]
    assert boxes["a"]["classes"] == {"layer", "input"} == boxes["b"]["classes"]
    assert boxes["a"]["texts"] == ["a · Input", "shape (None, 4)"]
    # the outputs, in the model's order, tagged as such
    assert (boxes["reg"]["output"], boxes["cls"]["output"]) == ("0", "1")
    assert "output 1 of 2" in boxes["reg"]["texts"] and "output 2 of 2" in boxes["cls"]["texts"]
    assert all(boxes[n]["output"] is None for n in boxes if n not in ("reg", "cls"))
    weights = sum(w for w, _ in COUNTS.values())
    biases = sum(b for _, b in COUNTS.values())
    assert footer == (f"{weights} weights + {biases} biases = {weights + biases} "
                      f"parameters")
    # laid out as a graph: every arrow runs forward, no two boxes overlap, and the
    # two inputs (and the two first Dense) sit side by side in one rank
    along = "y" if rankdir == "TB" else "x"
    for source, target, _, _ in edges:
        assert boxes[target][along] > boxes[source][along], (source, target)
    names = sorted(boxes)
    for i, one in enumerate(names):
        for other in names[i + 1:]:
            assert not _overlap(boxes[one], boxes[other]), (one, other)
    assert boxes["a"][along] == boxes["b"][along] and boxes["h"][along] == boxes["g"][along]
    # an arrow that skips a rank (p to add, past q) passes it in a lane of its own:
    # no box is crossed by the straight part of any arrow
    lanes = [d for s, t, _, d in edges if (s, t) == ("p", "add")]
    assert len(lanes) == 1 and " L" in lanes[0]
    for _, _, _, d in edges:
        tokens = d.split()
        for k, token in enumerate(tokens):
            if token.startswith("L"):
                (x1, y1), (x2, y2) = (map(float, tokens[k - 1].lstrip("MCL").split(",")),
                                      map(float, token[1:].split(",")))
                for name, box in boxes.items():
                    inside = (box["x"] < min(x1, x2) + 1 and max(x1, x2) - 1 < box["x"] + box["w"]
                              and box["y"] < min(y1, y2) + 1
                              and max(y1, y2) - 1 < box["y"] + box["h"])
                    assert not inside, (d, name)
    # Concatenate's two arrows reach it at different points, h's (first) before g's
    across = "x" if rankdir == "TB" else "y"
    ends = {s: d.split()[-1] for s, t, _, d in edges if t == "cat"}
    point = {s: float(end.split(",")[0 if across == "x" else 1]) for s, end in ends.items()}
    assert point["h"] < point["g"]


def test_a_merge_of_branches_from_one_input_and_a_batchnorm_box(tmp_path):
    inputs = gn.Input(shape=(6,), name="x")
    short = layers.Dense(4, name="short")(inputs)
    deep = layers.BatchNormalization(name="bn")(layers.Dense(4, name="deep")(inputs))
    out = layers.Dense(2, name="out")(layers.Add(name="sum")([short, deep]))
    model = gn.Model(inputs=inputs, outputs=out)
    gn.utils.plot_model(model, to_file=tmp_path / "m.svg")
    boxes, edges, footer = _read(tmp_path / "m.svg")
    assert {(s, t) for s, t, _, _ in edges} == {("x", "short"), ("x", "deep"),
                                                ("deep", "bn"), ("short", "sum"),
                                                ("bn", "sum"), ("sum", "out")}
    # gamma counted as weights and beta as biases; the moving mean and variance as state
    assert (boxes["bn"]["weights"], boxes["bn"]["biases"]) == ("4", "4")
    assert "8 state" in boxes["bn"]["texts"][2]
    assert footer == "60 weights + 14 biases = 74 parameters (and 8 values of state)"
    # one output: no tag
    assert boxes["out"]["output"] == "0"
    assert not any("output 1 of" in t for box in boxes.values() for t in box["texts"])
    # the short branch (rank 1) is not drawn on top of the deep one's second layer
    assert boxes["short"]["y"] == boxes["deep"]["y"] < boxes["bn"]["y"] < boxes["sum"]["y"]


def test_a_sequential_is_still_a_chain(tmp_path):
    model = gn.Sequential([gn.Input(shape=(3,)), layers.Dense(2, name="d1"),
                           layers.Dense(1, name="d2")])
    gn.utils.plot_model(model, to_file=tmp_path / "m.svg")
    boxes, edges, _ = _read(tmp_path / "m.svg")
    assert [(s, t) for s, t, _, _ in edges] == [("input", "d1"), ("d1", "d2")]
    assert boxes["input"]["x"] == boxes["d1"]["x"] == boxes["d2"]["x"]


def test_a_branched_model_draws_as_png_too(tmp_path):
    pytest.importorskip("matplotlib")
    plot = gn.utils.plot_model(_two_in_two_out(), to_file=tmp_path / "m.png", dpi=40)
    assert plot._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("*.part*"))
