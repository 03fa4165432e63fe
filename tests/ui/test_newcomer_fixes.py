"""What a newcomer trips on (issue 20, item 5): a 404 page for people, where and how big
the HTML report is written."""

from __future__ import annotations

import os

from click.testing import CliRunner

from glassnet.ui import pages
from glassnet.ui.report import MAX_REPLAY_SNAPSHOTS, report_data, write_html


def test_an_unknown_run_url_is_an_html_page_with_a_link_back(client):
    r = client.get("/runs/ffffffff")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "ffffffff" in r.text and '<a class="button primary" href="/">' in r.text
    assert "<script" not in r.text  # nothing to load: the page is whole as served
    r = client.get("/compare?a=ffffffff&b=eeeeeeee")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    # the JSON API keeps answering JSON
    r = client.get("/api/runs/ffffffff")
    assert r.status_code == 404 and "ffffffff" in r.json()["error"]


def test_an_unknown_run_name_is_escaped_in_the_404_page(client):
    r = client.get("/runs/%3Cb%3Ex")
    assert r.status_code == 404 and "<b>x" not in r.text and "&lt;b&gt;x" in r.text


def test_report_without_output_goes_into_the_store_not_the_current_folder(
        filled, tmp_path, monkeypatch):
    from glassnet.cli import cli

    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"GLASSNET_STORE": None})
    result = runner.invoke(cli, ["report", filled["relu"], "--format", "html",
                                 "--store", str(filled["store"].root)])
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path) == []
    expected = filled["store"].root / "reports" / f"{filled['relu']}.html"
    assert expected.is_file() and str(expected) in result.output.replace("\n", "")


def test_report_output_may_be_a_file_or_a_folder(filled, tmp_path):
    named = write_html(filled["relu"], filled["store"], tmp_path / "mine.html")
    assert named == tmp_path / "mine.html" and named.is_file()
    inside = write_html([filled["relu"], filled["tanh"]], filled["store"], tmp_path)
    assert inside == tmp_path / f"{filled['relu']}+1.html" and inside.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([named.name, inside.name])


def test_report_is_smaller_than_plotly_alone(filled, tmp_path):
    # before: plotly.min.js inline (4.8 MB) plus the data; now both gzipped
    path = write_html([filled["relu"], filled["tanh"]], filled["store"], tmp_path / "r.html")
    assert path.stat().st_size < 0.5 * pages.plotly_js().stat().st_size


def test_report_replays_at_most_the_capped_number_of_snapshots(filled, monkeypatch):
    import glassnet.ui.report as report

    monkeypatch.setattr(report, "MAX_REPLAY_SNAPSHOTS", 3)
    data = report_data(filled["relu"], filled["store"])
    steps = filled["store"].snapshots(filled["relu"])
    network = [k for k in data if "/network|" in k and "step=end" not in k]
    kept = sorted(int(k.rsplit("=", 1)[1]) for k in network)
    assert len(steps) > 3 and kept == [steps[0], steps[len(steps) // 2], steps[-1]]
    assert MAX_REPLAY_SNAPSHOTS >= 3
