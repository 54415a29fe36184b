"""eval.sensitivity on the tiny BERT: one unit at a time with the real ptq_dynamic method."""
from __future__ import annotations

import json

import pytest
import torch

from eval import sensitivity
from glue.folder.variant import load_variant
from glue.quant.base import QuantContext
from glue.quant.ptq_dynamic import DynamicConfig

QUANT_CONFIG = {"granularity": "per_channel", "embeddings": ["word_embeddings"], "skip_modules": ["classifier", "pooler"]}


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    path = tmp_path_factory.mktemp("recipe") / "ptq_dynamic.yaml"
    path.write_text("method: ptq_dynamic\nquant_config:\n" + "".join(
        f"  {k}: {json.dumps(v)}\n" for k, v in QUANT_CONFIG.items()))
    return path


def _quantized(model: torch.nn.Module) -> set[str]:
    return {n for n, m in model.named_modules()
            if type(m).__module__.startswith("torch.ao.nn.quantized") and not n.endswith("_packed_params")}


def test_units_and_single_unit_quantization(tiny_bert_dir):
    model = load_variant(tiny_bert_dir).model
    config = DynamicConfig.from_dict(QUANT_CONFIG)
    groups = {u["unit"]: u for u in sensitivity.units(model, config)}
    assert {"layer 0", "layer 1", "attention.self.query", "output.dense", "bert.embeddings.word_embeddings"} <= set(groups)
    assert len(groups["layer 0"]["modules"]) == 6 and len(groups["attention.self.query"]["modules"]) == 2
    quantizable = sorted({m for g in groups.values() for m in g["modules"]})
    one = sensitivity.quantize_only(model, config, groups["layer 1"]["modules"], quantizable, QuantContext())
    assert _quantized(one) == set(groups["layer 1"]["modules"])
    emb = sensitivity.quantize_only(model, config, groups["bert.embeddings.word_embeddings"]["modules"], quantizable,
                                    QuantContext())
    assert _quantized(emb) == {"bert.embeddings.word_embeddings"}
    assert not _quantized(model)  # the baseline itself is never modified


def test_main_writes_json_with_provenance(tiny_bert_dir, prepared_dir, recipe, tmp_path):
    sensitivity.main(["--model", str(tiny_bert_dir), "--recipe", str(recipe), "--dataset-dir", str(prepared_dir),
                      "--results", str(tmp_path)])
    out = json.loads((tmp_path / "emotion" / "tiny-bert" / "sensitivity_ptq_dynamic.json").read_text())
    assert out["method"] == "ptq_dynamic" and out["n_examples"] == 48 and "git_commit" in out["provenance"]
    assert len(out["full"]["modules"]) == 2 * 6 + 1
    for unit in out["units"] + [out["full"]]:
        assert unit["drop_points"] == pytest.approx((out["baseline"]["macro_f1"] - unit["macro_f1"]) * 100)
        assert 0 <= unit["flips"] <= 48


def test_bad_recipe_is_one_line(tiny_bert_dir, prepared_dir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("quant_config:\n  granularty: per_channel\n")
    with pytest.raises(SystemExit, match="granularty"):
        sensitivity.main(["--model", str(tiny_bert_dir), "--recipe", str(bad), "--dataset-dir", str(prepared_dir),
                          "--results", str(tmp_path)])


def test_smoothquant_units_calibrate_on_the_train_split(tiny_bert_dir, prepared_dir, tmp_path):
    """With SmoothQuant on (as the shipped recipe has it), each unit is smoothed from train texts."""
    smoothed = tmp_path / "ptq_dynamic.yaml"
    config = {**QUANT_CONFIG, "smooth_alpha": 0.75, "calibration_samples": 16, "calibration_batch_size": 8}
    smoothed.write_text("method: ptq_dynamic\nquant_config:\n" + "".join(
        f"  {k}: {json.dumps(v)}\n" for k, v in config.items()))
    out = sensitivity.measure(tiny_bert_dir, smoothed, prepared_dir, None, 16)
    assert out["quant_config"]["smooth_alpha"] == 0.75 and len(out["full"]["modules"]) == 2 * 6 + 1
    assert all(0 <= unit["flips"] <= 16 for unit in out["units"])
