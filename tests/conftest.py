"""Shared fixtures for the engine tests: float64 for exact checks, fresh names and seeds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # real Keras, where a test uses it

SRC = Path(__file__).resolve().parents[1] / "src"
try:  # the package may not be installed in the venv yet; tests run against ./src
    import glassnet  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(SRC))

import glassnet as gn  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def float64():
    """Run the test with float64 weights and inputs; restore float32 afterwards."""
    gn.backend.set_floatx("float64")
    try:
        yield
    finally:
        gn.backend.set_floatx("float32")


@pytest.fixture(autouse=True)
def _fresh_names_and_seed():
    """Each test starts with layer names ``dense``, ``dense_1``... and a fixed seed."""
    gn.utils.clear_session()
    gn.utils.set_random_seed(1234)
    yield
    gn.backend.set_floatx("float32")


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of a throwaway PostgreSQL server on 127.0.0.1, stopped after the session.

    Skips (fails on CI) where the server binaries are absent: tests/pg_server.py."""
    import pg_server

    server = pg_server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_stores(postgres_url):
    """The URL of a database on the test server whose schemas hold the tests' stores."""
    import pg_server

    return pg_server.create_database(postgres_url, "glassnet_tests")


@pytest.fixture
def postgres_store_url(request, tmp_path):
    """The URL of a fresh PostgreSQL store (its own schema; blobs under tmp_path),
    closed and dropped after the test."""
    pytest.importorskip("psycopg")
    import uuid

    import pg_server

    database = request.getfixturevalue("postgres_stores")
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_schema(database, name, blobs=str(tmp_path / "pg-blobs"))
    try:
        yield url
    finally:
        from glassnet.track.store import opening

        opened = opening._stores.get(url)
        if opened is not None:
            opened.close()
        pg_server.drop_schema(database, name)
