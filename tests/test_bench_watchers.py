"""``benchmarks/bench_watchers.py``'s harness: ratios are per round, over that round's
baseline, and the contestants run interleaved. No timing is asserted (``make bench``
measures); the subprocesses are replaced by a table of made-up seconds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_watchers  # noqa: E402


@pytest.fixture
def made_up(monkeypatch):
    """Every measurement answers from ``SECONDS[(contestant, round)]``; calls are logged."""
    calls = []
    seconds = {("unwatched", "1"): 1.0, ("unwatched", "2"): 2.0, ("unwatched", "3"): 1.0,
               ("glassnet defaults", "1"): 1.1, ("glassnet defaults", "2"): 2.0,
               ("glassnet defaults", "3"): 1.05}

    def measure(contestant, inputs, folder, tag):
        calls.append((contestant, tag))
        wall = seconds.get((contestant, tag), 9.0)  # 9 s in the warm-up round ("0")
        return {"wall": wall, "cpu": wall / 2}

    monkeypatch.setattr(bench_watchers, "measure", measure)
    monkeypatch.setattr(bench_watchers, "write_inputs", lambda path: None)
    return calls


def test_ratio_is_the_median_of_each_rounds_time_over_its_own_baseline(made_up):
    got = bench_watchers.run(repeats=3, warmup=True, log=lambda m: None,
                             only=["glassnet defaults"])
    row = got["contestants"]["glassnet defaults"]
    # rounds 1-3: 1.1/1.0, 2.0/2.0, 1.05/1.0 -> median 1.05 (the warm-up's 9 s ignored)
    assert row["ratio"] == pytest.approx(1.05)
    assert row["cpu_ratio"] == pytest.approx(1.05)
    assert row["ratio_spread"]["min"] == pytest.approx(1.0)
    assert row["ratio_spread"]["max"] == pytest.approx(1.1)
    assert row["seconds"] == [1.1, 2.0, 1.05]
    assert row["target"] == 1.03 and row["met"] is False
    assert got["contestants"]["unwatched"]["ratio"] == pytest.approx(1.0)
    assert set(got["contestants"]) == {"unwatched", "glassnet defaults"}  # only + baseline
    assert len(got["load_average"]["before"]) == 3


def test_contestants_take_turns_going_first(made_up):
    bench_watchers.run(repeats=2, warmup=False, log=lambda m: None,
                       only=["glassnet defaults"])
    assert made_up == [("unwatched", "0"), ("glassnet defaults", "0"),
                       ("glassnet defaults", "1"), ("unwatched", "1")]
