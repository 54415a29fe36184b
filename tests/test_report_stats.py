"""report.stats on cases small enough to compute by hand."""
from __future__ import annotations

import numpy as np
import pytest

from report import stats


def test_macro_f1_by_hand():
    # class 0: tp=1 fp=1 fn=1 -> F1 = 2/4 = 0.5; class 1: tp=1 fp=1 fn=1 -> 0.5; class 2: tp=1 -> 1.0
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 0, 2])
    assert stats.macro_f1(y_true, y_pred, 3) == pytest.approx((0.5 + 0.5 + 1.0) / 3)


def test_macro_f1_vectorised_rows_and_absent_class():
    batch_true = np.array([[0, 1], [0, 0]])
    batch_pred = np.array([[0, 1], [0, 0]])
    # row 1: both classes perfect -> 1.0; row 2: class 1 absent from truth and prediction -> F1 0 -> 0.5
    assert stats.macro_f1(batch_true, batch_pred, 2).tolist() == [1.0, 0.5]


def test_mcnemar_exact_binomial_by_hand():
    y_true = np.zeros(10, int)
    base = np.array([0] * 6 + [1] * 4)      # right on 0-5
    var = np.array([1] * 5 + [0] * 5)       # right on 5-9
    m = stats.mcnemar(y_true, base, var)
    # broken: 0-4 (5), fixed: 6-9 (4); n=9, P(X<=4 | Bin(9, .5)) = 256/512 -> two-sided 1.0
    assert (m.broken, m.fixed) == (5, 4)
    assert m.p_value == pytest.approx(1.0)
    # 1 broken vs 5 fixed: P(X<=1 | n=6) = 7/64, two-sided 14/64
    base2 = np.array([0, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    var2 = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    m2 = stats.mcnemar(y_true, base2, var2)
    assert (m2.broken, m2.fixed, m2.p_value) == (1, 5, pytest.approx(14 / 64))


def test_mcnemar_no_discordant_pairs_and_shape_error():
    y = np.array([0, 1, 1])
    assert stats.mcnemar(y, y, y).p_value == 1.0
    with pytest.raises(ValueError, match="same examples"):
        stats.mcnemar(y, y, y[:2])


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3*0.01=0.03, 2*0.03=0.06, max(0.06, 1*0.04)=0.06
    assert stats.holm([0.04, 0.01, 0.03]) == pytest.approx([0.06, 0.03, 0.06])
    # sorted 0.8, 0.9 -> 2*0.8=1.6 capped at 1.0; then max(1.0, 0.9) = 1.0
    assert stats.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


def test_intervals_contain_estimate_and_are_reproducible():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 3, 300)
    y_pred = np.where(rng.random(300) < 0.8, y_true, (y_true + 1) % 3)
    a = stats.metric_intervals(y_true, y_pred, 3, n_resamples=300)
    b = stats.metric_intervals(y_true, y_pred, 3, n_resamples=300)
    assert a == b
    for ci in a.values():
        assert ci.low < ci.estimate < ci.high
    assert a["accuracy"].estimate == pytest.approx((y_true == y_pred).mean())


def test_paired_delta_is_zero_for_identical_models_and_excludes_zero_for_a_clear_gap():
    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 2, 400)
    same = stats.paired_delta_interval(y_true, y_true, y_true, 2, "accuracy", n_resamples=200)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    worse = np.where(np.arange(400) < 100, 1 - y_true, y_true)   # 100 new errors: -25 points
    gap = stats.paired_delta_interval(y_true, y_true, worse, 2, "accuracy", n_resamples=200)
    assert gap.estimate == pytest.approx(-0.25)
    assert gap.high < 0.0  # the interval excludes no change
