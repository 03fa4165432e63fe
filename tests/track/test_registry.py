"""Datasets, versioned by content; the public names of glassnet.track."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from track_helpers import run_python

import glassnet.track
from glassnet.track import init, load_dataset
from glassnet.track.registry import dataset_hash


def test_exported_names_are_pinned():
    assert glassnet.track.__all__ == ["Run", "Store", "init", "load_dataset", "load_model",
                                      "open_store"]


@pytest.mark.slow
def test_import_glassnet_does_not_load_the_store():
    out = run_python("""
        import sys, glassnet
        print("glassnet.track" in sys.modules, "sqlite3" in sys.modules)
        glassnet.track.init
        print("glassnet.track" in sys.modules)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True"]


def test_dataset_hash_covers_bytes_shape_dtype_and_names():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    base = dataset_hash({"X": x, "y": np.arange(3)})
    assert dataset_hash({"y": np.arange(3), "X": x.copy()}) == base  # order of keywords
    assert dataset_hash({"X": np.asfortranarray(x), "y": np.arange(3)}) == base  # memory layout
    assert dataset_hash({"X": x.reshape(4, 3), "y": np.arange(3)}) != base
    assert dataset_hash({"X": x.astype(np.float64), "y": np.arange(3)}) != base
    assert dataset_hash({"X": x, "target": np.arange(3)}) != base
    changed = x.copy()
    changed[2, 3] += 1
    assert dataset_hash({"X": changed, "y": np.arange(3)}) != base


def test_same_data_same_version_new_data_next_version(store):
    x, y = np.ones((5, 2)), np.arange(5)
    with init("p", store=store) as run:
        assert run.log_dataset("toy", X=x, y=y) == 1
        assert run.log_dataset("toy", X=x.copy(), y=y) == 1
        assert run.log_dataset("toy", X=x * 2, y=y) == 2
        assert run.log_dataset("other", X=x, y=y) == 1
    with init("p", store=store) as second:
        assert second.log_dataset("toy", X=x, y=y) == 1
    assert [d["version"] for d in store.datasets("toy")] == [1, 2]
    assert store.datasets("toy")[0]["meta"]["arrays"]["X"] == {"shape": [5, 2], "dtype": "<f8"}
    assert store.run_datasets(run.id) == [("other", 1), ("toy", 1), ("toy", 2)]
    assert store.run_datasets(second.id) == [("toy", 1)]
    back = load_dataset("toy:v2", store=store)
    np.testing.assert_array_equal(back["X"], x * 2)
    np.testing.assert_array_equal(load_dataset("toy", store=store)["X"], x * 2)  # newest
    with pytest.raises(LookupError, match="no version 'v9'"):
        load_dataset("toy:v9", store=store)
    with pytest.raises(ValueError, match="needs at least one array"):
        init("p", store=store).log_dataset("empty")
    with pytest.raises(ValueError, match="dtype object"):
        dataset_hash({"X": np.array([{}, []], dtype=object)})
    assert sys.modules["glassnet.track.registry"]
