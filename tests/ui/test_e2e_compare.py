"""Comparing five runs in Debian's Chromium (issue 20, item 2), and the charts' look
(item 5): toolbar on hover, log axes labelled at decades."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("/usr/bin/chromium is not installed", allow_module_level=True)

from test_e2e import ARGS, ARTIFACTS, CHROMIUM, page  # noqa: E402,F401  (the same page fixture)
from ui_helpers import serve_in_thread  # noqa: E402

# the screenshots in docs/ are remade on request only: a test run leaves the tree clean
DOCS = (Path(__file__).resolve().parents[2] / "docs" / "images"
        if os.environ.get("GLASSNET_UPDATE_DOCS_IMAGES") else ARTIFACTS)
# plotly's parallel coordinates draw with WebGL: software WebGL (SwiftShader) in place of a GPU
WEBGL_ARGS = [a for a in ARGS if a != "--disable-gpu"] + ["--use-angle=swiftshader",
                                                          "--enable-unsafe-swiftshader"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=WEBGL_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def five_server(five):
    with serve_in_thread(five["store"].root) as url:
        yield url


def test_five_runs_chosen_in_the_list_are_compared(page, five, five_server):  # noqa: F811
    ids, store = five["ids"], five["store"]
    page.goto(five_server + "/?group=")  # the runs themselves, not their sweep's row
    page.wait_for_selector("table.runs tbody tr")
    for run_id in ids:
        page.check(f"tr[data-run='{run_id}'] input[type=checkbox]")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # docs' runs-list.png: test_e2e_runs.py
    page.screenshot(path=str(ARTIFACTS / "ui-runs-five-selected.png"))
    page.click("button:text('Compare selected')")
    page.wait_for_selector("#cmp-curves .js-plotly-plot")
    page.wait_for_selector("#cmp-weights table")
    # the legend names runs by what differs in their config
    legend = page.evaluate("""() => [...document.querySelectorAll('#cmp-curves .js-plotly-plot')]
        .find(d => d.layout.title.text === 'loss').data.map(t => t.name)""")
    assert sorted(legend) == sorted(f"activation={a} learning_rate={r}" for a, r in
                                    [("relu", 0.01), ("relu", 0.03), ("relu", 0.1),
                                     ("tanh", 0.01), ("tanh", 0.1)])
    differs = page.locator("table.compare tr.differs th").all_text_contents()
    assert differs == ["activation", "learning_rate"]
    # the single value is a bar per run
    bars = page.evaluate("""() => [...document.querySelectorAll('#cmp-singles .js-plotly-plot')]
        .map(d => d.data[0].x)""")
    assert bars == [pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])]
    # the weight difference between the first two runs' last snapshots, as NumPy has it
    rows = page.locator("#cmp-weights .diff-body > .table-wrap tbody tr")
    first = rows.nth(0).locator("td").all_text_contents()
    wa, wb = store.snapshot(ids[0], "end"), store.snapshot(ids[1], "end")
    pa = first[0].split(" ↔ ")[0]
    pb = first[0].split(" ↔ ")[-1]
    x, y = wa[pa].astype(np.float64), wb[pb].astype(np.float64)
    relative = np.linalg.norm(y - x) / np.linalg.norm(x)
    cosine = x.ravel() @ y.ravel() / np.linalg.norm(x) / np.linalg.norm(y)
    assert float(first[2]) == pytest.approx(relative, rel=1e-3)
    assert float(first[3]) == pytest.approx(cosine, rel=1e-3)
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "compare-5-runs.png"), full_page=True)
    # choosing another pair redraws the difference
    page.select_option("#diff-b", ids[4])
    page.wait_for_function(f"() => document.querySelector('#diff-step-b') && "
                           f"[...document.querySelectorAll('#diff-step-b option')].length === "
                           f"{len(store.snapshots(ids[4]))}")
    assert page.problems == []


def test_charts_show_their_toolbar_on_hover_and_label_log_axes_at_decades(
        page, five, five_server):  # noqa: F811
    page.goto(f"{five_server}/runs/{five['ids'][2]}")
    page.wait_for_selector("#weights .js-plotly-plot")
    assert page.locator(".modebar--hover").count() > 0
    ticks = page.evaluate("""() => [...document.querySelectorAll('#weights .js-plotly-plot')]
        .filter(d => d.layout.yaxis.type === 'log')
        .map(d => [...d.querySelectorAll('.ytick text')].map(t => t.textContent))""")
    assert ticks and all(labels for labels in ticks)
    # every label is a power of ten (plotly writes 10^-3 as 10 and a superscript −3)
    assert all(label.startswith("10") or label == "1" for labels in ticks for label in labels)
    assert page.problems == []


def test_a_sweeps_parallel_coordinates_draw_one_line_per_run(page, five, five_server):  # noqa: F811
    page.goto(five_server + "/")
    # the list's row of the sweep links to its compare page
    page.click("tr.group-row[data-group='sweep:sweep-five'] a:text-is('compare')")
    page.wait_for_url("**/compare?sweep=sweep-five")
    page.wait_for_selector("#cmp-hyper .js-plotly-plot")
    page.select_option("#hyper-metric", "test/accuracy")
    parcoords = page.evaluate("""() => [...document.querySelectorAll('#cmp-hyper .js-plotly-plot')]
        .map(d => d.data[0]).find(t => t.type === 'parcoords')""")
    labels = [dim["label"] for dim in parcoords["dimensions"]]
    assert labels == ["activation", "learning_rate", "test/accuracy"]
    assert all(len(dim["values"]) == 5 for dim in parcoords["dimensions"])
    assert parcoords["dimensions"][2]["values"] == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])
    assert page.locator(".no-webgl").count() == 0  # plotly could draw it (WebGL, CSP)
    lines = page.locator("#cmp-hyper .parcoords path.foreground, #cmp-hyper canvas").count()
    assert lines > 0
    assert page.locator("#cmp-hyper table tbody tr td:first-child").first.text_content() == \
        "activation"
    page.locator("#cmp-hyper").screenshot(path=str(DOCS / "sweep-parallel-coordinates.png"))
    assert page.problems == []
