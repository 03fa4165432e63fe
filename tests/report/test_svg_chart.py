"""The notebook's SVG line chart (report/svg.py) thins a long series without hiding a spike."""

from __future__ import annotations

import numpy as np

from glassnet.report import svg


def test_a_long_series_is_thinned_keeping_its_spike_and_its_ends():
    steps = np.arange(10_000, dtype=np.float64)
    loss = 1.0 / (1.0 + steps / 100)
    loss[4_321] = 50.0  # one step diverges; evenly spaced points would step over it
    points = svg._thin(steps, loss)
    assert len(points) <= svg.MAX_POINTS
    assert (4_321.0, 50.0) in points
    assert points[0] == (0.0, 1.0) and points[-1] == (9_999.0, loss[-1])
    assert [p[0] for p in points] == sorted(p[0] for p in points)


def test_non_finite_points_are_left_out_of_the_line():
    points = svg._thin([0, 1, 2, 3], [1.0, np.nan, np.inf, 0.5])
    assert points == [(0.0, 1.0), (3.0, 0.5)]

