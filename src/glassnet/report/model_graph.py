"""The picture ``plot_model`` draws, as data: a box per layer, an arrow per tensor, and
where each sits.

A Sequential is a chain (an input box, then each layer). A functional model is its
graph: a box per layer call (``Model.nodes``: each input, each layer, merges such as
``Concatenate`` and ``Add`` with one arrow per tensor they read, in the order they
read them), the model's outputs marked. Boxes are laid out in ranks (a box's rank is
the longest path to it from an input, so every arrow points down, or right with
``rankdir="LR"``), and each rank is ordered by where the boxes it reads sit, so a
branch stays under the branch it comes from and arrows seldom cross.

Each box counts its layer's weights and biases apart (``Layer.weights_and_biases``:
kernels and gamma are weights, biases and beta biases; a nested model its layers'),
and any other variables (Normalization's mean and variance, BatchNormalization's
moving statistics) as state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN, FOOTER = 320, 74, 40, 34, 16, 34
LANE = 24  # the room an arrow passing a rank takes in it (so it passes no box)


@dataclass
class Box:
    name: str  # the layer's name: unique in a model
    title: str
    detail: str
    weights: int | None  # None: the layer holds no weights (Input, Dropout, Add...)
    biases: int | None
    state: int = 0  # other variables (not trained, or not weights nor biases)
    is_input: bool = False
    output_index: int | None = None  # its place among the model's outputs
    x: float = 0.0
    y: float = 0.0


@dataclass
class Edge:
    source: int  # index of the box whose output it carries
    target: int
    slot: int  # which of the target's inputs it is (0, 1...: Concatenate's order)
    slots: int  # how many inputs the target reads
    lanes: list[tuple[float, float]] = field(default_factory=list)  # where it passes
    # the ranks between its ends: the centre of its lane in each, across the ranks

@dataclass
class Picture:
    name: str
    boxes: list[Box]
    edges: list[Edge] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def footer(self) -> str:
        weights = sum(b.weights or 0 for b in self.boxes)
        biases = sum(b.biases or 0 for b in self.boxes)
        text = f"{weights:,} weights + {biases:,} biases = {weights + biases:,} parameters"
        state = sum(b.state for b in self.boxes)
        return text + (f" (and {state:,} values of state)" if state else "")

    def edge_points(self, edge: Edge, rankdir: str) -> list[tuple[float, float]]:
        """The arrow's path: out of its source box, through its lane in each rank it
        passes (in, then out of the rank), into its target box. A box that reads several
        tensors takes them at spread-out points, in the order it reads them."""
        src, dst = self.boxes[edge.source], self.boxes[edge.target]
        share = (edge.slot + 1) / (edge.slots + 1)
        if rankdir == "LR":
            points = [(src.x + BOX_W, src.y + BOX_H / 2)]
            for along, across in edge.lanes:
                points += [(along, across), (along + BOX_W, across)]
            return points + [(dst.x - 2, dst.y + BOX_H * share)]
        points = [(src.x + BOX_W / 2, src.y + BOX_H)]
        for along, across in edge.lanes:
            points += [(across, along), (across, along + BOX_H)]
        return points + [(dst.x + BOX_W * share, dst.y - 2)]


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _layer_box(layer, shape, show_shapes, show_layer_names, show_activations,
               show_trainable) -> Box:
    kind = getattr(layer, "serialized_class_name", type(layer).__name__)  # as summary shows it
    title = f"{layer.name} · {kind}" if show_layer_names else kind
    details = []
    if show_shapes and shape is not None:
        details.append(f"output {_shape_text(shape)}")
    activation = getattr(layer, "activation_name", None)
    if show_activations and activation:
        details.append(activation)
    if show_trainable:
        details.append("trainable" if layer.trainable else "frozen")
    kernels, biases = layer.weights_and_biases()
    counted = {id(v) for v in kernels + biases}
    state = sum(v.size for v in layer.weights if id(v) not in counted)
    return Box(layer.name, title, " · ".join(details),
               sum(v.size for v in kernels) if kernels else None,
               sum(v.size for v in biases) if biases else None, state)


def _input_box(name: str, shape, show_shapes: bool, title: str) -> Box:
    return Box(name, title, f"shape {_shape_text(shape)}" if show_shapes else "Input",
               None, None, is_input=True)


def picture(model, show_shapes=True, show_layer_names=True, show_layer_activations=True,
            show_trainable=False) -> Picture:
    """The boxes and arrows of ``model`` (not yet placed: see :func:`place`)."""
    options = (show_shapes, show_layer_names, show_layer_activations, show_trainable)
    name = getattr(model, "name", "model")
    nodes = getattr(model, "nodes", None)
    if nodes is None:  # a Sequential: a chain from its input
        return _chain(model, name, *options)
    index = {id(node): i for i, node in enumerate(nodes)}
    outputs = {id(t.node): i for i, t in enumerate(model.outputs)}
    boxes, edges = [], []
    for i, node in enumerate(nodes):
        if not node.inputs:
            label = f"{node.layer.name} · Input" if show_layer_names else "Input"
            box = _input_box(node.layer.name, node.output.shape, show_shapes, label)
        else:
            box = _layer_box(node.layer, node.output.shape, *options)
        box.output_index = outputs.get(id(node))
        boxes.append(box)
        for slot, tensor in enumerate(node.inputs):
            edges.append(Edge(index[id(tensor.node)], i, slot, len(node.inputs)))
    return Picture(name, boxes, edges)


def _chain(model, name, show_shapes, show_layer_names, show_activations,
           show_trainable) -> Picture:
    boxes = []
    shape = model.input_shape
    if shape is not None:
        boxes.append(_input_box("input", shape, show_shapes,
                                "input" if show_layer_names else "Input"))
    for layer in model.layers:
        try:
            shape = layer.compute_output_shape(shape) if shape is not None else None
        except Exception:  # a layer that cannot say: the box just omits the shape
            shape = None
        boxes.append(_layer_box(layer, shape, show_shapes, show_layer_names,
                                show_activations, show_trainable))
    if boxes:
        boxes[-1].output_index = 0
    edges = [Edge(i, i + 1, 0, 1) for i in range(len(boxes) - 1)]
    return Picture(name, boxes, edges)


def place(pic: Picture, rankdir: str) -> Picture:
    """Give each box its corner, each arrow its lanes, and the picture its size (in place;
    returns it). A box's rank is the longest path to it from an input; an arrow that
    skips ranks gets a lane in each rank it passes, ordered with the boxes."""
    parents: list[list[int]] = [[] for _ in pic.boxes]
    for edge in pic.edges:  # in graph order, each target's inputs in slot order
        parents[edge.target].append(edge.source)
    rank = [0] * len(pic.boxes)
    for i, sources in enumerate(parents):  # boxes come in graph order
        rank[i] = max((rank[s] + 1 for s in sources), default=0)
    # a row entry is ("box", index) or ("lane", edge index, rank); its parents: its feeds
    rows: list[list[tuple]] = [[] for _ in range(max(rank, default=0) + 1)]
    feeds: dict[tuple, list[tuple]] = {}
    for i in range(len(pic.boxes)):
        rows[rank[i]].append(("box", i))
        feeds[("box", i)] = []
    for e, edge in enumerate(pic.edges):
        previous = ("box", edge.source)
        for r in range(rank[edge.source] + 1, rank[edge.target]):
            lane = ("lane", e, r)
            rows[r].append(lane)
            feeds[lane] = [previous]
            previous = lane
        feeds[("box", edge.target)].append(previous)
    position: dict[tuple, float] = {}
    for row in rows:  # order a rank by the mean place of what each entry reads
        row.sort(key=lambda entry: (sum(position[f] for f in feeds[entry]) / len(feeds[entry])
                                    if feeds[entry] else -1.0, entry[1], entry[0]))
        for k, entry in enumerate(row):
            position[entry] = k - (len(row) - 1) / 2
    step_along = (BOX_W + GAP_X) if rankdir == "LR" else (BOX_H + GAP_Y)
    box_across = BOX_H if rankdir == "LR" else BOX_W
    gap_across = GAP_Y if rankdir == "LR" else GAP_X

    def size(entry) -> float:
        return box_across if entry[0] == "box" else LANE

    spans = [sum(size(entry) for entry in row) + gap_across * (len(row) - 1) for row in rows]
    widest = max(spans, default=0.0)
    lanes: dict[tuple, tuple[float, float]] = {}
    for r, (row, span) in enumerate(zip(rows, spans)):
        across, along = MARGIN + (widest - span) / 2, MARGIN + r * step_along
        for entry in row:
            if entry[0] == "box":
                box = pic.boxes[entry[1]]
                box.x, box.y = (along, across) if rankdir == "LR" else (across, along)
            else:
                lanes[entry] = (along, across + LANE / 2)
            across += size(entry) + gap_across
    for e, edge in enumerate(pic.edges):
        edge.lanes = [lanes[("lane", e, r)]
                      for r in range(rank[edge.source] + 1, rank[edge.target])]
    extent = 2 * MARGIN + len(rows) * step_along - (GAP_X if rankdir == "LR" else GAP_Y)
    if rankdir == "LR":
        pic.width, pic.height = extent, 2 * MARGIN + widest + FOOTER
    else:
        pic.width, pic.height = 2 * MARGIN + widest, extent + FOOTER
    return pic


__all__ = ["BOX_H", "BOX_W", "Box", "Edge", "Picture", "picture", "place"]
