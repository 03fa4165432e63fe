"""``keras.utils.plot_model``: a picture of the layers, weights and biases counted apart.

Keras draws it with graphviz through pydot; glassnet needs neither. An ``.svg`` is
written as text here; ``.png`` (or ``.pdf``) is drawn with matplotlib's object API,
without pyplot, so the user's matplotlib backend is never changed. Each layer is a
box: its name and class, its output shape and activation, and how many weights
(kernel entries) and biases it holds; the footer totals them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from glassnet.errors import ConfigError, MissingDependencyError

# The colours of glassnet's other pictures (report.plots, the dashboard): blue for
# weights, orange for biases; slate for text and outlines.
WEIGHTS_COLOUR, BIASES_COLOUR = "#2563eb", "#e8710a"
INK, MUTED, FILL, INPUT_FILL, EDGE = "#0f172a", "#475569", "#f8fafc", "#eef2ff", "#94a3b8"
BOX_W, BOX_H, GAP, MARGIN, FOOTER = 320, 74, 30, 16, 34
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


@dataclass
class _Box:
    title: str
    detail: str
    weights: int | None  # None for boxes without parameters (Input, Dropout...)
    biases: int | None
    is_input: bool = False


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _boxes(model, show_shapes, show_layer_names, show_layer_activations,
           show_trainable) -> list[_Box]:
    boxes = []
    shape = model.input_shape
    if shape is not None:
        boxes.append(_Box("input" if show_layer_names else "Input",
                          f"shape {_shape_text(shape)}" if show_shapes else "Input",
                          None, None, is_input=True))
    for layer in model.layers:
        try:
            shape = layer.compute_output_shape(shape) if shape is not None else None
        except Exception:  # a layer that cannot say: the box just omits the shape
            shape = None
        kind = type(layer).__name__
        title = f"{layer.name} · {kind}" if show_layer_names else kind
        details = []
        if show_shapes and shape is not None:
            details.append(f"output {_shape_text(shape)}")
        activation = getattr(layer, "activation_name", None)
        if show_layer_activations and activation:
            details.append(activation)
        if show_trainable:
            details.append("trainable" if layer.trainable else "frozen")
        kernel, bias = getattr(layer, "kernel", None), getattr(layer, "bias", None)
        weights = kernel.size if kernel is not None else None
        biases = bias.size if bias is not None else None
        if weights is None and biases is None and layer.weights:
            weights = sum(v.size for v in layer.weights)  # other parameters, counted together
        boxes.append(_Box(title, " · ".join(details), weights, biases))
    return boxes


def _counts_text(box: _Box) -> list[tuple[str, str]]:
    """The counts line as (text, colour) pieces."""
    if box.weights is None and box.biases is None:
        return [("no weights or biases", MUTED)]
    pieces = []
    if box.weights is not None:
        pieces.append((f"{box.weights:,} weights", WEIGHTS_COLOUR))
    if box.biases is not None:
        if pieces:
            pieces.append(("  ·  ", MUTED))
        pieces.append((f"{box.biases:,} biases", BIASES_COLOUR))
    return pieces


def _layout(n: int, rankdir: str):
    """Top-left corner of each box, and the picture's width and height."""
    if rankdir == "LR":
        corners = [(MARGIN + i * (BOX_W + GAP), MARGIN) for i in range(n)]
        return corners, 2 * MARGIN + n * BOX_W + (n - 1) * GAP, 2 * MARGIN + BOX_H + FOOTER
    corners = [(MARGIN, MARGIN + i * (BOX_H + GAP)) for i in range(n)]
    return corners, 2 * MARGIN + BOX_W, 2 * MARGIN + n * BOX_H + (n - 1) * GAP + FOOTER


def _footer(boxes) -> str:
    weights = sum(b.weights or 0 for b in boxes)
    biases = sum(b.biases or 0 for b in boxes)
    return f"{weights:,} weights + {biases:,} biases = {weights + biases:,} parameters"


def _svg(boxes, rankdir, name) -> str:
    corners, width, height = _layout(len(boxes), rankdir)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{FONT}">',
           f"<title>{escape(name)}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/>'
           "</marker></defs>",
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for i, (box, (x, y)) in enumerate(zip(boxes, corners)):
        if i:
            px, py = corners[i - 1]
            if rankdir == "LR":
                x1, y1, x2, y2 = px + BOX_W, py + BOX_H / 2, x - 2, y + BOX_H / 2
            else:
                x1, y1, x2, y2 = px + BOX_W / 2, py + BOX_H, x + BOX_W / 2, y - 2
            out.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{EDGE}" '
                       f'stroke-width="1.5" marker-end="url(#arrow)"/>')
        fill = INPUT_FILL if box.is_input else FILL
        out.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
                   f'fill="{fill}" stroke="{EDGE}" stroke-width="1.2"/>')
        cx = x + BOX_W / 2
        out.append(f'<text x="{cx}" y="{y + 22}" text-anchor="middle" font-size="14" '
                   f'font-weight="bold" fill="{INK}">{escape(box.title)}</text>')
        out.append(f'<text x="{cx}" y="{y + 42}" text-anchor="middle" font-size="12" '
                   f'fill="{MUTED}">{escape(box.detail)}</text>')
        if not box.is_input:
            spans = "".join(f'<tspan fill="{colour}">{escape(text)}</tspan>'
                            for text, colour in _counts_text(box))
            out.append(f'<text x="{cx}" y="{y + 62}" text-anchor="middle" font-size="12">'
                       f"{spans}</text>")
    out.append(f'<text x="{width / 2}" y="{height - MARGIN}" text-anchor="middle" '
               f'font-size="12" fill="{INK}">{escape(_footer(boxes))}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _draw(boxes, rankdir, path: Path, dpi: int) -> None:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    except ImportError as exc:
        raise MissingDependencyError(
            f"writing {path.name} needs matplotlib (pip install 'glassnet[plots]'); "
            f"an .svg file needs nothing: plot_model(model, to_file='model.svg')") from exc
    corners, width, height = _layout(len(boxes), rankdir)
    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(figure)  # the figure's own canvas: no pyplot, no backend switch
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # y grows downwards, as in the SVG
    ax.axis("off")
    for i, (box, (x, y)) in enumerate(zip(boxes, corners)):
        if i:
            px, py = corners[i - 1]
            start, end = (((px + BOX_W, py + BOX_H / 2), (x, y + BOX_H / 2)) if rankdir == "LR"
                          else ((px + BOX_W / 2, py + BOX_H), (x + BOX_W / 2, y)))
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                         color=EDGE, linewidth=1.5))
        ax.add_patch(FancyBboxPatch((x, y), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=8",
                                    facecolor=INPUT_FILL if box.is_input else FILL,
                                    edgecolor=EDGE, linewidth=1.2))
        cx = x + BOX_W / 2
        ax.text(cx, y + 22, box.title, ha="center", va="baseline", fontsize=10.5,
                fontweight="bold", color=INK)
        ax.text(cx, y + 42, box.detail, ha="center", va="baseline", fontsize=9, color=MUTED)
        if not box.is_input:
            pieces = [(t, c) for t, c in _counts_text(box) if t.strip() != "·"]
            if len(pieces) == 1:
                ax.text(cx, y + 62, pieces[0][0], ha="center", va="baseline", fontsize=9,
                        color=pieces[0][1])
            else:  # "weights · biases" around the centre, each in its colour
                ax.text(cx - 8, y + 62, pieces[0][0], ha="right", va="baseline",
                        fontsize=9, color=pieces[0][1])
                ax.text(cx, y + 62, "·", ha="center", va="baseline", fontsize=9, color=MUTED)
                ax.text(cx + 8, y + 62, pieces[1][0], ha="left", va="baseline", fontsize=9,
                        color=pieces[1][1])
    ax.text(width / 2, height - MARGIN, _footer(boxes), ha="center", va="baseline",
            fontsize=9, color=INK)
    figure.savefig(path, dpi=dpi, facecolor="white")


class ModelPlot:
    """What ``plot_model`` returns: the file written, shown inline in a notebook."""

    def __init__(self, path: Path):
        self.path = path

    def _repr_svg_(self):
        return self.path.read_text() if self.path.suffix.lower() == ".svg" else None

    def _repr_png_(self):
        return self.path.read_bytes() if self.path.suffix.lower() == ".png" else None

    def __repr__(self) -> str:
        return f"ModelPlot({str(self.path)!r})"


def plot_model(model, to_file="model.png", show_shapes=True, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=True, show_trainable=False, **kwargs) -> ModelPlot:
    """Draw ``model``'s layers to ``to_file`` (.svg, .png or .pdf), weights and biases
    counted apart. Keras's arguments are accepted; shapes, names and activations are
    shown unless turned off. Returns a :class:`ModelPlot` (inline in Jupyter)."""
    if rankdir not in ("TB", "LR"):
        raise ConfigError(f"plot_model rankdir must be 'TB' or 'LR', got {rankdir!r}")
    if not hasattr(model, "layers") or not model.layers:
        raise ConfigError(f"plot_model expects a model with layers, got {model!r}")
    path = Path(to_file)
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png", ".pdf"):
        raise ConfigError(f"plot_model writes .svg, .png or .pdf files, got {str(to_file)!r}")
    boxes = _boxes(model, show_shapes, show_layer_names, show_layer_activations,
                   show_trainable)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".svg":
        text = _svg(boxes, rankdir, getattr(model, "name", "model"))
        temporary = path.with_name(path.name + ".part")
        temporary.write_text(text)
        temporary.replace(path)  # never a half-written file
    else:
        temporary = path.with_name(path.stem + ".part" + path.suffix)
        _draw(boxes, rankdir, temporary, int(dpi))
        temporary.replace(path)
    return ModelPlot(path)


__all__ = ["ModelPlot", "plot_model"]
