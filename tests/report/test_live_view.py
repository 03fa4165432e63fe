"""LiveView: what it draws during fit is the model's state; outside a notebook, a progress bar."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from html_reading import Reader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: loss_watcher

import glassnet as gn  # noqa: E402
from glassnet._engine.table import format_value
from glassnet.layers import Dense, Input
from glassnet.report.live import PER_BATCH_FROM_STEPS, LiveView
from loss_watcher import BatchLosses  # noqa: E402


class Cell:
    """Stands in for an IPython display handle: keeps every bundle drawn."""

    def __init__(self) -> None:
        self.bundles: list[dict] = []

    def update(self, bundle, raw=True):
        assert raw
        self.bundles.append(bundle)


def model_and_data(n=64):
    gn.utils.set_random_seed(0)
    X = np.random.default_rng(0).normal(size=(n, 3))
    y = (X.sum(axis=1) > 0).astype(float)
    model = gn.Sequential([Input(shape=(3,)), Dense(4, activation="tanh", name="hidden"),
                           Dense(1, activation="sigmoid", name="out")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model, X, y


def test_the_last_view_shows_the_final_weights_and_biases_and_losses():
    model, X, y = model_and_data()
    cell = Cell()
    view = LiveView(every=0, handle=cell)
    history = model.fit(X, y, epochs=4, batch_size=16, verbose=0, validation_split=0.25,
                        callbacks=[view])
    assert view.redraws == len(cell.bundles) >= 2
    reader = Reader(cell.bundles[-1]["text/html"])
    rows = {row[0]: row[1:] for row in reader.tables[0][1:]}
    assert list(rows) == [v.path for v in model.weights]
    for variable in model.weights:
        value = variable.numpy()
        assert rows[variable.path][:5] == ["×".join(map(str, value.shape)),
                                           format_value(float(value.mean())),
                                           format_value(float(value.std())),
                                           format_value(float(value.min())),
                                           format_value(float(value.max()))]
    kernel = model.get_layer("hidden").kernel
    assert rows["hidden/kernel"][5] != ""            # moved from its start
    status = cell.bundles[-1]["text/plain"]
    assert status.startswith("epoch 4/4, step 12,")   # 3 steps of 16 per epoch
    assert f"val_loss {format_value(history.history['val_loss'][-1])}" in status
    assert kernel is model.weights[0]


def test_short_epochs_are_drawn_at_their_ends_long_ones_per_batch_too():
    model, X, y = model_and_data()
    short = LiveView(every=0, handle=Cell())
    model.fit(X, y, epochs=3, batch_size=16, verbose=0, callbacks=[short])
    assert not short.implements("on_train_batch_end")
    html = short.render()
    # epoch losses drawn; no per-batch points were collected
    assert "epoch loss" in html and short._batch_losses == []

    model, X, y = model_and_data(n=PER_BATCH_FROM_STEPS)
    cell = Cell()
    long = LiveView(every=0, handle=cell)
    losses = BatchLosses()
    model.fit(X, y, epochs=1, batch_size=1, verbose=0, callbacks=[long, losses])
    assert long.implements("on_train_batch_end")
    assert len(long._batch_losses) == PER_BATCH_FROM_STEPS
    assert long._batch_losses[-1] == pytest.approx(losses.losses[-1])
    points = re.search(r'<polyline points="([^"]+)"', cell.bundles[-1]["text/html"]).group(1)
    assert len(points.split()) == PER_BATCH_FROM_STEPS  # one point per batch
    assert long.redraws >= 2                           # redrawn during the epoch, not only after


def test_the_interval_throttles_redraws():
    model, X, y = model_and_data()
    view = LiveView(every=1e9, handle=Cell())
    model.fit(X, y, epochs=5, batch_size=8, verbose=0, callbacks=[view])
    assert view.redraws == 1                           # the final state only


def test_outside_a_notebook_it_is_the_progress_bar(capsys):
    model, X, y = model_and_data()
    model.fit(X, y, epochs=2, batch_size=16, verbose=0, callbacks=[LiveView()])
    out = capsys.readouterr().out
    assert out.count("Epoch 1/2") == 1 and out.count("Epoch 2/2") == 1
    assert re.search(r"4/4 .* - loss: \d\.\d{4}", out)
    model.fit(X, y, epochs=2, batch_size=16, verbose=1, callbacks=[LiveView()])
    assert capsys.readouterr().out.count("Epoch 1/2") == 1   # not a second bar


@pytest.mark.parametrize("kwargs, match", [({"every": -1}, "every must be"),
                                           ({"budget": 0}, "budget must be a share")])
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LiveView(**kwargs)


def test_liveview_is_reachable_from_the_report_package():
    assert gn.report.LiveView is LiveView
