"""The store: schema, queries, thinning, histograms, snapshots and blobs."""

from __future__ import annotations

import hashlib
import sqlite3

import numpy as np
import pytest
from safetensors.numpy import load as safetensors_load

from glassnet.track import Store, init, open_store
from glassnet.track.errors import NotFoundError, StoreError
from glassnet.track.store import SCHEMA_VERSION, resolve_store_path, thin_indices


def test_a_store_is_a_folder_with_a_wal_database_and_a_versioned_schema(store_dir):
    store = open_store(store_dir)
    assert (store_dir / "glassnet.db").is_file() and (store_dir / "blobs").is_dir()
    assert store.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(store_dir / "glassnet.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "metrics", "param_stats", "layer_stats", "snapshots", "datasets",
            "models", "model_aliases", "artifacts"} <= tables
    assert store.integrity_check() == "ok"
    store.close()


def test_open_store_gives_one_store_per_folder_per_process(store_dir):
    a = open_store(store_dir)
    assert open_store(str(store_dir)) is a
    assert open_store(a) is a
    assert open_store(store_dir / "glassnet.db") is a
    a.close()


def test_store_location_comes_from_argument_then_env_then_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GLASSNET_STORE", raising=False)
    assert resolve_store_path(None) == (tmp_path / "glassnet-runs").resolve()
    monkeypatch.setenv("GLASSNET_STORE", str(tmp_path / "elsewhere"))
    assert resolve_store_path(None) == (tmp_path / "elsewhere").resolve()
    assert resolve_store_path(tmp_path / "given") == (tmp_path / "given").resolve()
    url = "postgresql://team@db.example:5433/runs?blobs=/shared/blobs"
    assert resolve_store_path(url) == url  # a URL chooses the PostgreSQL backend
    monkeypatch.setenv("GLASSNET_STORE", url)
    assert resolve_store_path(None) == url
    with pytest.raises(StoreError, match="a folder or a postgresql:// URL"):
        resolve_store_path("mysql://db/runs")


def test_a_store_written_by_a_newer_glassnet_is_refused(store_dir):
    open_store(store_dir).close()
    conn = sqlite3.connect(store_dir / "glassnet.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this glassnet"):
        Store(store_dir)


def test_runs_are_listed_newest_first_and_filtered(store):
    a = init("alpha", store=store, tags=["sweep-1"], group="sweep-1")
    b = init("alpha", store=store)
    c = init("beta", store=store, name="mine")
    b.finish("failed", error="boom")
    c.finish()
    assert [r.id for r in store.runs()] == [c.id, b.id, a.id]
    assert [r.id for r in store.runs(project="alpha")] == [b.id, a.id]
    assert [r.id for r in store.runs(status="running")] == [a.id]
    assert [r.id for r in store.runs(tag="sweep-1")] == [a.id]
    assert [r.id for r in store.runs(group_id="sweep-1")] == [a.id]
    assert store.run(b.id)["error"] == "boom" and store.run(b.id).status == "failed"
    assert store.run(c.id).name == "mine"
    assert store.projects() == ["alpha", "beta"]
    with pytest.raises(ValueError, match="status must be one of"):
        store.runs(status="done")
    a.finish()


def test_unknown_run_id_is_an_error_naming_the_id_and_prefixes_resolve(store):
    run = init("p", store=store)
    run.log({"loss": 1.0})
    run.finish()
    with pytest.raises(NotFoundError, match="no run with id 'nope'"):
        store.metrics("nope", "loss")
    with pytest.raises(NotFoundError, match="'zz'"):
        store.run("zz")
    assert store.run(run.id[:3]).id == run.id
    assert store.metrics(run.id[:4], "loss")[1].tolist() == [1.0]


def test_metrics_come_back_ascending_with_nan_kept(store):
    run = init("p", store=store)
    for step in (5, 1, 3):
        run.log({"loss": float(step)}, step=step)
    run.log({"loss": float("nan")}, step=7)
    run.log({"loss": float("inf")}, step=8)
    run.finish()
    steps, values = store.metrics(run.id, "loss")
    assert steps.dtype == np.int64 and values.dtype == np.float64
    assert steps.tolist() == [1, 3, 5, 7, 8]
    assert values[:3].tolist() == [1.0, 3.0, 5.0] and np.isnan(values[3]) and values[4] == np.inf
    assert store.metrics(run.id, "missing")[0].size == 0


@pytest.mark.parametrize("n, k", [(1000, 10), (1001, 7), (10, 3), (5, 50), (2, 2), (1357, 100)])
def test_thinning_keeps_first_and_last_and_spreads_evenly(n, k):
    idx = thin_indices(n, k)
    assert idx[0] == 0 and idx[-1] == n - 1
    assert len(idx) == min(n, k) and np.all(np.diff(idx) > 0)
    if n > k:
        gaps = np.diff(idx)
        ideal = (n - 1) / (k - 1)
        assert gaps.max() - gaps.min() <= 1 and abs(gaps.mean() - ideal) < 1e-9


def test_metrics_thinned_through_the_store(store):
    run = init("p", store=store)
    for step in range(1000):
        run.log({"loss": step / 10})
    run.finish()
    steps, values = store.metrics(run.id, "loss", max_points=50)
    assert len(steps) == 50 and steps[0] == 0 and steps[-1] == 999
    assert np.allclose(values, steps / 10)
    with pytest.raises(ValueError, match="max_points must be at least 2"):
        store.metrics(run.id, "loss", max_points=1)


def _block(w, g, ratio):
    """One Variable's row of the watch's (k, 14) stats array and its histogram."""
    stats = [w.size, w.mean(), w.std(), w.min(), w.max(), np.linalg.norm(w), (w < 0).mean(),
             g.mean(), g.std(), g.min(), g.max(), np.linalg.norm(g), (g < 0).mean(), ratio]
    return np.array(stats, dtype=np.float64), np.histogram(w, bins=64)[0]


def test_param_stats_and_histograms_round_trip(store):
    rng = np.random.default_rng(0)
    run = init("p", store=store)
    paths = ["dense/kernel", "dense/bias"]
    weights = {step: rng.normal(size=12) for step in (0, 10, 20)}
    for step, w in weights.items():
        rows = [_block(w, w * 0.1, 0.01 * (step + 1)), _block(np.zeros(3), np.ones(3), np.nan)]
        stats = np.stack([r[0] for r in rows])
        counts = np.stack([r[1] for r in rows])
        store.log_param_block(run.id, [step], paths, stats[None], counts[None], None, [0.0])
    store.log_layer_block(run.id, [0], ["dense"], np.array([[[1e-3, 5e-4, 0.25, np.nan]]]), [0.0])
    run.finish()
    assert store.param_paths(run.id) == ["dense/bias", "dense/kernel"]
    stats = store.param_stats(run.id, path="dense/kernel")
    assert [s["step"] for s in stats] == [0, 10, 20]
    w = weights[10]
    s = stats[1]
    assert s["count"] == 12 and s["path"] == "dense/kernel"
    assert np.isclose(s["mean"], w.mean()) and np.isclose(s["l2"], np.linalg.norm(w))
    assert np.isclose(s["grad_std"], (w * 0.1).std()) and np.isclose(s["update_ratio"], 0.11)
    counts, edges = s["histogram"]
    assert counts.shape == (64,) and edges.shape == (65,) and counts.sum() == 12
    np.testing.assert_allclose(edges, np.histogram(w, bins=64)[1], rtol=1e-12)
    np.testing.assert_array_equal(counts, np.histogram(w, bins=64)[0])
    bias = store.param_stats(run.id, "dense/bias")[0]
    assert np.isnan(bias["update_ratio"])
    np.testing.assert_allclose(bias["histogram"][1][[0, -1]], [-0.5, 0.5])  # constant
    paths = [r["path"] for r in store.param_stats(run.id)]
    assert paths == ["dense/bias"] * 3 + ["dense/kernel"] * 3
    steps, l2 = store.param_series(run.id, "dense/kernel", "l2")
    assert steps.tolist() == [0, 10, 20]
    assert np.allclose(l2, [np.linalg.norm(weights[s]) for s in (0, 10, 20)])
    steps, edges, counts = store.histograms(run.id, "dense/kernel")
    assert steps.tolist() == [0, 10, 20] and edges.shape == (3, 65) and counts.shape == (3, 64)
    assert counts.sum(axis=1).tolist() == [12, 12, 12]
    (layer,) = store.layer_stats(run.id)
    assert layer["layer"] == "dense" and layer["dead_share"] == 0.25
    assert np.isnan(layer["saturated_share"])


def test_snapshots_are_content_addressed_safetensors_blobs(store):
    run = init("p", store=store)
    weights = {"dense/kernel": np.arange(6, dtype=np.float32).reshape(2, 3),
               "dense/bias": np.zeros(3, dtype=np.float32)}
    store.log_snapshot(run.id, 0, "step", weights)
    store.log_snapshot(run.id, 5, "epoch", {k: v.copy() for k, v in weights.items()})
    store.log_snapshot(run.id, 9, "end", {k: v + 1 for k, v in weights.items()})
    run.finish()
    sha0, sha1, sha2 = (i["sha"] for i in store.snapshot_info(run.id))
    assert sha0 == sha1 != sha2  # same content, same blob
    assert store.snapshots(run.id) == [0, 5, 9]
    assert [i["label"] for i in store.snapshot_info(run.id)] == ["step", "epoch", "end"]
    back = store.snapshot(run.id, 5)
    assert set(back) == set(weights)
    np.testing.assert_array_equal(back["dense/kernel"], weights["dense/kernel"])
    np.testing.assert_array_equal(store.snapshot(run.id, "end")["dense/bias"], np.ones(3))
    with pytest.raises(NotFoundError, match="no snapshot at step 3"):
        store.snapshot(run.id, 3)
    # small blobs are kept in the database, one row per content, named by its SHA-256
    kept = {sha: (size, bytes(data)) for sha, size, data in store.backend.read(
        "SELECT sha, size, data FROM inline_blobs")}
    assert set(kept) == {sha0, sha2}
    for sha, (size, data) in kept.items():
        assert hashlib.sha256(data).hexdigest() == sha and size == len(data)
    np.testing.assert_array_equal(safetensors_load(kept[sha2][1])["dense/bias"], np.ones(3))
    assert [p for p in store.blobs.root.rglob("*") if p.is_file()] == []  # no file each
    # and read like files: blobs.get_arrays and exists know them
    assert store.blobs.exists(sha2) and not store.blobs.exists("0" * 64)
    np.testing.assert_array_equal(store.blobs.get_arrays(sha2)["dense/kernel"],
                                  weights["dense/kernel"] + 1)


def test_a_snapshot_bigger_than_the_inline_limit_is_a_file(store):
    from glassnet.track.blobs import INLINE_MAX

    run = init("p", store=store)
    big = {"w": np.arange(INLINE_MAX // 4 + 1, dtype=np.float32)}  # just past the limit
    small = {"w": np.arange(INLINE_MAX // 4 - 64, dtype=np.float32)}  # header fits too
    store.log_snapshot(run.id, 0, "step", big)
    store.log_snapshot(run.id, 1, "step", small)
    run.finish()
    big_sha, small_sha = (i["sha"] for i in store.snapshot_info(run.id))
    files = {p.name: p.stat().st_size for p in store.blobs.root.rglob("*") if p.is_file()}
    inline = dict(store.backend.read("SELECT sha, size FROM inline_blobs"))
    assert list(files) == [big_sha] and files[big_sha] > INLINE_MAX
    assert list(inline) == [small_sha] and inline[small_sha] <= INLINE_MAX
    np.testing.assert_array_equal(store.snapshot(run.id, 0)["w"], big["w"])
    np.testing.assert_array_equal(store.snapshot(run.id, 1)["w"], small["w"])


def test_snapshot_keeps_every_variables_exact_shape_and_dtype_even_0d(store):
    import glassnet as gn

    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(20, 1)).astype(np.float32)
    norm = gn.layers.Normalization(name="scale")
    norm.adapt(x)
    model = gn.Sequential([gn.layers.Input(shape=(3,)), norm, gn.layers.Dense(2, name="d"),
                           gn.layers.Dense(1, name="out")])
    model.compile(optimizer="sgd", loss="mse")
    run = init("p", store=store)
    model.fit(x, y, epochs=1, batch_size=10, verbose=0, callbacks=[run.watch()])
    run.finish()
    back = store.snapshot(run.id, "end")
    assert back["scale/count"].shape == () and float(back["scale/count"]) == 20.0
    assert {v.path: (v.shape, v.dtype) for v in model.weights} == \
        {path: (a.shape, a.dtype) for path, a in back.items()}
    for v in model.weights:
        np.testing.assert_array_equal(back[v.path], v.numpy())


def test_blob_arrays_round_trip_shape_dtype_and_values(store):
    arrays = {"scalar": np.array(2.5, dtype=np.float64), "one": np.array([7], dtype=np.int64),
              "empty": np.zeros((0, 3), dtype=np.float32),
              "transposed": np.arange(6, dtype=np.float32).reshape(2, 3).T,  # not C-contiguous
              "bytes": np.array([[1, 255]], dtype=np.uint8), "int_scalar": np.int32(-4)}
    back = store.blobs.get_arrays(store.blobs.put_arrays(arrays))
    for name, original in arrays.items():
        original = np.asarray(original)
        assert (back[name].shape, back[name].dtype) == (original.shape, original.dtype), name
        np.testing.assert_array_equal(back[name], original)


def test_blobs_are_named_by_their_sha256(store):
    import hashlib

    sha = store.blobs.put_bytes(b"hello")
    assert sha == hashlib.sha256(b"hello").hexdigest()
    assert store.blobs.path(sha).read_bytes() == b"hello"
    assert store.blobs.put_bytes(b"hello") == sha
    with pytest.raises(ValueError, match="64 lowercase hex"):
        store.blobs.path("../etc/passwd")
    with pytest.raises(FileNotFoundError, match="missing"):
        store.blobs.get_bytes("0" * 64)


def test_metric_series_rows_merge_with_single_rows(store):
    run = init("p", store=store)
    store.log_metric_series(run.id, "loss", range(0, 4), [4.0, 3.0, 2.0, 1.0], 0.0)
    store.log_metric_series(run.id, "acc", [1, 5, 9], [0.1, 0.5, 0.9], 0.0)
    store.log_metric_series(run.id, "acc", [10, 11], [1.0, 1.1], 0.0)
    run.log({"loss": 0.5}, step=10)
    run.log({"loss": 9.0}, step=2)  # a step logged again
    run.finish()
    steps, values = store.metrics(run.id, "loss")
    assert steps.tolist() == [0, 1, 2, 3, 10]
    assert values[[0, 1, 3, 4]].tolist() == [4.0, 3.0, 1.0, 0.5] and values[2] in (2.0, 9.0)
    assert store.metrics(run.id, "acc")[0].tolist() == [1, 5, 9, 10, 11]
    assert store.metric_keys(run.id) == ["acc", "loss"]
    assert store.metrics(run.id, "acc", max_points=3)[0].tolist() == [1, 9, 11]


def test_a_big_batch_keeps_the_last_row_of_a_repeated_key_and_replaces_old_rows(store):
    """A flush of many rows (PostgreSQL loads those with COPY) upserts as row-by-row
    would: within the batch the later row of a key wins, rows already there are
    replaced, array columns and NULLs arrive intact."""
    from glassnet.track.store.postgresql import COPY_FROM

    run = init("p", store=store)
    n = COPY_FROM * 3
    store._flush({"metrics": [(run.id, "m", s, float(s), 1.0) for s in range(0, n, 2)]}, {})
    batch = [(run.id, "m", s, -float(s), 2.0) for s in range(n)]  # half of them exist
    batch += [(run.id, "m", 7, 777.0, 3.0), (run.id, "m", 7, 7.5, 4.0)]  # 7 twice: last wins
    store._flush({"metrics": batch}, {})
    steps, values = store.metrics(run.id, "m")
    expected = -np.arange(n, dtype=np.float64)
    expected[7] = 7.5
    assert steps.tolist() == list(range(n))
    np.testing.assert_array_equal(values, expected)
    series = [(run.id, f"s{i}", 0, None if i % 2 else np.arange(3, dtype=np.int64).tobytes(),
               np.full(3, i, dtype=np.float64).tobytes(), 1.0) for i in range(COPY_FROM + 1)]
    store._flush({"metric_series": series}, {})
    for i in (0, 1, COPY_FROM):
        steps, values = store.metrics(run.id, f"s{i}")
        assert steps.tolist() == [0, 1, 2] and values.tolist() == [float(i)] * 3
    run.finish()
