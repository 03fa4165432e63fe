"""The command line and the dashboard on a PostgreSQL store read what SQLite's show.

The same seeded `glassnet train` runs into a SQLite folder and into a PostgreSQL store
(a fresh schema on the test server: ``postgres_store_url``); `runs`, `show` and the
dashboard's API then give the same rows for both, ids and times aside.
"""

from __future__ import annotations

import re

import pytest
from cli_helpers import rows_of, run_cli

pytest.importorskip("psycopg")

TRAIN = ("train", "--dataset", "coffee", "--hidden", "3", "--activation", "tanh",
         "--epochs", "3", "--name", "coffee-pg")


def _recorded_id(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("Recorded run "))
    return line.split()[2]


@pytest.fixture
def both(postgres_store_url, tmp_path):
    """``{backend: (store, run id)}`` after the same training into each store."""
    out = {}
    for name, store in (("sqlite", tmp_path / "runs"), ("postgresql", postgres_store_url)):
        trained = run_cli(*TRAIN, "--store", store, cwd=tmp_path)
        assert trained.exit_code == 0, trained.stderr or trained.exception
        out[name] = (store, _recorded_id(trained.stdout))
    return out


def _without_ids(text: str, run_id: str) -> str:
    text = text.replace(run_id, "RUN").replace(run_id[:5], "RUN")
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d( UTC)?", "TIME", text)


def test_runs_and_show_read_a_postgresql_store_as_they_read_sqlite(both, monkeypatch):
    pg_store, pg_id = both["postgresql"]
    listed = run_cli("runs", "--store", pg_store)
    assert listed.exit_code == 0, listed.stderr
    rows = rows_of(listed.stdout)
    assert [r[0] for r in rows[1:]] == [pg_id] and rows[1][1:4] == ["coffee", "coffee-pg",
                                                                     "finished"]
    shown = {}
    for name, (store, run_id) in both.items():
        result = run_cli("show", run_id[:5], "--store", store)
        assert result.exit_code == 0, result.stderr
        shown[name] = [r for r in rows_of(_without_ids(result.stdout, run_id))
                       if "seconds" not in " ".join(r) and not any("ms" in c for c in r)]
    assert shown["postgresql"] == shown["sqlite"] and len(shown["sqlite"]) > 10
    found = run_cli("runs", "--filter", "config.activation = 'tanh' and status = 'finished'",
                    "--format", "json", "--store", pg_store)
    assert found.exit_code == 0, found.stderr
    assert pg_id in found.stdout
    # $GLASSNET_STORE names it as well as --store does
    from click.testing import CliRunner

    from glassnet.cli import cli

    result = CliRunner(env={"GLASSNET_STORE": pg_store}).invoke(cli, ["runs"])
    assert result.exit_code == 0 and pg_id in result.stdout


def test_reading_commands_do_not_create_a_store_in_an_empty_database(postgres_store_url):
    result = run_cli("runs", "--store", postgres_store_url)
    assert result.exit_code != 0 and "no run store at postgresql://" in result.stderr
    import glassnet.track as gt
    from glassnet.track.store.opening import store_exists

    assert not store_exists(postgres_store_url)
    gt.open_store(postgres_store_url)
    assert store_exists(postgres_store_url)


def test_the_dashboard_serves_a_postgresql_store_as_it_serves_sqlite(both):
    from fastapi.testclient import TestClient

    from glassnet.ui.app import create_app

    answers = {}
    for name, (store, run_id) in both.items():
        client = TestClient(create_app(store))
        runs = client.get("/api/runs").json()["runs"]
        assert [r["id"] for r in runs] == [run_id]
        run = client.get(f"/api/runs/{run_id}").json()["run"]
        metrics = client.get(f"/api/runs/{run_id}/metrics", params={"key": "loss"})
        assert metrics.status_code == 200, metrics.text
        params = client.get(f"/api/runs/{run_id}/params")
        assert params.status_code == 200, params.text
        answers[name] = (run["status"], run["config"], sorted(run["summary"]),
                         metrics.json(), params.json())
        assert client.get("/").status_code == 200
    assert answers["postgresql"] == answers["sqlite"]
    assert answers["sqlite"][0] == "finished"
