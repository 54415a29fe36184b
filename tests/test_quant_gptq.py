"""GPTQ rounding (glue/quant/gptq.py) on hand-computed cases, its 4-bit grid against bitsandbytes'
own rounding, and the bnb_nf4 recipe with GPTQ through the CLI code on a tiny baseline."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from glue.folder.variant import load_variant
from glue.quant.gptq import gptq, hessians

INTEGERS = lambda column, _index: torch.round(column)  # noqa: E731  a grid of whole numbers


def output_error(weight: torch.Tensor, rounded: torch.Tensor, hessian: torch.Tensor) -> float:
    """``||(W - Q) X||^2`` written with ``H = X^T X``: the sum over rows of ``d H d^T``."""
    d = (weight - rounded).double()
    return float(torch.einsum("ri,ij,rj->", d, hessian.double(), d))


def test_an_error_moves_to_the_correlated_column_by_hand() -> None:
    # H = [[1, .5], [.5, 1]]: H^-1 = [[4/3, -2/3], [-2/3, 4/3]]. Rounding 0.4 to 0 leaves an error of 0.4,
    # and OBQ's update moves column 2 by -0.4 * (-2/3) / (4/3) = +0.2: 0.4 becomes 0.6, which rounds to 1.
    weight, hessian = torch.tensor([[0.4, 0.4]]), torch.tensor([[1.0, 0.5], [0.5, 1.0]])
    rounded = gptq(weight, hessian, INTEGERS, damp=0.0)
    assert rounded.tolist() == [[0.0, 1.0]]
    # output error: nearest (0, 0) leaves d = (.4, .4): .16 + .16 + 2 * .5 * .16 = .48;
    # GPTQ's (0, 1) leaves d = (.4, -.6): .16 + .36 - 2 * .5 * .24 = .28
    assert output_error(weight, torch.zeros(1, 2), hessian) == pytest.approx(0.48)
    assert output_error(weight, rounded, hessian) == pytest.approx(0.28)


def test_uncorrelated_inputs_give_round_to_nearest() -> None:
    torch.manual_seed(0)
    weight = 3 * torch.randn(5, 7)
    hessian = torch.diag(torch.rand(7) + 0.1)
    assert torch.equal(gptq(weight, hessian, INTEGERS), torch.round(weight))


def test_correlated_inputs_lose_less_output_than_nearest() -> None:
    torch.manual_seed(0)
    x = torch.randn(400, 16) @ torch.randn(16, 16)  # correlated inputs
    weight = 2 * torch.randn(8, 16)
    hessian = x.T @ x
    nearest, rounded = torch.round(weight), gptq(weight, hessian, INTEGERS)
    assert torch.equal(rounded, torch.round(rounded))  # still on the grid
    assert output_error(weight, rounded, hessian) < 0.7 * output_error(weight, nearest, hessian)


def test_the_lazy_block_update_gives_the_column_by_column_result() -> None:
    torch.manual_seed(1)
    x = torch.randn(200, 20) @ torch.randn(20, 20)
    weight = 2 * torch.randn(6, 20)
    assert torch.equal(gptq(weight, x.T @ x, INTEGERS, block=3), gptq(weight, x.T @ x, INTEGERS, block=20))


def test_an_input_never_seen_is_rounded_alone() -> None:
    weight = torch.tensor([[0.4, 0.4, 1.6]])
    hessian = torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 0.0]])  # input 3 always zero
    assert gptq(weight, hessian, INTEGERS, damp=0.0).tolist() == [[0.0, 1.0, 2.0]]


class Toy(torch.nn.Module):
    """input_ids -> embedding -> Linear, as observe() runs a model: ``model(**batch)``."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(4, 2)
        self.proj = torch.nn.Linear(2, 2)
        with torch.no_grad():
            self.embed.weight.copy_(torch.tensor([[100.0, 100.0], [1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.proj(self.embed(input_ids))


def test_hessians_sum_the_real_tokens_only() -> None:
    # token 0 is padding (its huge row must not count): x = (1, 0), (0, 2), (1, 1)
    batch = {"input_ids": torch.tensor([[1, 2, 0], [3, 0, 0]]), "attention_mask": torch.tensor([[1, 1, 0], [1, 0, 0]])}
    h = hessians(Toy(), lambda module, _: isinstance(module, torch.nn.Linear), [batch])
    # X^T X = (1,0)(1,0)^T + (0,2)(0,2)^T + (1,1)(1,1)^T = [[2, 1], [1, 5]]
    assert h["proj"].tolist() == [[2.0, 1.0], [1.0, 5.0]]


def test_the_4bit_grid_is_bitsandbytes_rounding() -> None:
    from glue.quant.bnb import BnbConfig, grid_columns, weight_rounding

    torch.manual_seed(0)
    weight = torch.randn(4, 128)
    weight[0, :5] = 0.0  # zeros land on code 0 both ways
    weight[1, 64:] = 0.0  # so does a block of zeros
    config = BnbConfig(double_quant=False)
    nearest = gptq(weight, torch.eye(128), grid_columns(weight, config))
    torch.testing.assert_close(nearest, weight_rounding(config)(weight), rtol=0, atol=1e-6)


@pytest.mark.parametrize("double_quant", [False, True])
def test_bitsandbytes_keeps_the_codes_gptq_chose(double_quant: bool) -> None:
    from glue.quant.bnb import BnbConfig, grid_columns, weight_rounding

    torch.manual_seed(0)
    x = torch.randn(300, 128) @ torch.randn(128, 128)
    weight = torch.randn(16, 128)
    config = BnbConfig(double_quant=double_quant)
    rounded = gptq(weight, x.T @ x, grid_columns(weight, config))
    assert not torch.allclose(rounded, weight_rounding(config)(weight), atol=1e-3)  # not round-to-nearest
    # bitsandbytes reads the rounded weight back to the same values (double quantization rounds the block
    # scales to 8 bits: up to about 1% of a value)
    torch.testing.assert_close(weight_rounding(config)(rounded), rounded, rtol=0.01 if double_quant else 1e-6,
                               atol=1e-6)


def test_gptq_rounds_only_linears_of_whole_blocks() -> None:
    from glue.quant.bnb import BnbConfig, gptq_linears

    model = torch.nn.ModuleDict({"a": torch.nn.Linear(128, 8), "b": torch.nn.Linear(96, 8),
                                 "classifier": torch.nn.Linear(64, 6)})
    assert list(gptq_linears(model, BnbConfig())) == ["a"]  # b spans blocks across rows; the head is skipped


def test_gptq_needs_a_4bit_load() -> None:
    from glue.quant.bnb import BnbConfig
    from glue.schema.recipe import RecipeError

    with pytest.raises(RecipeError, match=r"quant_config.rounding: 'gptq' is for 4-bit loads"):
        BnbConfig.from_dict({"bits": 8, "rounding": "gptq"})


def test_gptq_makes_the_load_read_calibration_texts() -> None:
    from glue.quant import DataNeed, get_method

    assert get_method("bnb").data_for({"rounding": "gptq"}) is DataNeed.CALIBRATION
    assert get_method("bnb").data_for({"rounding": "gptq", "max_drop": 0.5}) is DataNeed.VALIDATION
    assert get_method("bnb").data_for({"rounding": "nearest"}) is DataNeed.NONE


def test_nf4_with_gptq_is_closer_to_fp32_and_a_kept_linear_keeps_its_weight(tiny_bert_64_dir: Path,
                                                                          prepared_dir: Path, tmp_path: Path) -> None:
    from test_quant_tuning import quantize_bnb

    from data_prep.prepared import load_split

    kept = "bert.encoder.layer.0.attention.self.query"
    folders = {rounding: quantize_bnb(tiny_bert_64_dir, prepared_dir, tmp_path / rounding, max_drop=None,
                                      rounding=rounding, calibration_samples=32,
                                      skip_modules=["classifier", "pooler", kept])
               for rounding in ("nearest", "gptq")}
    baseline = load_variant(tiny_bert_64_dir)
    texts = load_split(prepared_dir, "emotion_train", limit=32).texts  # the texts GPTQ rounded on
    with torch.inference_mode():
        fp32 = baseline.logits(texts)
        errors = {}
        for rounding, folder in folders.items():
            variant = load_variant(folder)
            errors[rounding] = (variant.logits(texts) - fp32).norm().item()
            block = variant.manifest.quantization
            assert block["config"]["rounding"] == rounding
            query = variant.model.get_submodule(kept)
            assert type(query) is torch.nn.Linear
            torch.testing.assert_close(query.weight, baseline.model.get_submodule(kept).weight, rtol=0, atol=0)
    gptq_block = load_variant(folders["gptq"]).manifest.quantization
    assert gptq_block["calibration"]["samples"] == 32 and gptq_block["calibration"]["source"] == "emotion_train"
    assert "GPTQ" in gptq_block["observers"]["weight"] and "calibration" not in \
        load_variant(folders["nearest"]).manifest.quantization
    assert 0 < errors["gptq"] < errors["nearest"]
