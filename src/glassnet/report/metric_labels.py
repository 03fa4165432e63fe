"""What a run's final metric is measured on: the last batch, the last epoch, a held-out set.

A run's summary holds the last value of every key it logged, and ``watch`` logs the
same metric twice: ``loss`` after every optimizer step (so its last value is the last
batch's) and ``epoch/loss`` once per epoch (the mean over that epoch's batches). Side
by side, ``loss 0.01037`` and ``epoch/loss 0.01742`` read as a contradiction unless
each says what it is; ``show``, the dashboard and the HTML report label them so.
"""

from __future__ import annotations


def metric_label(key: str, keys=()) -> str:
    """A few words saying what summary ``key`` measured; ``keys``: the run's other keys."""
    if key.startswith("epoch/val_"):
        return "validation split, last epoch"
    if key.startswith("epoch/"):
        return "training, mean over the last epoch's batches"
    if key.startswith("test/"):
        return "test set"
    if f"epoch/{key}" in keys:
        # watch keeps the last batch's loss, but a metric's running value at the epoch's end
        return "training, last batch only" if key == "loss" else \
            "training, running value at the last epoch's end"
    return ""


def summary_labels(summary: dict) -> dict[str, str]:
    """``{key: label}`` for every labelled key of a run summary (``epoch`` left out)."""
    labels = {key: metric_label(key, summary) for key in summary if key != "epoch"}
    return {key: label for key, label in labels.items() if label}
