"""The methods that are trained rather than applied by python -m glue.quantize: the baseline
every variant is measured against, and the QLoRA fine-tunes (llamafactory-cli; seqcls/ and
glue/sft/register.py build them). Only their facts live here; their folders name their own loaders."""
from __future__ import annotations

from glue.quant.facts import DataNeed, MethodFacts

ANY_DEVICE = ("cpu", "cuda")

TRAINED = (
    # Every track's reference, built by its own target (make baseline), not one of the track's variants.
    MethodFacts("baseline", "FP32 baseline",
                "Full fine-tuning of the pretrained model with a fresh classification head, in FP32. Every other "
                "variant starts from (or is compared against) this model.",
                DataNeed.TRAINING, ANY_DEVICE, families=()),
    MethodFacts("qlora", "QLoRA",
                "QLoRA: the frozen base weights are stored in 4-bit NormalFloat (bitsandbytes), and small low-rank "
                "adapters (LoRA) plus the classification head are trained in higher precision on top.",
                DataNeed.TRAINING, ANY_DEVICE, families=("encoder", "decoder")),
    MethodFacts("qlora_sft", "QLoRA answer-word tuning",
                "QLoRA supervised fine-tuning of a causal language model (LLaMA-Factory, stage sft): the base is "
                "frozen in 4-bit NF4 and LoRA adapters learn to answer with the label word; it is evaluated as a "
                "classifier by scoring each label's answer tokens.",
                DataNeed.TRAINING, ANY_DEVICE, families=("decoder",)),
)
