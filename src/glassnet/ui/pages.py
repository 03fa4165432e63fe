"""The HTML shell every dashboard page shares; the page's content is drawn by app.js.

The server puts nothing user-supplied into HTML except through :func:`html.escape`
(the run id and store path in attributes and text); run names, config keys and values
and layer names reach the browser as JSON and are put into the page with
``textContent`` by the scripts.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from string import Template

SCRIPTS = ("app.js", "charts.js", "network.js", "live.js", "compare.js", "weightdiff.js",
           "hyper.js", "runs.js", "runspage.js", "pages.js")  # in this order
STYLES = ("style.css",)


def asset_dir() -> Path:
    """The folder of the dashboard's own static files (inside the installed package)."""
    return Path(str(resources.files("glassnet.ui").joinpath("static")))


def plotly_js() -> Path:
    """plotly.min.js as shipped inside the installed ``plotly`` Python package."""
    from importlib.util import find_spec

    from glassnet.errors import MissingDependencyError

    spec = find_spec("plotly")  # its location only: importing plotly itself is not needed
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("plotly is needed for the dashboard's charts and is not "
                                     "installed: pip install 'glassnet[ui]'")
    path = Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise MissingDependencyError(f"plotly.min.js is missing from the plotly package at "
                                     f"{path}; reinstall: pip install 'glassnet[ui]'")
    return path


def _template() -> Template:
    text = resources.files("glassnet.ui").joinpath("templates/page.html").read_text("utf-8")
    return Template(text)


def render(page: str, title: str, *, store: str = "", run: str = "", run_a: str = "",
           run_b: str = "", mode: str = "live", styles: str = "", scripts: str = "",
           nav: str | None = None, home: str = "/") -> str:
    """The page shell with every given text escaped; ``styles``/``scripts`` are trusted HTML."""
    e = html.escape
    if nav is None:
        nav = ('<a href="/">Runs</a><a href="/compare">Compare</a>'
               '<a href="/registry">Datasets &amp; models</a>')
    return _template().substitute(
        page=e(page), title=e(title), store=e(store), run=e(run), run_a=e(run_a),
        run_b=e(run_b), mode=e(mode), styles=styles, scripts=scripts, nav=nav, home=e(home),
    )


CHART_PAGES = ("run", "compare")  # the others draw no chart: they skip plotly's 4.8 MB


def live_page(page: str, title: str, **fields) -> str:
    """A page of the running dashboard: assets linked from /static/."""
    styles = "".join(f'<link rel="stylesheet" href="/static/{name}">' for name in STYLES)
    scripts = '<script src="/static/plotly.min.js"></script>' if page in CHART_PAGES else ""
    scripts += "".join(f'<script src="/static/{name}"></script>' for name in SCRIPTS)
    return render(page, title, styles=styles, scripts=scripts, **fields)


def not_found_page(message: str, store: str = "") -> str:
    """A 404 page for people: what was not found, and a link back to the runs list.

    Drawn by the server alone (no script, no plotly), so it shows even when the message
    names a run id that the page's scripts could not load."""
    styles = "".join(f'<link rel="stylesheet" href="/static/{name}">' for name in STYLES)
    text = render("notfound", "Not found", store=store, styles=styles)
    body = ('<main id="main"><div class="card notfound"><h1>Not found</h1>'
            f'<p class="error">{html.escape(message)}</p>'
            '<p><a class="button primary" href="/">← Back to the runs list</a></p>'
            '</div></main>')
    return text.replace('<main id="main"><p class="muted">Loading…</p></main>', body)
