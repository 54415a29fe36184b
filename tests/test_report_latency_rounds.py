"""eval.latency repeats its measurement in rounds over the same texts: the run-to-run spread the
reports use to decide "faster". A fake predictor whose cost grows by round makes the answer known."""
from __future__ import annotations

import time

from eval.latency import measure_latency


def test_rounds_are_kept_and_old_keys_stay():
    calls = {"n": 0}

    def predict(texts):
        calls["n"] += 1
        time.sleep(0.001 * len(texts))

    out = measure_latency(predict, [f"text {i}" for i in range(50)], batch_size=4, n_single=6, n_batches=3,
                          warmup=1, rounds=3)
    assert out["rounds"] == 3 and len(out["ms_per_example_rounds"]) == 3 and len(out["ms_per_batch_rounds"]) == 3
    assert out["n_single"] == 6 and out["n_batches"] == 3
    for key in ("ms_per_example", "ms_per_example_p10", "ms_per_example_p90", "ms_per_batch", "batch_size", "threads"):
        assert key in out  # keys written before rounds existed are still there
    # batches of 4 texts sleep ~4x longer than single texts
    assert min(out["ms_per_batch_rounds"]) > 2 * max(out["ms_per_example_rounds"])
    # per round: 1 warm-up + 6 // 3 single calls, and 1 warm-up + 3 // 3 batches
    assert calls["n"] == 3 * (1 + 2) + 3 * (1 + 1)


def test_a_slower_round_shows_in_the_spread():
    state = {"calls": 0}

    def predict(texts):
        state["calls"] += 1
        time.sleep(0.002 if state["calls"] <= 4 else 0.008)  # the first round (1 warm-up + 3 timed) is fast

    out = measure_latency(predict, [f"t{i}" for i in range(20)], n_single=9, n_batches=3, warmup=1, rounds=3)
    fast, *slow = out["ms_per_example_rounds"]
    assert all(s > 2 * fast for s in slow)
