# Training (llamafactory-cli, stage seq_cls) and the post-training variants of one DATASET/MODEL.
# Every recipe is reused across datasets by override; output_dir names the result
# (outputs/models/<dataset>/<model>/<variant> -> results/<dataset>/<model>/<variant>.json).

# What python -m glue.quantize runs: a change to any of it makes the variants stale.
QUANT_SRC  := $(wildcard glue/folder/*.py glue/schema/*.py glue/train/*.py glue/quant/*.py) glue/quantize.py
# The eval split when the dataset has one (offline AG News has none: every non-test row trains).
EVAL_ARGS   = $$(grep -q '"$(DATASET)_validation"' $(PREP)/dataset_info.json && echo eval_dataset=$(DATASET)_validation \
              || echo eval_dataset=null eval_strategy=no)
# A finished folder is retrained only when make decides it is stale; an interrupted run resumes.
LF_TRAIN    = $(LF) train $< dataset=$(DATASET)_train $(EVAL_ARGS) output_dir=$(@D) $(if $(wildcard $@),overwrite_output_dir=true)

.PHONY: baseline qlora ptq qat scratch bnb agnews smollm2

# The target that builds the model's local base folder, when it has one (the embedded SmolLM2 and MPNet).
BASE_MODEL = $(if $(filter smollm2-135m,$(MODEL)),smollm2) $(if $(filter mpnet-base,$(MODEL)),mpnet)

baseline: $(BASELINE)  ## [run] fine-tune MODEL on DATASET, FP32 (llamafactory-cli, stage seq_cls; MiniLM 10-12 min, MPNet 31-38 min, SmolLM2 26 min)
$(BASELINE): recipes/baseline_$(RECIPE).yaml | data $(BASE_MODEL)
	$(LF_TRAIN)

qlora: $(MODEL_DIR)/qlora/variant.json  ## [run] QLoRA: NF4 frozen body + LoRA + FP32 head (llamafactory-cli, stage seq_cls; MiniLM 12-17 min, MPNet 49 min, SmolLM2 on AG News ~30 min)
$(MODEL_DIR)/qlora/variant.json: recipes/qlora_$(RECIPE).yaml | data $(BASE_MODEL)
	$(LF_TRAIN)

ptq: $(MODEL_DIR)/ptq_dynamic/variant.json $(MODEL_DIR)/ptq_static/variant.json $(MODEL_DIR)/ptq_pt2e/variant.json  ## [run] PTQ dynamic + static INT8 (torch.ao) + static INT8 for oneDNN/AMX (PT2E, compiled)
qat: $(MODEL_DIR)/qat/variant.json $(MODEL_DIR)/qat_pt2e/variant.json  ## [run] quantization-aware training INT8 (torch.ao eager, and PT2E for oneDNN/AMX; 2-5 min each)
scratch: $(MODEL_DIR)/scratch_int8_dequant/variant.json $(MODEL_DIR)/scratch_int8_intmm/variant.json  ## [run] from-scratch INT8 (dequant and torch._int_mm modes)
bnb: $(MODEL_DIR)/bnb_int8/variant.json $(MODEL_DIR)/bnb_nf4/variant.json  ## [run] bitsandbytes INT8 and NF4 loads of the baseline

# A model's own settings for a variant live in recipes/quantize/<recipe>/<variant>.yaml, which extends
# the method's recipe (e.g. recipes/quantize/mpnet/qat.yaml); make runs it when it exists, so a typed
# command and make build the same model.
quant_recipe = $(or $(wildcard recipes/quantize/$(RECIPE)/$(1).yaml),recipes/quantize/$(1).yaml)
$(foreach overlay,$(wildcard recipes/quantize/$(RECIPE)/*.yaml),$(eval $(MODEL_DIR)/$(basename $(notdir $(overlay)))/variant.json: $(overlay)))
$(MODEL_DIR)/%/variant.json: recipes/quantize/%.yaml $(BASELINE) $(QUANT_SRC) | data
	$(PY) -m glue.quantize $(call quant_recipe,$*) base_model_dir=$(MODEL_DIR)/baseline \
		model_name_or_path=$(MODEL_DIR)/baseline dataset=$(DATASET)_train output_dir=$(@D) --force

# The decoder track's LLaMA-Factory SFT (label word as the answer), scored on the label tokens.
$(MODEL_DIR)/qlora_sft/variant.json: recipes/qlora_sft_$(RECIPE).yaml glue/sft/register.py | data smollm2
	rm -f $@  # a failed rerun must not leave the old manifest beside a new adapter
	$(LF) train $< dataset=$(DATASET)_train output_dir=$(@D)
	$(PY) -m glue.sft.register $< output_dir=$(@D)

agnews:  ## [run] the AG News decoder track (SmolLM2-135M): baseline, scratch INT8 x2, bnb INT8/NF4, QLoRA, QLoRA SFT
	$(MAKE) track DATASET=agnews

SMOLLM2 := $(OUT)/base_models/smollm2-135m
smollm2: $(SMOLLM2)/config.json  ## [run] convert the embedded SmolLM2-135M GGUF (Q4_1) to an FP32 safetensors folder
$(SMOLLM2)/config.json: data_prep/smollm2.py | setup
	$(PY) -m data_prep.smollm2 --out $(SMOLLM2)
