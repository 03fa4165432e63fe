"""The dashboard's HTTP app: HTML pages and read-only JSON endpoints over one run store.

``create_app(store_path)`` returns a FastAPI app. Every route answers GET and HEAD (the
same headers, no body); any other method gets 405. A query parameter that is malformed
or out of range gets 400 with a message naming it. Static files come only from the
package's own ``ui/static`` folder (a fixed list of names) and plotly.min.js from the
installed plotly package; blobs only by a 64-hex hash that the store's records name.
Each response carries ``Server-Timing`` (``app;dur=<ms>``), the server time the
benchmarks read.
"""

from __future__ import annotations

import time
from pathlib import Path

from glassnet.errors import require
from glassnet.ui import compare, diagnostics, pages, queries, runs_list

_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'")
# plotly's parallel coordinates draw with regl, which compiles its WebGL draw calls with
# new Function(): the compare page alone may evaluate code (its own scripts' only; every
# user-supplied text still goes in with textContent)
_CSP_EVAL = _CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")
_EVAL_PAGES = ("/compare",)
_ALLOWED_METHODS = ("GET", "HEAD")


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def create_app(store_path=None, allowed_hosts=None):
    """A FastAPI app serving the store at ``store_path`` (a folder, or an open Store).

    ``allowed_hosts``: the names the ``Host`` header may carry (any port); requests for
    other hosts get 400. ``serve`` passes the loopback names when it binds 127.0.0.1, so
    a web page elsewhere cannot reach the dashboard by pointing its own domain name at
    127.0.0.1 (DNS rebinding). None accepts any host.
    """
    fastapi = require("fastapi", "ui")
    responses = require("fastapi.responses", "ui")
    from glassnet.track.errors import NotFoundError
    from glassnet.track.store import DB_NAME, Store, open_store, resolve_store_path
    from glassnet.track.store.opening import store_exists

    if not isinstance(store_path, Store):
        folder = resolve_store_path(store_path)
        if not store_exists(folder):
            raise NotFoundError(f"no glassnet store at {folder} (no {DB_NAME} there); record a "
                                "run first (e.g. `glassnet demo`) or pass --store DIR")
    store = open_store(store_path)
    app = fastapi.FastAPI(title="glassnet", docs_url=None, redoc_url=None, openapi_url=None)
    Query = fastapi.Query
    JSONResponse, HTMLResponse = responses.JSONResponse, responses.HTMLResponse
    FileResponse = responses.FileResponse
    static = {p.name: p for p in pages.asset_dir().iterdir() if p.suffix in _MEDIA}
    store_label = str(store.root)
    hosts = None if allowed_hosts is None else {h.strip("[]").lower() for h in allowed_hosts}

    @app.middleware("http")
    async def read_only_and_timed(request, call_next):
        if request.method not in _ALLOWED_METHODS:
            return JSONResponse({"error": "the dashboard is read-only: GET only"},
                                status_code=405, headers={"Allow": "GET, HEAD"})
        if hosts is not None and _host_name(request.headers.get("host", "")) not in hosts:
            return JSONResponse({"error": f"host not allowed; use one of {sorted(hosts)}"},
                                status_code=400)
        start = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1e3:.2f}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            _CSP_EVAL if request.url.path in _EVAL_PAGES else _CSP)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.exception_handler(fastapi.exceptions.RequestValidationError)
    async def invalid_parameter(request, exc):
        return JSONResponse({"error": _validation_message(exc.errors())}, status_code=400)

    @app.exception_handler(OverflowError)  # a number too big for SQLite's 64-bit integers
    async def out_of_range(request, exc):
        return JSONResponse({"error": f"a number in the request is out of range: {exc}"},
                            status_code=400)

    @app.exception_handler(NotFoundError)
    async def not_found(request, exc):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=404)
        # a person followed a link or typed a URL: a page that says so, with a way back
        return HTMLResponse(pages.not_found_page(str(exc), store=store_label),
                            status_code=404)

    @app.exception_handler(ValueError)
    async def bad_request(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=400)

    def as_json(data) -> JSONResponse:
        return JSONResponse(queries.jsonable(data))

    def page(kind: str, title: str, **fields) -> HTMLResponse:
        return HTMLResponse(pages.live_page(kind, title, store=store_label, **fields))

    # -- pages ---------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def runs_page():
        return page("runs", "Runs")

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(run_id: str):
        run = store.run(run_id)
        return page("run", run["name"], run=run["id"])

    run_query = Query(None)  # ?run=a&run=b: a list needs Query to be read from the URL

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(a: str = "", b: str = "", run: list[str] | None = run_query,
                     sweep: str = ""):
        ids = [store.resolve_run_id(r) if r else "" for r in (a, b)]
        if run or sweep:  # /compare?run=A&run=B&run=C or ?sweep=ID: N runs (compare.js)
            ids = compare.run_ids(store, [*filter(None, ids), *(run or [])], sweep or None)
            return page("compare", "Compare runs", run_a=",".join(ids))
        return page("compare", "Compare runs", run_a=ids[0], run_b=ids[1])

    @app.get("/registry", response_class=HTMLResponse)
    def registry_page():
        return page("registry", "Datasets & models")

    @app.get("/static/{name}")
    def static_file(name: str):
        if name == "plotly.min.js":
            path = pages.plotly_js()
        elif name in static:
            path = static[name]
        else:
            return JSONResponse({"error": f"no static file {name!r}"}, status_code=404)
        return FileResponse(path, media_type=_MEDIA[Path(path).suffix],
                            headers={"Cache-Control": "max-age=3600"})

    # -- JSON ----------------------------------------------------------------------
    @app.get("/api/runs")
    def api_runs(filter: str = "", order_by: str = "", group: str = "", offset: int = 0,
                 limit: int = runs_list.DEFAULT_LIMIT, columns: str = "", score: str = "",
                 project: str = "", status: str = "", sweep: str = ""):
        return as_json(runs_list.runs_page(store, filter, order_by, group, offset, limit,
                                           columns, score, project, status, sweep))

    @app.get("/api/run-columns")
    def api_run_columns():
        return as_json(runs_list.run_columns(store))

    @app.get("/api/runs/{run_id}")
    def api_run(run_id: str):
        return as_json(queries.run_detail(store, run_id))

    key_query = Query(None)  # ?key=a&key=b: a list needs Query to be read from the URL

    @app.get("/api/runs/{run_id}/metrics")
    def api_metrics(run_id: str, key: list[str] | None = key_query,
                    max_points: int = queries.MAX_CURVE_POINTS):
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2 (first and last), got {max_points}")
        return as_json(queries.curves(store, run_id, key, max_points))

    @app.get("/api/runs/{run_id}/params")
    def api_params(run_id: str):
        return as_json(queries.param_series(store, run_id))

    @app.get("/api/runs/{run_id}/layers")
    def api_layers(run_id: str):
        return as_json(queries.layer_series(store, run_id))

    @app.get("/api/runs/{run_id}/histograms")
    def api_histograms(run_id: str, path: str):
        return as_json(queries.histogram_heatmap(store, run_id, path))

    @app.get("/api/runs/{run_id}/network")
    def api_network(run_id: str, step: str = "end"):
        return as_json(queries.network_at(store, run_id, _step(step, "step")))

    @app.get("/api/runs/{run_id}/tables")
    def api_tables(run_id: str):
        return as_json(queries.tables(store, run_id))

    @app.get("/api/runs/{run_id}/diagnostics")
    def api_diagnostics(run_id: str):
        return as_json(diagnostics.findings(store, run_id))

    @app.get("/api/compare")
    def api_compare(a: str, b: str):
        return as_json(queries.compare(store, a, b))

    @app.get("/api/compare-runs")
    def api_compare_runs(run: list[str] | None = run_query, sweep: str | None = None):
        return as_json(compare.compare_runs(store, run or [], sweep))

    @app.get("/api/weight-diff")
    def api_weight_diff(a: str, b: str, step_a: str = "end", step_b: str = "end",
                        top: int = compare.TOP_K):
        return as_json(compare.weight_diff(store, a, b, _step(step_a, "step_a"),
                                           _step(step_b, "step_b"), top))

    @app.get("/api/registry")
    def api_registry():
        return as_json(queries.registry(store))

    @app.get("/api/blobs/{sha}")
    def api_blob(sha: str):
        path = store.blobs.path(sha)  # ValueError (400) unless 64 lowercase hex digits
        if sha not in queries.known_blobs(store) or not path.is_file():
            return JSONResponse({"error": f"no blob {sha} in this store"}, status_code=404)
        return FileResponse(path, media_type="application/octet-stream", filename=sha)

    app.add_middleware(_HeadAsGet)  # outermost: every route answers HEAD as its GET
    return app


class _HeadAsGet:
    """Answer HEAD like GET without the body: FastAPI's GET routes would answer 405."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message):
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(dict(scope, method="GET"), receive, headers_only)


def _validation_message(errors) -> str:
    """``"query parameter max_points: Input should be a valid integer, got 'x'"``..."""
    parts = []
    for error in errors:
        where = [str(p) for p in error.get("loc", ())]
        name = (f"{where[0]} parameter {'.'.join(where[1:])}" if len(where) > 1
                else ".".join(where) or "request")
        got = f", got {error['input']!r}" if "input" in error else ""
        parts.append(f"{name}: {error.get('msg', 'invalid')}{got}")
    return "; ".join(parts)


def _step(step: str, name: str):
    """A snapshot step from a query parameter: a step number, or ``end`` (the last)."""
    if step in ("end", "last"):
        return step
    try:
        return int(step)
    except ValueError:
        raise ValueError(f"{name} must be a step number or 'end', got {step!r}") from None


def _host_name(header: str) -> str:
    """``"127.0.0.1"`` from ``"127.0.0.1:8765"``, ``"::1"`` from ``"[::1]:8765"``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header
