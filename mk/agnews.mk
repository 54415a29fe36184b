# AG News decoder track on the embedded SmolLM2-135M-Instruct: data, the one-off GGUF conversion,
# the FP32 baseline, four quantized variants of it (glue/quantize.py), and a LLaMA-Factory QLoRA
# SFT scored as a classifier. Offline, every AG News split is a subset of the official test.csv
# (see outputs/data/agnews/meta.json). Targets are the model folders' variant.json.

AG_PREP    := $(PREP)/agnews/meta.json
SMOLLM2    := $(OUT)/base_models/smollm2-135m
AG_DIR     := $(MODELS)/agnews/smollm2-135m
AG_QUANT   := $(addprefix $(AG_DIR)/,$(addsuffix /variant.json,scratch_int8_dequant scratch_int8_intmm bnb_int8 bnb_nf4))
AG_SFT     := recipes/agnews/qlora_sft_smollm2.yaml
# The quantizers' sources (mk/quant.mk's QUANT_SRC is defined after this file is read).
AG_QSRC    := $(wildcard glue/quant/*.py) glue/quantize.py

.PHONY: agnews smollm2 agnews-baseline agnews-quant agnews-sft

smollm2: $(SMOLLM2)/config.json  ## convert the embedded SmolLM2-135M GGUF (Q4_1) to an FP32 safetensors folder
$(SMOLLM2)/config.json: data_prep/smollm2.py | setup
	$(PY) -m data_prep.smollm2 --out $(SMOLLM2)

agnews-baseline: $(AG_DIR)/baseline/variant.json  ## fine-tune SmolLM2 as an AG News classifier (FP32, CPU, a few minutes)
$(AG_DIR)/baseline/variant.json: recipes/agnews/baseline_smollm2.yaml $(SMOLLM2)/config.json $(AG_PREP)
	$(PY) -m glue.train $< --force

agnews-quant: $(AG_QUANT)  ## scratch INT8 (dequant, intmm) and bitsandbytes INT8 / NF4 of the SmolLM2 baseline
$(AG_QUANT): $(AG_DIR)/%/variant.json: recipes/agnews/%.yaml $(AG_DIR)/baseline/variant.json $(AG_QSRC)
	$(PY) -m glue.quantize $< --force

agnews-sft: $(AG_DIR)/qlora_sft/variant.json  ## llamafactory-cli QLoRA SFT of SmolLM2 (label as answer), then register it
$(AG_DIR)/qlora_sft/variant.json: $(AG_SFT) glue/register_sft.py $(SMOLLM2)/config.json $(AG_PREP)
	rm -f $@  # a failed rerun must not leave the old manifest beside a new adapter
	$(VENV)/bin/llamafactory-cli train $<
	$(PY) -m glue.register_sft $< --model-tag smollm2-135m

agnews: agnews-baseline agnews-quant agnews-sft  ## the whole AG News decoder track

ALL_TARGETS += agnews
