import numpy as np
import pytest

from eval.metrics import classification_metrics, fidelity, kl_divergence, softmax


def test_metrics_on_a_hand_computed_case():
    labels = ["a", "b", "c"]
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    m = classification_metrics(y_true, y_pred, labels)
    # a: P 1/2 R 1/2 F 1/2; b: P 2/3 R 1 F 0.8; c: P 1 R 1/2 F 2/3
    assert m["per_class_f1"] == pytest.approx({"a": 0.5, "b": 0.8, "c": 2 / 3})
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["confusion_matrix_normalized"][0] == [0.5, 0.5, 0.0]
    assert m["per_class"]["b"]["support"] == 2


def test_identical_models_have_zero_flips_and_zero_kl():
    probs = softmax(np.random.default_rng(0).normal(size=(20, 4)))
    pred = probs.argmax(-1).tolist()
    y = np.random.default_rng(1).integers(0, 4, 20).tolist()
    f = fidelity(y, pred, probs, pred, probs)
    assert f["flip_rate"] == 0 and f["flips"] == f["fixed"] == f["broken"] == 0
    assert f["kl_mean"] == pytest.approx(0.0, abs=1e-12)


def test_flips_split_into_fixed_broken_other():
    y = [0, 1, 2, 0]
    ref = [0, 0, 1, 1]    # right, wrong, wrong, wrong
    new = [1, 1, 0, 1]    # broken, fixed, other (wrong -> wrong), same
    p = np.full((4, 3), 1 / 3)
    f = fidelity(y, ref, p, new, p)
    assert (f["flips"], f["fixed"], f["broken"], f["other_flips"]) == (3, 1, 1, 1)
    assert f["flip_rate"] == pytest.approx(0.75)


def test_kl_matches_hand_computation():
    p, q = np.array([[0.5, 0.5]]), np.array([[0.9, 0.1]])
    expected = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    assert kl_divergence(p, q)[0] == pytest.approx(expected)
    assert kl_divergence(q, p)[0] != pytest.approx(expected)  # KL is not symmetric


def test_macro_averages_skip_classes_without_examples_and_say_so():
    labels = ["a", "b", "c", "d"]
    y_true = [0, 0, 1, 1]                   # c and d have no examples
    perfect = classification_metrics(y_true, y_true, labels)
    assert perfect["macro_f1"] == 1.0 and perfect["accuracy"] == 1.0
    assert perfect["macro_over"] == ["a", "b"] and perfect["classes_without_examples"] == ["c", "d"]
    assert perfect["per_class"]["c"]["support"] == 0
    m = classification_metrics(y_true, [0, 2, 1, 1], labels)  # a false "c" lowers a's recall, not a 0 for c
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2)  # a: P 1, R 1/2; b: perfect
    assert classification_metrics([0, 1, 2, 3], [0, 1, 2, 3], labels)["classes_without_examples"] == []
