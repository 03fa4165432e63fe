"""Fixtures for the track tests: a fresh store per test; glassnet imported from ./src."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
try:  # the package may not be installed in the venv yet; tests run against ./src
    import glassnet.track  # noqa: F401
except ImportError:
    sys.path.insert(0, str(SRC))


@pytest.fixture
def store_dir(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def store(store_dir):
    from glassnet.track import open_store

    s = open_store(store_dir)
    yield s
    s.close()
