"""SmoothQuant's strength chosen on validation (ptq_pt2e, qat_pt2e ``smooth_alphas``)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from test_quant_tuning import quantize

from glue.folder.variant import load_variant
from glue.quant import DataNeed, get_method
from glue.quant.tuning import mean_kl


def test_mean_kl_by_hand() -> None:
    # p = (1/2, 1/2), q = (3/4, 1/4): 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3)
    reference = torch.zeros(2, 2)
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])
    assert mean_kl(reference, logits) == pytest.approx((0.5 * math.log(4 / 3) + 0.0) / 2, rel=1e-6)
    assert mean_kl(reference, reference) == 0.0


def test_candidates_are_read_on_validation_and_checked() -> None:
    from glue.schema.recipe import RecipeError

    assert get_method("ptq_pt2e").data_for({"smooth_alphas": [0.5, 0.9]}) is DataNeed.VALIDATION
    assert get_method("ptq_pt2e").data_for({"smooth_alphas": []}) is DataNeed.CALIBRATION
    config = get_method("ptq_pt2e").config_cls.from_dict({"smooth_alphas": [0.5]})
    assert config.chooses_on_validation() and not get_method("ptq_pt2e").config_cls().chooses_on_validation()
    with pytest.raises(RecipeError, match="smooth_alphas"):
        get_method("ptq_pt2e").config_cls.from_dict({"smooth_alphas": [0.5, 1.5]})


@pytest.mark.parametrize("method", ["ptq_pt2e", "qat_pt2e"])
def test_the_candidate_closest_to_fp32_is_kept_and_recorded(tiny_bert_dir: Path, prepared_dir: Path,
                                                           tmp_path: Path, method: str) -> None:
    # alpha 1.0 moves every outlier into the weights' per-row scales: on the tiny BERT it is never the closest
    variant = load_variant(quantize(method, tiny_bert_dir, prepared_dir, tmp_path, max_drop=None, compile=False,
                                    smooth_alphas=[0.0, 0.5, 1.0]))
    block = variant.manifest.quantization
    search = block["calibration"]["smooth_alpha"]
    kl = {float(a): v for a, v in search["mean_kl"].items()}
    assert set(kl) == {0.0, 0.5, 1.0} and search["source"] == "validation" and search["texts"] == 48
    assert search["chosen"] == min(kl, key=kl.get) == block["config"]["smooth_alpha"]
    assert len(set(kl.values())) == 3  # each candidate was built and scored, not one model three times
    assert "validation" in variant.manifest.data_sha256


def test_without_a_validation_split_the_recipe_strength_stays_and_says_why(tiny_bert_dir: Path, prepared_dir: Path,
                                                                          capsys) -> None:
    from data_prep.prepared import load_split
    from glue.quant import QuantContext
    from glue.quant import quantize as quantize_model

    baseline = load_variant(tiny_bert_dir)
    config = get_method("ptq_pt2e").config_cls.from_dict(
        {"smooth_alpha": 0.5, "smooth_alphas": [0.0, 0.9], "calibration_samples": 16, "compile": False})
    context = QuantContext(baseline.tokenizer, load_split(prepared_dir, "emotion_train"), baseline.max_length)
    _, report = quantize_model(baseline.model, config, context)
    assert report.config.smooth_alpha == 0.5
    assert report.calibration["smooth_alpha"]["skipped"].startswith("emotion has no prepared validation split")
    assert "smooth_alphas not chosen, smooth_alpha=0.5 kept" in capsys.readouterr().err
