"""Fixtures for the dashboard tests: one store of real runs per session, a live server."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the ui extra is not installed: pip install 'glassnet[ui]'")

from ui_helpers import fill_store, free_port, make_client  # noqa: E402


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
    import uvicorn

    from glassnet.ui.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(filled["store"].root), host="127.0.0.1", port=port,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard server did not start within 10 s")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
