"""The dashboard in a real Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Each test collects page errors and console errors and fails on any. Screenshots go to
tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

from ui_helpers import XSS_KEY, XSS_NAME, XSS_VALUE, serve_in_thread  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page that records every page error, console error and dialog."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    pg.problems, pg.dialogs = [], []
    pg.on("pageerror", lambda exc: pg.problems.append(f"pageerror: {exc}"))
    pg.on("console", lambda m: m.type == "error" and pg.problems.append(f"console: {m.text}"))

    def on_dialog(dialog):
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    context.close()


def shot(pg, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=full_page)


def test_runs_list_shows_the_recorded_runs_and_a_click_opens_one(page, live_server, filled):
    page.goto(live_server + "/?columns=config.learning_rate")
    page.wait_for_selector("table.runs tbody tr")
    names = page.locator("a.run-link").all_text_contents()
    assert sorted(names) == sorted(["relu-adam", "tanh-sgd", XSS_NAME, "stopped-early"])
    page.select_option("#filter-status", "failed")
    page.wait_for_function("() => document.querySelectorAll('a.run-link').length === 1")
    assert page.locator("a.run-link").all_text_contents() == ["stopped-early"]
    page.select_option("#filter-status", "")
    page.select_option("#filter-project", "digits")
    page.wait_for_function("() => document.querySelectorAll('a.run-link').length === 3")
    assert "project=digits" in page.url  # a reload keeps the filter
    # sort by the learning_rate config column: a first click sorts high to low, a second low to high
    names = lambda: page.locator("a.run-link").all_text_contents()  # noqa: E731
    page.locator("th.sortable", has_text="learning_rate").click()
    page.wait_for_selector("th.sortable:has-text('learning_rate ▾')")
    page.wait_for_function(
        "() => document.querySelector('a.run-link').textContent === 'stopped-early'")
    assert names() == ["stopped-early", "tanh-sgd", "relu-adam"]
    page.locator("th.sortable", has_text="learning_rate").click()
    page.wait_for_function(
        "() => document.querySelector('a.run-link').textContent === 'relu-adam'")
    assert names() == ["relu-adam", "tanh-sgd", "stopped-early"]
    page.eval_on_selector(".runs-wrap", "e => { e.scrollLeft = 0; }")
    shot(page, "runs")
    page.click("a.run-link:text-is('relu-adam')")
    page.wait_for_url(f"**/runs/{filled['relu']}")
    assert page.locator("h1.run-name").text_content() == "relu-adam"
    assert page.problems == []


def test_run_page_draws_curves_network_and_replays_snapshots(page, live_server, filled):
    store = filled["store"]
    page.goto(f"{live_server}/runs/{filled['relu']}")
    page.wait_for_selector("#curves .js-plotly-plot")
    page.wait_for_selector("#network svg.network circle")
    page.wait_for_selector("#histograms .js-plotly-plot")
    # the loss chart has its per-step, train and validation traces, with the recorded values
    loss = page.evaluate("""() => {
        const div = [...document.querySelectorAll('#curves .js-plotly-plot')]
            .find(d => d.layout.title && d.layout.title.text === 'loss');
        return div.data.map(t => ({name: t.name, n: t.x.length, last: t.y[t.y.length - 1]}));
    }""")
    steps, values = store.metrics(filled["relu"], "epoch/val_loss")
    by_name = {t["name"]: t for t in loss}
    assert set(by_name) == {"per step", "train (epoch)", "validation (epoch)"}
    assert by_name["validation (epoch)"]["n"] == len(steps)
    assert by_name["validation (epoch)"]["last"] == pytest.approx(values[-1])

    # the diagram: 64 inputs sampled to 16, 16 hidden, 10 outputs; one line per shown weight
    circles = page.locator("#network svg.network circle").count()
    lines = page.locator("#network svg.network line").count()
    assert circles == 16 + 16 + 10
    assert lines == 16 * 16 + 16 * 10
    assert "16 of 64 units shown" in page.locator("#network svg.network").text_content()
    # an edge's colour is its weight's sign: compare with the final snapshot
    final = store.snapshot(filled["relu"], "end")
    colours = page.eval_on_selector_all("#network svg.network line",
                                        "ls => ls.slice(0, 16).map(l => l.getAttribute('stroke'))")
    inputs = [0, 4, 8, 13, 17, 21, 25, 29, 34, 38, 42, 46, 50, 55, 59, 63]  # 16 of 0..63 spread
    expected = ["#2563eb" if final["dense/kernel"][inputs[0], j] >= 0 else "#e8710a"
                for j in range(16)]
    assert colours == expected
    shot(page, "run")
    page.locator("#network").screenshot(path=str(ARTIFACTS / "ui-network.png"))

    # moving the slider to the first snapshot redraws the diagram with other weights
    widths = "ls => ls.map(l => l.getAttribute('stroke-width'))"
    before = page.eval_on_selector_all("#network line", widths)
    page.eval_on_selector("#network input.slider",
                          "s => { s.value = 0; s.dispatchEvent(new Event('input')); }")
    page.wait_for_function("() => document.querySelector('#network .step-label')"
                           ".textContent.startsWith('step -1')")
    after = page.eval_on_selector_all("#network line", widths)
    assert len(after) == len(before) and after != before
    assert page.problems == []


def test_hostile_run_name_and_config_stay_text(page, live_server, filled):
    page.goto(live_server + "/")
    page.wait_for_selector("a.run-link")
    link = page.locator(f"a.run-link[href='/runs/{filled['xss']}']")
    assert link.text_content() == XSS_NAME
    assert page.locator("main img").count() == 0
    link.click()
    page.wait_for_selector("h1.run-name")
    page.wait_for_selector("#network svg.network circle")
    assert page.locator("h1.run-name").text_content() == XSS_NAME
    assert page.title() == f"{XSS_NAME} · glassnet"
    config = page.locator("#overview table.kv").first
    assert config.locator("th", has_text="key").first.text_content() == XSS_KEY
    assert config.locator("td", has_text="script").first.text_content() == XSS_VALUE
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
    page.wait_for_timeout(200)
    assert page.dialogs == []
    shot(page, "xss", full_page=False)
    assert page.problems == []


def test_compare_and_registry_pages(page, live_server, filled):
    # the picker: choose two runs, then compare them
    page.goto(f"{live_server}/compare")
    page.select_option("#pick-a", filled["relu"])
    page.select_option("#pick-b", filled["tanh"])
    page.click("button:text('Compare')")
    page.wait_for_url(f"**/compare?a={filled['relu']}&b={filled['tanh']}")
    page.wait_for_selector("#cmp-curves .js-plotly-plot")
    differs = page.locator("table.compare tr.differs th").all_text_contents()
    assert sorted(differs) == ["activation", "learning_rate", "seed"]
    assert page.locator("#cmp-weights .js-plotly-plot").count() == 1
    shot(page, "compare")
    page.goto(f"{live_server}/registry")
    page.wait_for_selector("#models table")
    assert "digits-mlp" in page.locator("#models table").text_content()
    rows = page.locator("#datasets tbody tr")
    used_by = {rows.nth(i).locator("td").nth(1).text_content():
               sorted(rows.nth(i).locator(".links a").all_text_contents())
               for i in range(rows.count())}
    # the two digits runs share one dataset version; the 4-feature subset is a new version
    assert used_by == {"v1": ["relu-adam", "tanh-sgd"], "v2": [XSS_NAME]}
    shot(page, "registry")
    assert page.problems == []


def test_static_report_draws_offline(page, filled, tmp_path):
    from glassnet.ui.report import write_html

    path = write_html([filled["relu"], filled["tanh"]], filled["store"], tmp_path / "report.html")
    requests = []
    page.route("**/*", lambda route: (requests.append(route.request.url), route.abort())
               if not route.request.url.startswith(("file:", "data:")) else route.continue_())
    page.goto(path.as_uri())
    page.wait_for_selector(f"#run-{filled['relu']} svg.network circle")
    page.wait_for_selector("#compare #cmp-weights .js-plotly-plot")
    traces = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                           ".map(d => d.data.length)")
    assert len(traces) > 10 and all(n > 0 for n in traces)
    assert page.locator(".report-run h1.run-name").all_text_contents()[:2] == \
        ["relu-adam", "tanh-sgd"]
    # the slider replays from the embedded snapshots
    slider = f"#run-{filled['relu']} input.slider"
    page.eval_on_selector(slider, "s => { s.value = 0; s.dispatchEvent(new Event('input')); }")
    page.wait_for_function(f"() => document.querySelector('#run-{filled['relu']} .step-label')"
                           ".textContent.startsWith('step -1')")
    shot(page, "report")
    assert requests == [] and page.problems == []


def test_a_failed_run_without_weights_says_what_is_missing(page, live_server, filled):
    page.goto(f"{live_server}/runs/{filled['failed']}")
    page.wait_for_selector("#overview pre.error-box")
    page.wait_for_selector("#tables .section-body > *")
    assert "stopped by the test" in page.locator("pre.error-box").text_content()
    assert page.locator(".pill-failed").count() == 1
    assert "No snapshot recorded" in page.locator("#network").text_content()
    assert "Logged once (see Final metrics): loss" in page.locator("#curves").text_content()
    shot(page, "failed", full_page=True)
    assert page.problems == []


def test_a_long_runs_list_draws_a_page_of_rows_sorted_over_all_runs(page, tmp_path):
    import glassnet as gn

    store = gn.track.open_store(tmp_path)
    rates = [(i * 37) % 130 / 1000 for i in range(130)]  # a shuffled 0.000 ... 0.129
    for i, rate in enumerate(rates):
        gn.track.init(project="many", name=f"run-{i:03d}", config={"rate": rate},
                      store=store).finish()
    with serve_in_thread(tmp_path) as url:
        page.goto(url + "/?columns=config.rate")
        page.wait_for_selector("table.runs tbody tr")
        assert page.locator("table.runs tbody tr").count() == 50  # one page, not all 130
        page.locator("th.sortable", has_text="rate").click()  # high to low, over all 130
        by_rate = sorted(range(130), key=lambda i: -rates[i])
        first = f"run-{by_rate[0]:03d}"
        page.wait_for_function(f"() => document.querySelector('a.run-link').textContent "
                               f"=== '{first}'")
        assert page.locator(".pager .muted").text_content() == "1–50 of 130"
        page.click(".pager button:has-text('Next')")
        page.wait_for_selector(".pager .muted:text-is('51–100 of 130')")
        assert page.locator("a.run-link").all_text_contents() == \
            [f"run-{i:03d}" for i in by_rate[50:100]]
        page.click(".pager button:has-text('Next')")
        page.wait_for_selector(".pager .muted:text-is('101–130 of 130')")
        assert page.locator("table.runs tbody tr").count() == 30
    assert page.problems == []


def test_a_branched_model_is_drawn_with_edges_from_each_source(page, tmp_path):
    import numpy as np

    import glassnet as gn
    from glassnet import layers

    inputs = gn.Input(shape=(5,))
    a = layers.Dense(3, activation="relu", name="a")(inputs)
    b = layers.Dense(2, activation="tanh", name="b")(inputs)
    h = layers.Dense(4, name="h")(layers.Concatenate()([a, b]))
    model = gn.Model(inputs, h)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    run = gn.track.init(project="graph", store=tmp_path)
    model.fit(rng.normal(size=(16, 5)), rng.normal(size=(16, 4)), epochs=1, verbose=0,
              callbacks=[run.watch()])
    run.finish()
    with serve_in_thread(tmp_path) as url:
        page.goto(f"{url}/runs/{run.id}")
        page.wait_for_selector("#network svg.network circle")
        assert page.locator("#network svg.network circle").count() == 5 + 3 + 2 + 4
        # input→a, input→b, a→h, b→h: every weight drawn once, none between a and b
        assert page.locator("#network svg.network line").count() == 5 * 3 + 5 * 2 + 3 * 4 + 2 * 4
        titles = page.eval_on_selector_all("#network svg.network line title",
                                           "ts => ts.map(t => t.textContent)")
        assert sum(t.startswith("h: ") for t in titles) == 3 * 4 + 2 * 4
        page.locator("#network").screenshot(path=str(ARTIFACTS / "ui-network-graph.png"))
    assert page.problems == []
