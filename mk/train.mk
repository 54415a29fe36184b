# Training (llamafactory-cli, stage seq_cls) and the post-training variants of one DATASET/MODEL.
# Every recipe is reused across datasets by override; output_dir names the result
# (outputs/models/<dataset>/<model>/<variant> -> results/<dataset>/<model>/<variant>.json).

QUANT_SRC  := $(wildcard glue/quant/*.py) glue/quantize.py
# The eval split when the dataset has one (offline AG News has none: every non-test row trains).
EVAL_ARGS   = $$(grep -q '"$(DATASET)_validation"' $(PREP)/dataset_info.json && echo eval_dataset=$(DATASET)_validation \
              || echo eval_dataset=null eval_strategy=no)
# A finished folder is retrained only when make decides it is stale; an interrupted run resumes.
LF_TRAIN    = $(LF) train $< dataset=$(DATASET)_train $(EVAL_ARGS) output_dir=$(@D) $(if $(wildcard $@),overwrite_output_dir=true)

.PHONY: baseline qlora ptq qat scratch bnb agnews smollm2

baseline: $(BASELINE)  ## [run] fine-tune MODEL on DATASET, FP32 (llamafactory-cli, stage seq_cls; MiniLM 12 min, MPNet 30 min, SmolLM2 33 min)
$(BASELINE): recipes/baseline_$(RECIPE).yaml | data $(if $(filter smollm2-135m,$(MODEL)),smollm2) $(if $(filter mpnet-base,$(MODEL)),mpnet)
	$(LF_TRAIN)

qlora: $(MODEL_DIR)/qlora/variant.json  ## [run] QLoRA: NF4 frozen body + LoRA + FP32 head (llamafactory-cli, stage seq_cls; MiniLM 9 min, MPNet 26 min)
$(MODEL_DIR)/qlora/variant.json: recipes/qlora_$(RECIPE).yaml | data $(if $(filter mpnet-base,$(MODEL)),mpnet)
	$(LF_TRAIN)

ptq: $(MODEL_DIR)/ptq_dynamic/variant.json $(MODEL_DIR)/ptq_static/variant.json $(MODEL_DIR)/ptq_pt2e/variant.json  ## [run] PTQ dynamic + static INT8 (torch.ao) + static INT8 for oneDNN/AMX (PT2E, compiled)
qat: $(MODEL_DIR)/qat/variant.json $(MODEL_DIR)/qat_pt2e/variant.json  ## [run] quantization-aware training INT8 (torch.ao eager, and PT2E for oneDNN/AMX; 2-5 min each)
scratch: $(MODEL_DIR)/scratch_int8_dequant/variant.json $(MODEL_DIR)/scratch_int8_intmm/variant.json  ## [run] from-scratch INT8 (dequant and torch._int_mm modes)
bnb: $(MODEL_DIR)/bnb_int8/variant.json $(MODEL_DIR)/bnb_nf4/variant.json  ## [run] bitsandbytes INT8 and NF4 loads of the baseline

# Per model and variant extras. MPNet: in 9 Linears a few tokens reach 46-640x the median token's
# absolute maximum (token spread, glue/quant/outliers.py; the feed-forward outputs of layers 0 and 3-10),
# and torch.ao's eager static INT8 rounds each Linear's input and output with one scale per tensor,
# so eager static PTQ and QAT keep the Linears above a spread of 32 in FP32 (scanned on the baseline
# being quantized; 32 was picked on the validation split, docs/methods.md). ptq_dynamic and the PT2E pair
# use SmoothQuant instead and quantize all 72.
# QAT on MPNet (both ways) trains the top 4 of 12 layers on 3,200 rows (CPU budget).
MPNET_OUTLIERS := quant_config.outlier_ratio=32
QUANT_ARGS_mpnet-base_ptq_static := $(MPNET_OUTLIERS)
QUANT_ARGS_mpnet-base_qat := quant_config.freeze_layers=8 max_train_samples=3200 $(MPNET_OUTLIERS)
QUANT_ARGS_mpnet-base_qat_pt2e := quant_config.freeze_layers=8 max_train_samples=3200  # SmoothQuant: no skips
$(MODEL_DIR)/%/variant.json: recipes/quantize/%.yaml $(BASELINE) $(QUANT_SRC) | data
	$(PY) -m glue.quantize $< base_model_dir=$(MODEL_DIR)/baseline model_name_or_path=$(MODEL_DIR)/baseline \
		dataset=$(DATASET)_train output_dir=$(@D) $(QUANT_ARGS_$(MODEL)_$*) --force

# The decoder track's LLaMA-Factory SFT (label word as the answer), scored on the label tokens.
$(MODEL_DIR)/qlora_sft/variant.json: recipes/qlora_sft_$(RECIPE).yaml glue/register_sft.py | data smollm2
	rm -f $@  # a failed rerun must not leave the old manifest beside a new adapter
	$(LF) train $< dataset=$(DATASET)_train output_dir=$(@D)
	$(PY) -m glue.register_sft $< output_dir=$(@D)

agnews:  ## [run] the AG News decoder track (SmolLM2-135M): baseline, scratch INT8 x2, bnb INT8/NF4, QLoRA SFT
	$(MAKE) track DATASET=agnews

SMOLLM2 := $(OUT)/base_models/smollm2-135m
smollm2: $(SMOLLM2)/config.json  ## [run] convert the embedded SmolLM2-135M GGUF (Q4_1) to an FP32 safetensors folder
$(SMOLLM2)/config.json: data_prep/smollm2.py | setup
	$(PY) -m data_prep.smollm2 --out $(SMOLLM2)
