# QLoRA on the emotion classifier: the pretrained MiniLM in 4-bit NF4 (frozen) + LoRA adapters and
# an FP32 head, trained by glue/qlora.py (LLaMA-Factory has no classification stage).

QLORA_OUT := $(MODELS)/emotion/minilm-l6/qlora

.PHONY: qlora

qlora: $(QLORA_OUT)/variant.json  ## QLoRA on the embedded MiniLM (NF4 base + LoRA r=8 + FP32 head, CPU)
$(QLORA_OUT)/variant.json: recipes/emotion/qlora_minilm.yaml glue/qlora.py | data
	$(PY) -m glue.qlora $< --force

ALL_TARGETS += qlora
