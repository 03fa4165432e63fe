"""A trace in a notebook: forward and backward propagation as a sequence of small matrices.

Each layer reads as its formula with the actual numbers: x · W + b = z → g → a on the
way forward, then dz, dW = xᵀ dz and db = Σ dz on the way back, each matrix with its
name and shape (large ones show their corners). ``Trace._repr_html_`` calls
:func:`trace_html`.
"""

from __future__ import annotations

from glassnet._engine.table import format_value
from glassnet.report.display import CODE, MUTED, box, esc, matrix, note


def _op(symbol: str) -> str:
    return (f'<span style="display:inline-block;vertical-align:middle;margin:0 2px;{CODE};'
            f'font-size:14px">{esc(symbol)}</span>')


def _layer_head(text: str) -> str:
    return f'<div style="margin-top:6px;font-weight:600">{esc(text)}</div>'


def _forward(p) -> str:
    if not p.has_kernel:
        activation = f", {p.activation}" if p.activation else ""
        return (_layer_head(f"{p.name} ({p.kind}{activation})")
                + f'<div class="glassnet-layer" data-layer="{esc(p.name)}">'
                + matrix(p.x, "x") + _op("→") + matrix(p.a, "a") + "</div>")
    n_in, units = p.W.shape
    parts = [matrix(p.x, "x"), _op("·"), matrix(p.W, "W")]
    if p.b is not None:
        parts += [_op("+"), matrix(p.b, "b")]
    parts += [_op("="), matrix(p.z, "z"), _op(f"→ {p.activation} →"), matrix(p.a, "a")]
    return (_layer_head(f"{p.name} (Dense, {n_in} → {units}, {p.activation})")
            + f'<div class="glassnet-layer" data-layer="{esc(p.name)}" '
              f'data-direction="forward">{"".join(parts)}</div>')


def _backward(p) -> str:
    parts = []
    if p.da is not None:
        parts += [matrix(p.da, "dL/da"), _op(f"⊙ {p.activation}'(z) ="), matrix(p.dz, "dz")]
    else:
        parts.append(matrix(p.dz, "dz"))
    parts += [_op(";"), matrix(p.dW, "dW = xᵀ dz")]
    if p.db is not None:
        parts += [_op(";"), matrix(p.db, "db = Σ dz")]
    return (_layer_head(f"{p.name} backward")
            + f'<div class="glassnet-layer" data-layer="{esc(p.name)}" '
              f'data-direction="backward">{"".join(parts)}</div>')


def trace_html(trace) -> str:
    both = trace.loss is not None
    title = (f"Trace of {trace.model_name!r}: forward"
             + (" and backward propagation" if both else " propagation"))
    body = ['<div style="font-weight:600;margin-top:4px">Forward</div>']
    body += [_forward(p) for p in trace.layers]
    if both:
        body.append(f'<div class="glassnet-loss" style="margin-top:8px">loss '
                    f'({esc(trace.loss_name)}) = <b>{esc(format_value(float(trace.loss)))}'
                    f'</b></div>')
        if trace.fused:
            body.append(note("output activation and loss are fused: dz = (a − y) / n"))
        body.append('<div style="font-weight:600;margin-top:6px">Backward</div>')
        body += [_backward(p) for p in reversed(trace.layers) if p.has_kernel]
    body.append(f'<div style="{MUTED};margin-top:4px">Blue: positive, orange: negative; '
                f'matrices larger than 8×8 show their corners (trace.tables() and '
                f'print(trace) give every statistic).</div>')
    return box(title, "".join(body), "trace")


def trace_markdown(trace) -> str:
    return "```\n" + str(trace) + "```\n"
