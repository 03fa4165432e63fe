"""The dashboard while a run trains (issue 20, item 4), in Debian's Chromium: a run started
in another process appears on an open runs list, its loss curve grows on an open run page
without a reload, and a SIGKILL turns its status to ``crashed``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("/usr/bin/chromium is not installed", allow_module_level=True)

from test_e2e import ARTIFACTS, browser, page, shot  # noqa: E402,F401  (the same browser fixtures)
from ui_helpers import serve_in_thread  # noqa: E402

import glassnet as gn  # noqa: E402

TRAINER = textwrap.dedent("""
    import sys, time
    import glassnet as gn
    run = gn.track.init(project="live", name="live-run", config={"lr": 0.1}, store=sys.argv[1])
    for step in range(600):  # at most a minute; the test kills it long before
        run.log({"loss": 1.0 / (step + 1)}, step=step)
        time.sleep(0.1)
    run.finish()
""")
BOUND_MS = 30_000  # every wait below is bounded: a broken page fails, it does not hang


def loss_points(pg) -> int:
    return pg.evaluate("""() => {
        const div = [...document.querySelectorAll('#curves .js-plotly-plot')]
            .find(d => d.layout.title && d.layout.title.text === 'loss');
        return div ? div.data[0].x.length : 0;
    }""")


def test_a_run_in_another_process_appears_grows_and_turns_crashed(page, tmp_path):  # noqa: F811
    store = gn.track.open_store(tmp_path)
    gn.track.init(project="live", name="already-there", store=store).finish()
    store.flush()
    with serve_in_thread(tmp_path) as url:
        page.goto(url + "/")
        page.wait_for_selector("a.run-link:text-is('already-there')")
        trainer = subprocess.Popen([sys.executable, "-c", TRAINER, str(tmp_path)])
        try:
            # the new run shows up on the open list, running, without a reload
            page.wait_for_selector("a.run-link:text-is('live-run')", timeout=BOUND_MS)
            row = page.locator("tr.run-row", has_text="live-run")
            assert row.locator(".pill").text_content() == "running"
            row.locator("a.run-link").click()
            page.wait_for_selector("#curves .js-plotly-plot", timeout=BOUND_MS)
            page.evaluate("() => { window.notReloaded = true; }")
            first = loss_points(page)
            page.wait_for_function(f"""() => [...document.querySelectorAll(
                '#curves .js-plotly-plot')].some(d => d.layout.title.text === 'loss'
                && d.data[0].x.length >= {first + 5})""", timeout=BOUND_MS)
            assert page.evaluate("() => window.notReloaded") is True
            assert page.locator(".run-head .pill").text_content() == "running"
            page.screenshot(path=str(ARTIFACTS / "ui-live-running.png"))
        finally:
            trainer.send_signal(signal.SIGKILL)
            trainer.wait(timeout=10)  # reaped: a zombie would still look alive
        page.wait_for_selector(".run-head .pill-crashed", timeout=BOUND_MS)
        # the overview is redrawn too: it says why the run is over
        assert "ended without finishing" in page.locator("#overview pre.error-box").text_content()
        assert page.evaluate("() => window.notReloaded") is True
        shot(page, "live-crashed")
        # the run has ended: its page asks for nothing more
        asked = []
        page.on("request", lambda r: "/api/" in r.url and asked.append(r.url))
        page.wait_for_timeout(2500)  # more than two poll periods
        assert asked == []
        # the list, opened afresh, says crashed too
        page.goto(url + "/")
        page.wait_for_selector("tr.run-row:has-text('live-run') .pill-crashed", timeout=BOUND_MS)
    assert page.problems == []


def set_visibility(pg, state: str) -> None:
    pg.evaluate("""s => { Object.defineProperty(document, 'visibilityState',
        {value: s, configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }""", state)


def test_the_runs_list_stops_polling_while_the_tab_is_hidden(page, tmp_path):  # noqa: F811
    gn.track.init(project="live", name="one", store=tmp_path).finish()
    gn.track.open_store(tmp_path).flush()
    with serve_in_thread(tmp_path) as url:
        page.goto(url + "/")
        page.wait_for_selector("a.run-link:text-is('one')")
        with page.expect_request("**/api/runs?*", timeout=BOUND_MS):
            pass  # it polls while visible
        set_visibility(page, "hidden")
        page.wait_for_timeout(1500)  # a poll already under way may finish
        asked = []
        page.on("request", lambda r: "/api/" in r.url and asked.append(r.url))
        page.wait_for_timeout(2500)
        assert asked == []
        with page.expect_request("**/api/runs?*", timeout=BOUND_MS):
            set_visibility(page, "visible")  # and resumes when shown again
    assert page.problems == []
