"""Record training runs in an embedded store: metrics, every weight and bias, datasets, models.

Recording (W&B-shaped)::

    run = gn.track.init("digits", config={"lr": 1e-3}, store=None, tags=None, group=None)
    watch = run.watch(log_freq=100, histograms=True, snapshots="end")
    model.fit(X, y, callbacks=[watch])
    run.log({"custom": 1.0}, step=None)          # step None: the step after the last one
    run.log_dataset("digits", X=X, y=y)          # -> version number (same data, same version)
    run.log_model(model, "digits-mlp", aliases=["latest"])   # -> version number
    run.finish()                                 # or: with gn.track.init(...) as run: ...
    gn.track.load_model("digits-mlp:latest")     # or "digits-mlp:v3"

Reading (the only way report/, cli and ui read runs)::

    store = gn.track.open_store(None)      # the folder, else $GLASSNET_STORE, else ./glassnet-runs
    store.runs(project=None, status=None, tag=None, group_id=None, archived=False)
                                           # [RunRecord], newest first
    store.run(run_id_or_prefix)            # RunRecord: dict + attributes: id, project, name,
                                           # status, config, summary, tags, group_id, created_at,
                                           # finished_at, heartbeat_at, error, host, pid, env,
                                           # note, archived_at
    store.metric_keys(run_id)              # ["accuracy", "epoch/loss", "loss", ...]
    store.metrics(run_id, key, max_points=None)   # (steps int64, values float64), steps ascending
    store.param_paths(run_id)              # ["dense/bias", "dense/kernel", ...]
    store.param_stats(run_id, path=None)   # [dict]: step, path, count, mean, std, min, max, l2,
                                           # neg_share, grad_*, update_ratio,
                                           # histogram: (counts, edges)
    store.param_series(run_id, path, field)       # (steps, values) of one statistic
    store.histograms(run_id, path)         # (steps (n,), edges (n, 65), counts (n, 64))
    store.layer_stats(run_id, layer=None)  # [dict]: step, layer, backward_time, update_time,
                                           # dead_share, saturated_share
    store.snapshots(run_id)                # [step, ...]; -1 is the weights before training
    store.snapshot(run_id, step)           # {path: ndarray}; step may be "end"
    store.model_config(run_id)             # model.get_config() as the watch recorded it, or None
    store.model_compile_config(run_id)     # model.get_compile_config(), or None
    store.artifacts(run_id=None); store.datasets(name=None); store.models(name=None)
    store.search_runs(filter="config.lr < 0.01 and tags contains 'baseline'",
                      order_by="summary.accuracy desc", limit=None, offset=0)
                                           # a DataFrame (records without pandas): docs/search.md
    store.metrics_frame(run_ids, keys=None)        # long form: run_id, key, step, value
    store.param_stats_frame(run_id, path=None)     # long form: run_id, path, step, stat, value

The life of a run (docs/run-life.md)::

    run.tags.add("baseline"); run.tags.remove("old"); run.note = "markdown text"
    store.tag_run(run_id, add=(), remove=()); store.set_note(run_id, text)
    store.archive_run(run_id); store.unarchive_run(run_id)   # hidden from lists, kept
    store.delete_run(run_id, dry_run=False)   # rows, then blobs no other row names
    store.collect_garbage(dry_run=False, grace_s=3600)      # orphan blobs
    store.set_model_alias(name, version, alias)             # moves it: the old holder loses it

Watch metric keys: per step ``loss``; every ``log_freq`` steps each compiled metric;
per epoch ``epoch``, ``epoch/loss``, ``epoch/<metric>``, ``epoch/val_<metric>``. Steps
count optimizer steps from 0. A run whose process died reads back ``crashed``.
"""

from glassnet.track.registry import load_dataset, load_model
from glassnet.track.run import Run, init
from glassnet.track.store import Store, open_store

__all__ = ["Run", "Store", "init", "load_dataset", "load_model", "open_store"]


def __getattr__(name):
    if name == "keras":  # glassnet.track.keras.Watch: Keras imported only when asked for
        from importlib import import_module

        return import_module("glassnet.track.keras")
    raise AttributeError(f"module 'glassnet.track' has no attribute {name!r}")
