"""Fixtures for the track tests: a fresh store per test, on SQLite and on PostgreSQL.

``store`` and ``store_location`` are parametrized over both backends: a test that
takes them runs twice, ``[sqlite]`` in a temp folder and ``[postgresql]`` in a new
schema of a database on the session's throwaway server (``postgres_store_url`` in
tests/conftest.py; skipped, or failed on CI, without the server binaries), its blobs
in a temp folder. ``store_dir`` is a
folder, for the tests of what only SQLite has (the file, its PRAGMAs, WAL).
glassnet is imported from ./src.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
try:  # the package may not be installed in the venv yet; tests run against ./src
    import glassnet.track  # noqa: F401
except ImportError:
    sys.path.insert(0, str(SRC))

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def store_dir(tmp_path):
    return tmp_path / "store"


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    return request.param


@pytest.fixture
def store_location(request, backend_name, tmp_path):
    """Where a fresh store goes: a folder, or the URL of a new PostgreSQL store."""
    if backend_name == "sqlite":
        return tmp_path / "store"
    return request.getfixturevalue("postgres_store_url")


@pytest.fixture
def store(store_location):
    from glassnet.track import open_store

    s = open_store(store_location)
    yield s
    s.close()
