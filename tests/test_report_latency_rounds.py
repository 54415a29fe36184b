"""eval.latency repeats its measurement in rounds over the same texts: the run-to-run spread the
reports use to decide "faster". A fake clock, advanced by the fake predictor, makes every time known."""
from __future__ import annotations

import pytest

from eval import latency


@pytest.fixture
def clock(monkeypatch):
    state = {"now": 0.0, "calls": 0}
    monkeypatch.setattr(latency.time, "perf_counter", lambda: state["now"])
    return state


def test_rounds_are_kept_and_old_keys_stay(clock):
    def predict(texts):  # 1 ms per text
        clock["calls"] += 1
        clock["now"] += 0.001 * len(texts)

    out = latency.measure_latency(predict, [f"text {i}" for i in range(50)], batch_size=4, n_single=6, n_batches=3,
                                  warmup=1, rounds=3)
    assert out["ms_per_example_rounds"] == pytest.approx([1.0] * 3) and out["ms_per_batch_rounds"] == pytest.approx([4.0] * 3)
    assert (out["rounds"], out["n_single"], out["n_batches"]) == (3, 6, 3)
    for key in ("ms_per_example", "ms_per_example_p10", "ms_per_example_p90", "ms_per_batch", "batch_size", "threads"):
        assert key in out  # keys written before rounds existed are still there
    # per round: 1 warm-up + 6 // 3 single calls, and 1 warm-up + 3 // 3 batches
    assert clock["calls"] == 3 * (1 + 2) + 3 * (1 + 1)


def test_a_slower_round_shows_in_its_own_median(clock):
    def predict(texts):  # the first round (1 warm-up + 3 timed calls) costs 2 ms a call, later ones 8 ms
        clock["calls"] += 1
        clock["now"] += 0.002 if clock["calls"] <= 4 else 0.008

    out = latency.measure_latency(predict, [f"t{i}" for i in range(20)], n_single=9, n_batches=3, warmup=1, rounds=3)
    assert out["ms_per_example_rounds"] == pytest.approx([2.0, 8.0, 8.0])
    assert out["ms_per_example"] == pytest.approx(8.0)  # the median over all samples


def test_mean_is_kept_beside_the_median(clock):
    def predict(texts):  # the first round costs 2 ms a call, later ones 8 ms: mean and median differ
        clock["calls"] += 1
        clock["now"] += 0.002 if clock["calls"] <= 4 else 0.008

    out = latency.measure_latency(predict, [f"t{i}" for i in range(20)], n_single=9, n_batches=3, warmup=1, rounds=3)
    assert out["ms_per_example_mean"] == pytest.approx((3 * 2.0 + 6 * 8.0) / 9)
    assert out["ms_per_example"] == pytest.approx(8.0) and out["ms_per_batch_mean"] == pytest.approx(8.0)
