"""Fixtures for the dashboard tests: one store of real runs per session, a live server."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the ui extra is not installed: pip install 'glassnet[ui]'")

from ui_helpers import fill_store, make_client, serve_in_thread  # noqa: E402


@pytest.fixture(scope="session")
def filled(tmp_path_factory):
    """Run ids by role, the store, and the relu and tanh models as trained (see fill_store)."""
    return fill_store(tmp_path_factory.mktemp("ui-store"))


@pytest.fixture(scope="session")
def client(filled):
    """A TestClient of the dashboard app over the filled store."""
    with make_client(filled["store"].root) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(filled):
    """A real uvicorn server on 127.0.0.1 and a free port, in a thread; yields its base URL."""
    with serve_in_thread(filled["store"].root) as url:
        yield url
