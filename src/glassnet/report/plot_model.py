"""``keras.utils.plot_model``: a picture of the layers, weights and biases counted apart.

Keras draws it with graphviz through pydot; glassnet needs neither. An ``.svg`` is
written as text here; ``.png`` (or ``.pdf``) is drawn with matplotlib's object API,
without pyplot, so the user's matplotlib backend is never changed. Each layer is a
box: its name and class, its output shape and activation, and how many weights
(kernel entries) and biases it holds; the footer totals them. A functional model is
drawn as its graph (``report.model_graph``): branches side by side, an arrow per
tensor a merge reads, several inputs and outputs (each output tagged). In the SVG
each box is a ``<g class="layer" data-name=... data-weights=... data-biases=...>``
and each arrow a ``<path class="edge" data-from=... data-to=...>``, so a picture
can be checked, or restyled, by name.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from glassnet.errors import ConfigError, MissingDependencyError
from glassnet.report.model_graph import BOX_H, BOX_W, MARGIN, Box, Picture, picture, place

# The colours of glassnet's other pictures (report.plots, the dashboard): blue for
# weights, orange for biases; slate for text and outlines.
WEIGHTS_COLOUR, BIASES_COLOUR = "#2563eb", "#e8710a"
INK, MUTED, FILL, INPUT_FILL, EDGE = "#0f172a", "#475569", "#f8fafc", "#eef2ff", "#94a3b8"
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


def _counts_text(box: Box) -> list[tuple[str, str]]:
    """The counts line as (text, colour) pieces."""
    pieces = []
    if box.weights is not None:
        pieces.append((f"{box.weights:,} weights", WEIGHTS_COLOUR))
    if box.biases is not None:
        if pieces:
            pieces.append(("  ·  ", MUTED))
        pieces.append((f"{box.biases:,} biases", BIASES_COLOUR))
    if not pieces:
        pieces.append(("no weights or biases", MUTED))
    if box.state:
        pieces.append((f"  ·  {box.state:,} state", MUTED))
    return pieces


def _output_tag(pic: Picture, box: Box) -> str | None:
    """"output 1 of 2" on the boxes a several-output model returns."""
    outputs = sum(b.output_index is not None for b in pic.boxes)
    if box.output_index is None or outputs < 2:
        return None
    return f"output {box.output_index + 1} of {outputs}"


def _path(points, rankdir: str) -> str:
    """SVG path data: a smooth bend between ranks, straight through each lane."""
    (x, y), *rest = points
    data = [f"M{x:g},{y:g}"]
    for k, (x2, y2) in enumerate(rest):
        if k % 2:  # along a lane, through a rank
            data.append(f"L{x2:g},{y2:g}")
        elif rankdir == "LR":
            mid = (x + x2) / 2
            data.append(f"C{mid:g},{y:g} {mid:g},{y2:g} {x2:g},{y2:g}")
        else:
            mid = (y + y2) / 2
            data.append(f"C{x:g},{mid:g} {x2:g},{mid:g} {x2:g},{y2:g}")
        x, y = x2, y2
    return " ".join(data)


def _svg(pic: Picture, rankdir: str) -> str:
    width, height = pic.width, pic.height
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{FONT}">',
           f"<title>{escape(pic.name)}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/>'
           "</marker></defs>",
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for edge in pic.edges:  # under the boxes
        out.append(f'<path class="edge" data-from={quoteattr(pic.boxes[edge.source].name)} '
                   f'data-to={quoteattr(pic.boxes[edge.target].name)} '
                   f'data-slot="{edge.slot}" d="{_path(pic.edge_points(edge, rankdir), rankdir)}" '
                   f'fill="none" stroke="{EDGE}" stroke-width="1.5" '
                   f'marker-end="url(#arrow)"/>')
    for box in pic.boxes:
        x, y, cx = box.x, box.y, box.x + BOX_W / 2
        kind = "input" if box.is_input else "output" if box.output_index is not None else ""
        counts = "".join(f' data-{key}="{value}"' for key, value in (
            ("weights", box.weights), ("biases", box.biases)) if value is not None)
        out.append(f'<g class="layer{" " + kind if kind else ""}" '
                   f'data-name={quoteattr(box.name)}{counts}'
                   + (f' data-output="{box.output_index}"' if box.output_index is not None
                      else "") + ">")
        out.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
                   f'fill="{INPUT_FILL if box.is_input else FILL}" '
                   f'stroke="{INK if kind == "output" else EDGE}" stroke-width="1.2"/>')
        out.append(f'<text x="{cx}" y="{y + 22}" text-anchor="middle" font-size="14" '
                   f'font-weight="bold" fill="{INK}">{escape(box.title)}</text>')
        out.append(f'<text x="{cx}" y="{y + 42}" text-anchor="middle" font-size="12" '
                   f'fill="{MUTED}">{escape(box.detail)}</text>')
        if not box.is_input:
            spans = "".join(f'<tspan fill="{colour}">{escape(text)}</tspan>'
                            for text, colour in _counts_text(box))
            out.append(f'<text x="{cx}" y="{y + 62}" text-anchor="middle" font-size="12">'
                       f"{spans}</text>")
        tag = _output_tag(pic, box)
        if tag:
            out.append(f'<text class="output-tag" x="{x + BOX_W - 8}" y="{y + BOX_H - 6}" '
                       f'text-anchor="end" font-size="10" fill="{MUTED}">{escape(tag)}</text>')
        out.append("</g>")
    out.append(f'<text x="{width / 2}" y="{height - MARGIN}" text-anchor="middle" '
               f'font-size="12" fill="{INK}">{escape(pic.footer())}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _draw(pic: Picture, rankdir: str, path: Path, dpi: int) -> None:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    except ImportError as exc:
        raise MissingDependencyError(
            f"writing {path.name} needs matplotlib (pip install 'glassnet[plots]'); "
            f"an .svg file needs nothing: plot_model(model, to_file='model.svg')") from exc
    width, height = pic.width, pic.height
    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(figure)  # the figure's own canvas: no pyplot, no backend switch
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # y grows downwards, as in the SVG
    ax.axis("off")
    for edge in pic.edges:
        points = pic.edge_points(edge, rankdir)
        if len(points) > 2:  # through its lanes, then the arrow into the box
            xs, ys = zip(*points[:-1])
            ax.plot(xs, ys, color=EDGE, linewidth=1.5)
        ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>",
                                     mutation_scale=12, color=EDGE, linewidth=1.5))
    for box in pic.boxes:
        x, y, cx = box.x, box.y, box.x + BOX_W / 2
        is_output = box.output_index is not None and not box.is_input
        ax.add_patch(FancyBboxPatch((x, y), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=8",
                                    facecolor=INPUT_FILL if box.is_input else FILL,
                                    edgecolor=INK if is_output else EDGE, linewidth=1.2))
        ax.text(cx, y + 22, box.title, ha="center", va="baseline", fontsize=10.5,
                fontweight="bold", color=INK)
        ax.text(cx, y + 42, box.detail, ha="center", va="baseline", fontsize=9, color=MUTED)
        if not box.is_input:
            pieces = [(t.strip(" ·"), c) for t, c in _counts_text(box) if t.strip() != "·"]
            step = BOX_W / (len(pieces) + 1)
            for k, (text, colour) in enumerate(pieces):  # each count in its colour
                ax.text(x + step * (k + 1), y + 62, text, ha="center", va="baseline",
                        fontsize=9, color=colour)
        tag = _output_tag(pic, box)
        if tag:
            ax.text(x + BOX_W - 8, y + BOX_H - 6, tag, ha="right", va="baseline",
                    fontsize=7.5, color=MUTED)
    ax.text(width / 2, height - MARGIN, pic.footer(), ha="center", va="baseline",
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
    pic = place(picture(model, show_shapes, show_layer_names, show_layer_activations,
                        show_trainable), rankdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".svg":
        text = _svg(pic, rankdir)
        temporary = path.with_name(path.name + ".part")
        temporary.write_text(text)
        temporary.replace(path)  # never a half-written file
    else:
        temporary = path.with_name(path.stem + ".part" + path.suffix)
        _draw(pic, rankdir, temporary, int(dpi))
        temporary.replace(path)
    return ModelPlot(path)


__all__ = ["ModelPlot", "plot_model"]
