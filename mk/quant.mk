# Quantization suite (glue/quant/): every variant starts from the fine-tuned MiniLM baseline and
# is driven by recipes/emotion/<variant>.yaml. Targets are the variant folders' variant.json.

QUANT_BASE := $(MODELS)/emotion/minilm-l6/baseline/variant.json
QUANT_DIR  := $(MODELS)/emotion/minilm-l6
QUANT_SRC  := $(wildcard glue/quant/*.py) glue/quantize.py

.PHONY: ptq qat scratch bnb quant

ptq: $(QUANT_DIR)/ptq_dynamic/variant.json $(QUANT_DIR)/ptq_static/variant.json  ## PTQ dynamic + static INT8 (torch.ao)
qat: $(QUANT_DIR)/qat/variant.json  ## quantization-aware training INT8 (torch.ao, short CPU fine-tune)
scratch: $(QUANT_DIR)/scratch_int8_dequant/variant.json $(QUANT_DIR)/scratch_int8_intmm/variant.json  ## from-scratch INT8 (dequant and torch._int_mm modes)
bnb: $(QUANT_DIR)/bnb_int8/variant.json $(QUANT_DIR)/bnb_nf4/variant.json  ## bitsandbytes INT8 and NF4 loads
quant: ptq qat scratch bnb  ## every emotion quantization variant

$(QUANT_DIR)/%/variant.json: recipes/emotion/%.yaml $(QUANT_BASE) $(QUANT_SRC) | data
	$(PY) -m glue.quantize $< --force

ALL_TARGETS += ptq qat scratch bnb
