"""What each compression method does, in one paragraph, for the report's method section.

These describe techniques, not results. Exactly what a run quantized comes from each result's
``quantization`` block; a method missing here is shown with that block alone.
"""
from __future__ import annotations

DESCRIPTIONS = {
    "baseline": "Full fine-tuning of the pretrained model with a fresh classification head, in FP32. "
                "Every other variant starts from (or is compared against) this model.",
    "ptq_dynamic": "Post-training dynamic quantization: Linear weights are stored in int8 ahead of time; "
                   "activations are quantized on the fly with a scale computed per batch (so a text's result can "
                   "depend on which texts share its batch), and no calibration ranges are stored. With SmoothQuant "
                   "on, outlier input channels are first divided by per-channel scales (multiplied into the weight "
                   "columns) set from a few hundred unlabelled texts.",
    "ptq_static": "Post-training static quantization: observers record activation ranges on calibration batches, "
                  "then weights and activations both run in int8 with fixed scales and zero-points.",
    "ptq_pt2e": "Post-training static quantization for oneDNN, compiled: the model is exported as one graph "
                "(torch.export), SmoothQuant first divides each Linear's outlier input channels by a per-channel "
                "scale that it multiplies into the weight columns, observers calibrate one int8 range per activation "
                "tensor, and Inductor compiles the int8 graph, fusing quantize/dequantize steps with the "
                "surrounding element-wise ops around oneDNN's int8 matmuls (AMX or AVX-512 VNNI). The word embedding "
                "table is stored int8 with one scale per row; a lookup dequantizes only the rows it reads.",
    "qat": "Quantization-aware training: fake-quantize modules round weights and activations to the int8 grid in the "
           "forward pass while gradients flow through unchanged (straight-through estimator); after a short "
           "fine-tune the model is converted to real int8.",
    "qat_pt2e": "Quantization-aware training on the exported graph: the PT2E steps above (int8 embedding table, "
                "SmoothQuant), then fake quantizers on each Linear's weight and input while a short fine-tune adapts "
                "the weights to int8 rounding; the trained model is then calibrated, converted and compiled exactly "
                "like the post-training PT2E variant, whose saved format and loader it shares.",
    "qlora": "QLoRA: the frozen base weights are stored in 4-bit NormalFloat (bitsandbytes), and small low-rank "
             "adapters (LoRA) plus the classification head are trained in higher precision on top.",
    "qlora_sft": "QLoRA supervised fine-tuning of a causal language model (LLaMA-Factory, stage sft): the base is "
                 "frozen in 4-bit NF4 and LoRA adapters learn to answer with the label word; it is evaluated as a "
                 "classifier by scoring each label's answer tokens.",
    "bnb": "bitsandbytes load-time quantization of the fine-tuned checkpoint: LLM.int8() (int8 weights, outlier "
           "activation columns in 16-bit) or 4-bit NF4/FP4 with optional double quantization. No calibration, no "
           "training.",
    "scratch_int8": "INT8 quantization written from scratch in this project (no quantization library): int8 weights "
                    "with scales; 'dequant' mode expands them back to FP32 for every matmul (a size win only), 'intmm' "
                    "mode multiplies int8 weights by int8 activations with integer accumulation.",
}


# What data a method needs beyond the fine-tuned model (decides "no training data" in the decision table).
DATA_NEEDS = {"baseline": "labelled training data", "ptq_dynamic": "none", "ptq_static": "unlabelled calibration texts",
              "ptq_pt2e": "unlabelled calibration texts",
              "qat": "labelled training data", "qat_pt2e": "labelled training data", "qlora": "labelled training data",
              "qlora_sft": "labelled training data", "bnb": "none", "scratch_int8": "none"}


def _lookup(table: dict[str, str], method: str) -> str | None:
    """The entry whose key is the method name or its longest matching prefix."""
    matches = [k for k in table if method == k or method.startswith(k + "_")]
    return table[max(matches, key=len)] if matches else None


def describe(method: str) -> str | None:
    return _lookup(DESCRIPTIONS, method)


def data_needs(method: str, config: dict | None = None) -> str | None:
    """What the method needs; a method that needs nothing needs unlabelled texts once its recipe
    turns SmoothQuant on (``config`` is the result's quantization config)."""
    needs = _lookup(DATA_NEEDS, method)
    return "unlabelled texts (SmoothQuant maxima)" if needs == "none" and (config or {}).get("smooth_alpha") else needs
