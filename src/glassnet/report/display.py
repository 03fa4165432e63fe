"""How glassnet's objects show themselves in a notebook: HTML, with Markdown and text beside.

The engine's classes (Sequential, Variable, Table, Trace, History, Run, the findings of
``diagnose``) each have a one-line ``_repr_html_`` that imports this module on first use,
so ``import glassnet`` stays light. Every function here returns a small, self-contained
HTML fragment: inline styles only (no ``<style>`` a notebook might strip), text in the
theme's own colour, lines and shading translucent, so it reads on light and dark themes;
every name a user chose is escaped.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

from glassnet._engine.table import format_value

POSITIVE, NEGATIVE = "#2563eb", "#e8710a"   # the dashboard's colours for w > 0 and w < 0
MAX_TABLE_ROWS = 40
MATRIX_MAX = 8        # rows and columns of a matrix written out; larger ones show corners

BOX = ("font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
       "line-height:1.4;color:inherit;max-width:100%;overflow-x:auto;margin:2px 0")
TABLE = ("border-collapse:collapse;margin:4px 0;color:inherit;background:transparent;"
         "font-size:inherit")
CELL = ("padding:2px 8px;border-bottom:1px solid rgba(127,127,127,0.3);"
        "background:transparent;color:inherit")
HEAD = CELL + ";font-weight:600;border-bottom:1px solid rgba(127,127,127,0.6)"
MUTED = "opacity:0.75"
CODE = "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px"


def esc(text) -> str:
    return escape(str(text), quote=True)


def box(title: str, body: str, kind: str) -> str:
    """The outer frame: a bold title line, then the body; ``kind`` names it for tests and CSS."""
    return (f'<div class="glassnet glassnet-{kind}" style="{BOX}">'
            f'<div style="font-weight:600;margin-bottom:2px">{esc(title)}</div>{body}</div>')


def note(text: str) -> str:
    return f'<div style="{MUTED}">{esc(text)}</div>'


def html_table(columns, rows, numeric=None, caption: str = "") -> str:
    """A plain table; ``numeric`` (one bool per column) right-aligns numbers."""
    numeric = numeric or [False] * len(columns)
    align = ["right" if n else "left" for n in numeric]
    head = "".join(f'<th style="{HEAD};text-align:{a}">{esc(c)}</th>'
                   for c, a in zip(columns, align, strict=True))
    body = "".join("<tr>" + "".join(f'<td style="{CELL};text-align:{a}">{esc(v)}</td>'
                                    for v, a in zip(row, align, strict=True)) + "</tr>"
                   for row in rows)
    cap = (f'<caption style="caption-side:bottom;text-align:left;{MUTED}">{esc(caption)}'
           f'</caption>') if caption else ""
    return (f'<table style="{TABLE}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table>')


def shape_text(shape) -> str:
    return "×".join(str(d) for d in shape) if len(shape) else "scalar"


def _cell_colour(value: float, limit: float) -> str:
    """A translucent blue (positive) or orange (negative) wash, stronger for larger |value|."""
    if not math.isfinite(value) or limit == 0:
        return "transparent"
    hexcode = POSITIVE if value > 0 else NEGATIVE
    alpha = min(abs(value) / limit, 1.0) * 0.45
    r, g, b = (int(hexcode[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def _kept(n: int, limit: int) -> list[int | None]:
    """Indices shown along one axis: all, or the first and last few with None for the gap."""
    if n <= limit:
        return list(range(n))
    half = limit // 2
    return list(range(half)) + [None] + list(range(n - half, n))


def matrix(values, label: str) -> str:
    """A small matrix (or vector) with its name and shape; large ones show their corners."""
    array = np.asarray(values, dtype=np.float64)
    shape = array.shape
    grid = array.reshape(1, -1) if array.ndim <= 1 else array.reshape(shape[0], -1)
    finite = grid[np.isfinite(grid)]
    limit = float(np.abs(finite).max()) if finite.size else 0.0
    rows = []
    for i in _kept(grid.shape[0], MATRIX_MAX):
        cells = []
        for j in _kept(grid.shape[1], MATRIX_MAX):
            if i is None or j is None:
                cells.append(f'<td style="padding:1px 5px;text-align:center;{MUTED}">…</td>')
                continue
            v = float(grid[i, j])
            cells.append(f'<td style="padding:1px 5px;text-align:right;background:'
                         f'{_cell_colour(v, limit)}">{esc(format_value(v))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"{label} ({shape_text(shape)})"
    return (f'<div class="glassnet-matrix" data-label="{esc(label)}" '
            f'data-shape="{esc(shape_text(shape))}" style="display:inline-block;'
            f'vertical-align:middle;margin:2px 4px"><div style="{MUTED};{CODE}">{esc(caption)}'
            f'</div><table style="{TABLE};{CODE};border-left:1px solid currentColor;'
            f'border-right:1px solid currentColor">{"".join(rows)}</table></div>')


def stats_row(array) -> list:
    """mean, std, min, max of an array (finite values), as plain floats."""
    a = np.asarray(array, dtype=np.float64)
    if a.size == 0:
        return [None] * 4
    return [float(a.mean()), float(a.std()), float(a.min()), float(a.max())]


# -- Table ----------------------------------------------------------------------------
def table_html(table) -> str:
    shown = table.rows[:MAX_TABLE_ROWS]
    rows = [[format_value(v) for v in row] for row in shown]
    notes = list(table.notes)
    if len(table.rows) > len(shown):
        notes.append(f"… {len(table.rows) - len(shown)} more rows (of {len(table.rows)}): "
                     f"to_csv(), to_records() or print() give them all")
    numeric = [bool(column) and all(v is None or isinstance(v, (int, float)) for v in column)
               and any(v is not None for v in column)
               for column in ([row[i] for row in table.rows] for i in range(len(table.columns)))]
    body = html_table(table.columns, rows, numeric)
    return box(table.title or "Table", body + "".join(note(n) for n in notes), "table")


# -- Variable -------------------------------------------------------------------------
def variable_html(variable) -> str:
    mean, std, low, high = stats_row(variable.value)
    head = (f"{variable.path}: {shape_text(variable.shape)} {variable.dtype}, "
            f"{'trainable' if variable.trainable else 'not trainable'}")
    stats = html_table(["values", "mean", "std", "min", "max"],
                       [[f"{variable.size:,}", *(format_value(v) for v in (mean, std, low, high))]],
                       [True] * 5)
    return box(head, stats + matrix(variable.value, variable.name), "variable")


def variable_markdown(variable) -> str:
    mean, std, low, high = stats_row(variable.value)
    return (f"**{variable.path}** {shape_text(variable.shape)} {variable.dtype}: mean "
            f"{format_value(mean)}, std {format_value(std)}, min {format_value(low)}, "
            f"max {format_value(high)}")


# -- models ---------------------------------------------------------------------------
def model_rows(model) -> list[dict]:
    """One dict per layer: name, type, output shape, activation, weights, biases, params."""
    rows = []
    shape = getattr(model, "input_shape", None)
    for layer in model.layers:
        try:
            shape = layer.compute_output_shape(shape) if shape is not None else None
        except Exception:  # a layer that cannot say its shape: show "?" rather than fail
            shape = None
        kernels, biases = layer.weights_and_biases()  # BatchNormalization: gamma and beta
        rows.append({"layer": layer.name, "type": type(layer).__name__,
                     "output_shape": "?" if shape is None else
                     "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")",
                     "activation": getattr(layer, "activation_name", "") or "",
                     "weights": sum(v.size for v in kernels),
                     "biases": sum(v.size for v in biases),
                     "params": layer.count_params() if layer.built else 0})
    return rows


def model_html(model) -> str:
    rows = model_rows(model)
    body = html_table(["Layer", "Type", "Output shape", "Activation", "Weights", "Biases",
                       "Params"],
                      [[r["layer"], r["type"], r["output_shape"], r["activation"],
                        f"{r['weights']:,}", f"{r['biases']:,}", f"{r['params']:,}"]
                       for r in rows], [False] * 4 + [True] * 3)
    lines = []
    if model.built:
        total = sum(v.size for v in model.weights)
        trainable = sum(v.size for v in model.trainable_variables)
        lines.append(f"Total params: {total:,} = {sum(r['weights'] for r in rows):,} weights "
                     f"+ {sum(r['biases'] for r in rows):,} biases"
                     + (f" + {total - sum(r['weights'] + r['biases'] for r in rows):,} other"
                        if total != sum(r["weights"] + r["biases"] for r in rows) else "")
                     + f"; trainable {trainable:,}, non-trainable {total - trainable:,}")
    else:
        lines.append("Not built yet: give it an Input or call it on data to create its "
                     "weights and biases")
    if getattr(model, "compiled", False):
        optimizer = getattr(model.optimizer, "name", type(model.optimizer).__name__)
        loss = getattr(model.loss, "name", model.loss)
        lines.append(f"Compiled: optimizer {optimizer}, loss {loss}")
    return box(f'Model "{model.name}"', body + "".join(note(x) for x in lines), "model")


def model_markdown(model) -> str:
    from glassnet.models.summary import summary_text

    return "```\n" + summary_text(model) + "\n```\n"


# -- findings -------------------------------------------------------------------------
SEVERITY_COLOURS = {"error": "#dc2626", "warning": "#d97706"}


def _evidence(evidence: dict) -> str:
    return "; ".join(f"{k}={format_value(v) if isinstance(v, float) else v}"
                     for k, v in evidence.items())


def findings_html(findings, title: str = "Diagnosis") -> str:
    if not findings:
        return box(f"{title}: nothing found", note(
            "None of the checks (dead or saturated units, vanishing or exploding gradients, "
            "update sizes, symmetric start, bias dominance, output bias) triggered."),
            "findings")
    items = []
    for f in findings:
        colour = SEVERITY_COLOURS.get(f.severity, "currentColor")
        where = f" [{esc(f.layer)}]" if f.layer else ""
        items.append(f'<li class="glassnet-finding" style="margin:3px 0">'
                     f'<b style="color:{colour}">{esc(f.severity.upper())}</b>{where} '
                     f'{esc(f.what)}<br><span style="{CODE};{MUTED}">{esc(_evidence(f.evidence))}'
                     f'</span><br>{esc(f.advice)}</li>')
    count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    return box(f"{title}: {count}", f'<ul style="margin:2px 0;padding-left:18px">'
               f'{"".join(items)}</ul>', "findings")


def findings_markdown(findings, title: str = "Diagnosis") -> str:
    if not findings:
        return f"**{title}: nothing found**\n"
    return f"**{title}**\n\n" + "".join(f"- {f}\n" for f in findings)


# -- History --------------------------------------------------------------------------
def _final_rows(history) -> list[list]:
    rows = []
    for key, values in history.history.items():
        numbers = [float(v) for v in values if isinstance(v, (int, float))]
        if not numbers:
            continue
        lower = "loss" in key or "error" in key
        best = min(numbers) if lower else max(numbers)
        rows.append([key, format_value(numbers[0]), format_value(best), format_value(numbers[-1])])
    return rows


def history_html(history) -> str:
    from glassnet.report.svg import line_chart

    epochs = [e + 1 for e in history.epoch]
    series = [(key, epochs, values, key.startswith("val_"))
              for key, values in history.history.items()
              if key.endswith("loss") and len(values) == len(epochs)]
    chart = line_chart(series, x_label="epoch", y_label="loss") if epochs else ""
    table = html_table(["metric", "first", "best", "final"], _final_rows(history),
                       [False, True, True, True])
    return box(f"History: {len(epochs)} epoch{'s' if len(epochs) != 1 else ''}",
               f'<div>{chart}</div>{table}', "history")


def history_markdown(history) -> str:
    lines = [f"**History: {len(history.epoch)} epochs**", "", "| metric | first | best | final |",
             "|---|---:|---:|---:|"]
    lines += [f"| {' | '.join(row)} |" for row in _final_rows(history)]
    return "\n".join(lines) + "\n"


def history_text(history) -> str:
    rows = _final_rows(history)
    text = ", ".join(f"{key} {final}" for key, _, _, final in rows)
    return f"History: {len(history.epoch)} epochs; final {text or 'nothing logged'}"


# -- runs -----------------------------------------------------------------------------
STATUS_COLOURS = {"finished": "#16a34a", "running": "#2563eb", "failed": "#dc2626",
                  "crashed": "#dc2626"}
MAX_METRICS = 12


def _key_metrics(summary: dict) -> list[tuple[str, float]]:
    """The run's last values, epoch means and test figures first (what a reader looks for)."""
    def rank(key):
        return (0 if key.startswith(("test/", "epoch/")) else 1, key)
    keys = sorted((k for k, v in summary.items() if isinstance(v, (int, float))), key=rank)
    return [(k, summary[k]) for k in keys[:MAX_METRICS]]


def run_html(run) -> str:
    status = run.status
    colour = STATUS_COLOURS.get(status, "currentColor")
    body = [f'<div>project <b>{esc(run.project)}</b> · status '
            f'<b class="glassnet-status" style="color:{colour}">{esc(status)}</b></div>']
    metrics = _key_metrics(run.summary)
    if metrics:
        body.append(html_table(["metric", "last value"],
                               [[k, format_value(float(v))] for k, v in metrics], [False, True]))
    else:
        body.append(note("Nothing logged yet."))
    if run.config:
        config = ", ".join(f"{k}={v}" for k, v in run.config.items())
        body.append(f'<div style="{MUTED}">config: {esc(config)}</div>')
    root = getattr(run.store, "root", "glassnet-runs")
    body.append(f'<div>Open it in the dashboard: <code style="{CODE}">glassnet ui --store '
                f'{esc(root)}</code>, then <code style="{CODE}">http://127.0.0.1:8765/runs/'
                f'{esc(run.id)}</code></div>')
    return box(f"Run {run.name} ({run.id})", "".join(body), "run")


def run_markdown(run) -> str:
    metrics = ", ".join(f"{k} {format_value(float(v))}" for k, v in _key_metrics(run.summary))
    return (f"**Run {run.name} ({run.id})**, project {run.project}, {run.status}. "
            f"{metrics}\n\nDashboard: `glassnet ui --store {run.store.root}` → /runs/{run.id}\n")

