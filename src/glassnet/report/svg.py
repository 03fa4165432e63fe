"""A small line chart as inline SVG: the loss curves of History and LiveView, no matplotlib.

Text and axes are drawn in ``currentColor``, so the chart reads on light and dark
notebook themes alike; the series use the dashboard's colours.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

SERIES_COLOURS = ("#2563eb", "#e8710a", "#16a34a", "#9333ea", "#dc2626", "#0891b2")
MAX_POINTS = 300


def _thin(xs, ys) -> list[tuple[float, float]]:
    """At most MAX_POINTS points, each bucket's minimum and maximum kept (so a loss spike
    survives: track/thinning.py), first and last kept; non-finite points (which a line
    cannot draw) dropped first."""
    from glassnet.track.thinning import thin_indices

    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size > MAX_POINTS:
        index = thin_indices(y, MAX_POINTS)
        x, y = x[index], y[index]
    return list(zip(x.tolist(), y.tolist(), strict=True))


def _tick(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-2:
        return f"{value:.1e}"
    return f"{value:.3g}"


def line_chart(series, width: int = 420, height: int = 190, x_label: str = "epoch",
               y_label: str = "loss", title: str = "") -> str:
    """``series``: ``[(label, xs, ys)]`` or ``[(label, xs, ys, dashed)]``; returns ``<svg>``.

    The y axis turns logarithmic when every value is positive and they span more than
    two decades (a loss falling from 1e5 to 1e-3 stays readable).
    """
    cleaned = []
    for item in series:
        label, xs, ys = item[:3]
        points = _thin(xs, ys)
        if points:
            cleaned.append((label, points, bool(item[3]) if len(item) > 3 else False))
    left, right, top, bottom = 58, 12, 22 if title else 10, 34
    inner_w, inner_h = width - left - right, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" style="color:inherit;font:11px '
             f'sans-serif"><title>{escape(title or y_label)}</title>']
    if title:
        parts.append(f'<text x="{left}" y="14" fill="currentColor" font-weight="600">'
                     f'{escape(title)}</text>')
    if not cleaned:
        parts.append(f'<text x="{left}" y="{top + inner_h / 2}" fill="currentColor">'
                     f'no values yet</text></svg>')
        return "".join(parts)
    all_x = [x for _, points, _ in cleaned for x, _ in points]
    all_y = [y for _, points, _ in cleaned for _, y in points]
    x0, x1 = min(all_x), max(all_x)
    y0, y1 = min(all_y), max(all_y)
    log = y0 > 0 and y1 / y0 > 100
    transform = math.log10 if log else (lambda v: v)
    t0, t1 = transform(y0), transform(y1)
    if t1 == t0:
        t0, t1 = t0 - 0.5, t1 + 0.5
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5

    def sx(x):
        return left + (x - x0) / (x1 - x0) * inner_w

    def sy(y):
        return top + (1 - (transform(y) - t0) / (t1 - t0)) * inner_h

    axis = 'stroke="currentColor" stroke-opacity="0.45"'
    parts.append(f'<rect x="{left}" y="{top}" width="{inner_w}" height="{inner_h}" fill="none" '
                 f'{axis}/>')
    for fraction in (0.0, 0.5, 1.0):
        t = t0 + fraction * (t1 - t0)
        value = 10 ** t if log else t
        y = top + (1 - fraction) * inner_h
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="currentColor">{_tick(value)}</text>')
    for x, anchor in ((x0, "start"), (x1, "end")):
        shown = int(x) if float(x).is_integer() else round(x, 2)
        parts.append(f'<text x="{sx(x):.1f}" y="{top + inner_h + 14}" text-anchor="{anchor}" '
                     f'fill="currentColor">{shown}</text>')
    parts.append(f'<text x="{left + inner_w / 2}" y="{height - 4}" text-anchor="middle" '
                 f'fill="currentColor">{escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{top + inner_h / 2}" text-anchor="middle" fill="currentColor" '
                 f'transform="rotate(-90 12 {top + inner_h / 2})">'
                 f'{escape(y_label + (" (log)" if log else ""))}</text>')
    legend_x = left + inner_w - 6  # top right: a falling loss starts top left
    for i, (label, points, dashed) in enumerate(cleaned):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="1.8"{dash}><title>{escape(label)}</title></polyline>')
        if len(points) == 1:
            x, y = points[0]
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x}" y="{top + 13 + 13 * i}" text-anchor="end" '
                     f'fill="{colour}">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
