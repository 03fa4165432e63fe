"""The benchmark harness's glassnet side works: W1 trains as the hand-worked SGD says.

No timings are asserted here (``make bench`` measures); these tests prove that the
code ``make bench`` runs trains the right thing from the given weights and order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import run as bench_run  # noqa: E402
from benchmarks import workloads  # noqa: E402


def sgd_by_hand(w, b, epochs, lr=0.01):
    """Full-batch SGD on mean((w x + b - y)**2) for X = [1, 2], y = [300, 500], in float64."""
    x, y = np.array([1.0, 2.0]), np.array([300.0, 500.0])
    for _ in range(epochs):
        error = w * x + b - y
        w, b = w - lr * 2.0 * np.mean(error * x), b - lr * 2.0 * np.mean(error)
    return w, b


def test_w1_three_epochs_match_hand_worked_sgd():
    weights = [np.array([[0.5]], dtype=np.float32), np.array([-1.0], dtype=np.float32)]
    order = np.tile(np.arange(2), (3, 1))
    result = workloads.w1(weights, order)
    w, b = sgd_by_hand(0.5, -1.0, epochs=3)
    assert result["w"] == pytest.approx(w, rel=1e-5)
    assert result["b"] == pytest.approx(b, rel=1e-5)
    assert result["us_per_step"] == pytest.approx(result["seconds"] / 3 * 1e6)
    # The last epoch's loss is the MSE before its own update.
    w2, b2 = sgd_by_hand(0.5, -1.0, epochs=2)
    expected = np.mean((w2 * np.array([1.0, 2.0]) + b2 - np.array([300.0, 500.0])) ** 2)
    assert result["final_loss"] == pytest.approx(expected, rel=1e-5)


def test_replayed_order_feeds_fit_the_given_permutations():
    """fit(shuffle=True) under replayed_order trains exactly as fit on pre-permuted rows."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    order = np.stack([rng.permutation(10) for _ in range(2)])
    weights = [rng.standard_normal((3, 1)).astype(np.float32), np.zeros(1, np.float32)]

    def trained(fit):
        import glassnet as gn
        from glassnet.layers import Dense, Input

        model = gn.Sequential([Input(shape=(3,)), Dense(1)])
        model.compile(optimizer=gn.optimizers.SGD(0.1), loss="mse")
        model.set_weights(weights)
        fit(model)
        return model.get_weights()

    def replayed(model):
        with workloads.replayed_order(order):
            model.fit(x, y, batch_size=4, epochs=2, shuffle=True, verbose=0)

    def by_hand(model):
        for rows in order:
            model.fit(x[rows], y[rows], batch_size=4, epochs=1, shuffle=False, verbose=0)

    for got, expected in zip(trained(replayed), trained(by_hand), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_summary_ratios_are_peer_median_over_glassnet_median():
    runs = {"glassnet": [{"seconds": s} for s in (1.0, 2.0, 3.0)],
            "torch": [{"seconds": s} for s in (10.0, 30.0, 20.0)],
            "gemm_bound": [{"seconds": s} for s in (0.5, 1.0, 2.0)],
            "glassnet-numpy": [{"seconds": s} for s in (2.0, 4.0, 3.0)]}
    summary = bench_run.summarize("w3", {"runs": runs, "errors": {}})
    rows = summary["rows"]
    assert rows["glassnet"]["median_s"] == 2.0
    assert (rows["torch"]["min_s"], rows["torch"]["max_s"]) == (10.0, 30.0)
    assert rows["torch"]["ratio_to_glassnet"] == pytest.approx(20.0 / 2.0)
    assert rows["gemm_bound"]["glassnet_over_bound"] == pytest.approx(2.0 / 1.0)
    assert rows["gemm_bound"]["glassnet_over_bound_paired_median"] == pytest.approx(2.0)
    assert rows["gemm_bound"]["glassnet_over_bound_best"] == pytest.approx(1.0 / 0.5)
    assert rows["glassnet-numpy"]["over_bound"] == pytest.approx(3.0 / 1.0)
    assert rows["glassnet"]["seconds"] == [1.0, 2.0, 3.0]
