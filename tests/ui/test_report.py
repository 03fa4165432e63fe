"""The static HTML report: one self-contained file holding the same data as the dashboard."""

from __future__ import annotations

import base64
import gzip
import json
import re

import numpy as np
import pytest
from ui_helpers import XSS_NAME

from glassnet.ui.report import data_key, write_html


def embedded(html: str) -> dict:
    """The report's data: gzipped, base64 in an inert script element (see unpack.js)."""
    match = re.search(r'<script type="application/gzip\+base64" id="glassnet-data-packed">'
                      r'(.*?)</script>', html, re.S)
    return json.loads(gzip.decompress(base64.b64decode(match.group(1))))


@pytest.mark.slow
def test_report_is_self_contained_and_holds_the_runs_data(tmp_path, filled, client):
    path = write_html([filled["relu"], filled["tanh"]], filled["store"], tmp_path / "r.html")
    html = path.read_text("utf-8")
    # no network: no script, stylesheet or image fetched from anywhere
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(?!data:)', html)
    code = re.search(r'id="glassnet-code-packed">(.*?)</script>', html, re.S).group(1)
    assert b"Plotly" in gzip.decompress(base64.b64decode(code))
    data = embedded(html)
    assert data[data_key("/report")] == {"runs": [filled["relu"], filled["tanh"]],
                                         "compare": [filled["relu"], filled["tanh"]]}
    # every figure's data is what the live dashboard serves for the same request
    base = f"/api/runs/{filled['relu']}"
    for key, url in [(data_key(base + "/metrics"), base + "/metrics"),
                     (data_key(base + "/network", {"step": "end"}), base + "/network?step=end"),
                     (data_key(base + "/histograms", {"path": "dense/kernel"}),
                      base + "/histograms?path=dense/kernel")]:
        assert data[key] == client.get(url).json(), key
    # the slider can replay every snapshot offline
    steps = data[data_key(base + "/network", {"step": "end"})]["steps"]
    kernel0 = filled["relu_model"].get_weights()[0]
    for step in steps:
        assert data_key(base + "/network", {"step": step}) in data
    last = data[data_key(base + "/network", {"step": steps[-1]})]
    np.testing.assert_allclose(last["edges"][0]["weights"], kernel0[last["columns"][0]["units"]],
                               rtol=1e-6)
    assert data_key("/api/compare", {"a": filled["relu"], "b": filled["tanh"]}) in data


@pytest.mark.slow
def test_report_escapes_names_and_cannot_end_its_script_early(tmp_path, filled):
    html = write_html(filled["xss"], filled["store"], tmp_path / "x.html").read_text("utf-8")
    assert "<img src=x" not in html
    assert f"Report: {XSS_NAME}".replace("<", "&lt;").replace(">", "&gt;") in html
    data = embedded(html)  # "<" is escaped inside the JSON, so the JSON parses whole
    run = data[data_key(f"/api/runs/{filled['xss']}")]["run"]
    assert run["name"] == XSS_NAME and "<script>alert(2)</script>" in run["config"].values()
