"""``glassnet report RUN --format html``: one self-contained HTML file with the dashboard's figures.

The file holds everything it needs -- plotly.js from the installed plotly package, the
dashboard's own scripts and styles, and the data of each run as embedded JSON -- so it
opens offline, from disk or an e-mail, and looks like the run page of ``glassnet ui``.
The data is made by the same functions the HTTP app serves (:mod:`glassnet.ui.queries`),
keyed by the same request the page's script would make.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import time
from pathlib import Path

from glassnet.track.thinning import thin_indices
from glassnet.ui import diagnostics, pages, queries

MAX_REPLAY_SNAPSHOTS = 24  # snapshots embedded for the step slider (evenly spread, last kept)
_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def data_key(path: str, params: dict | None = None) -> str:
    """The key under which the page's script looks up ``GN.api(path, params)`` (see app.js)."""
    items = sorted((k, v) for k, v in (params or {}).items() if v not in (None, ""))
    return path + "|" + "&".join(f"{k}={v}" for k, v in items)


def _run_ids(run_ids, store) -> list[str]:
    if isinstance(run_ids, (str, bytes)) or hasattr(run_ids, "id"):
        run_ids = [run_ids]
    ids = [store.resolve_run_id(getattr(r, "id", r)) for r in run_ids]
    if not ids:
        raise ValueError("write_html needs at least one run id, got none")
    return list(dict.fromkeys(ids))


def report_data(run_ids, store) -> dict:
    """Every response the report page asks for, keyed by :func:`data_key`."""
    ids = _run_ids(run_ids, store)
    data = {data_key("/report"): {"runs": ids, "compare": ids[:2] if len(ids) >= 2 else None}}
    for run_id in ids:
        base = f"/api/runs/{run_id}"
        detail = queries.run_detail(store, run_id)
        data[data_key(base)] = detail
        data[data_key(base + "/metrics")] = queries.curves(store, run_id)
        data[data_key(base + "/params")] = queries.param_series(store, run_id)
        data[data_key(base + "/layers")] = queries.layer_series(store, run_id)
        for path in detail["param_paths"]:
            data[data_key(base + "/histograms", {"path": path})] = \
                queries.histogram_heatmap(store, run_id, path)
        data[data_key(base + "/tables")] = queries.tables(store, run_id)
        data[data_key(base + "/diagnostics")] = diagnostics.findings(store, run_id)
        data.update(_replay(store, run_id, base))
    if len(ids) >= 2:
        data[data_key("/api/compare", {"a": ids[0], "b": ids[1]})] = \
            queries.compare(store, ids[0], ids[1])
    return queries.jsonable(data)


def _replay(store, run_id: str, base: str) -> dict:
    """The network diagram at the end and at up to MAX_REPLAY_SNAPSHOTS snapshot steps."""
    steps = store.snapshots(run_id)
    steps = [steps[i] for i in thin_indices(len(steps), MAX_REPLAY_SNAPSHOTS)]
    out = {}
    for step in steps:
        diagram = queries.network_at(store, run_id, step)
        diagram["steps"] = steps
        out[data_key(base + "/network", {"step": step})] = diagram
    end = queries.network_at(store, run_id, "end")
    end["steps"] = steps
    out[data_key(base + "/network", {"step": "end"})] = end
    return out


def _inline_script(text: str) -> str:
    # "</script" would end the element early; "<\\/script" means the same inside JS
    return "<script>" + _SCRIPT_END.sub(r"<\\/\1", text) + "</script>"


def _packed(element_id: str, text: str) -> str:
    """``text`` gzipped and base64-encoded in an inert script element (unpack.js opens it).

    plotly.js alone is 4.8 MB; gzipped it is a third of that, and base64 has no ``<``, so
    no JSON or script text can end the element early."""
    packed = base64.b64encode(gzip.compress(text.encode("utf-8"), 9, mtime=0)).decode("ascii")
    return f'<script type="application/gzip+base64" id="{element_id}">{packed}</script>'


def _json_text(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def render_html(run_ids, store=None) -> str:
    """The report page for ``run_ids`` as one HTML string."""
    from glassnet.track.store import open_store

    store = open_store(store)
    data = report_data(run_ids, store)
    ids = data[data_key("/report")]["runs"]
    names = [store.run(r)["name"] for r in ids]
    assets = pages.asset_dir()
    styles = "<style>" + "".join((assets / n).read_text("utf-8") for n in pages.STYLES) + "</style>"
    code = [pages.plotly_js().read_text("utf-8")]
    code += [(assets / n).read_text("utf-8") for n in pages.SCRIPTS]
    scripts = [_packed("glassnet-data-packed", _json_text(data)),
               _packed("glassnet-code-packed", "\n;\n".join(code)),
               _inline_script((assets / "unpack.js").read_text("utf-8"))]
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return pages.render("report", "Report: " + ", ".join(names), store=f"report made {stamp}",
                        mode="static", styles=styles, scripts="\n".join(scripts), nav="",
                        home="#")


REPORTS_FOLDER = "reports"  # inside the store: the default home of HTML reports


def report_path(run_ids, store, path=None) -> Path:
    """Where :func:`write_html` writes: ``path`` if it names a file; inside ``path`` if it
    is an existing folder (or ends with a separator); else ``STORE/reports/NAME.html``,
    NAME the first run's id (and ``+N`` more) -- never silently the current folder."""
    from glassnet.track.store import open_store

    store = open_store(store)
    ids = _run_ids(run_ids, store)
    name = ids[0] + (f"+{len(ids) - 1}" if len(ids) > 1 else "") + ".html"
    if path is None:
        return Path(store.files) / REPORTS_FOLDER / name  # the store's folder (local)
    text = os.fspath(path)
    path = Path(text)
    if path.is_dir() or text.endswith((os.sep, "/")):
        return path / name
    return path


def write_html(run_ids, store=None, path=None) -> Path:
    """Write one self-contained, offline HTML report of ``run_ids``; return its path.

    ``run_ids``: a run id (or unique prefix), a Run, or a list of them; with two or more,
    the report ends with a comparison of the first two. ``path``: a file, or a folder to
    write into; by default ``STORE/reports/<first run id>.html`` (see :func:`report_path`).
    """
    path = report_path(run_ids, store, path)
    text = render_html(run_ids, store)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
