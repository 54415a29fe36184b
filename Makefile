# Model-compression recipes: fine-tune, compress, evaluate, report.
#   make all      both tracks (emotion on MiniLM-L6, AG News on SmolLM2-135M), evaluate, table, report
#   make all DATASET=mydata [MODEL=minilm-l6]   one track on a registered dataset
#   make test     run the test suite
#   make help     list every target
#   make data DATASET=name [DATA_DIR=folder]   prepare a dataset registered in data/dataset_info.json
# Training runs `llamafactory-cli train RECIPE` (stage seq_cls, see seqcls/); post-training methods
# run `python -m glue.quantize recipes/quantize/<variant>.yaml` on the exported baseline.

PYTHON_SYS ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
LF         := PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/llamafactory-cli
SHARED     ?= ../shared/data
OUT        := outputs
PREP       := $(OUT)/data
MODELS     := $(OUT)/models
RESULTS    := results
STAMP      := $(VENV)/.setup-stamp
export OMP_NUM_THREADS ?= 2

# What to run: a registered dataset and a model tag. Each model tag names its training recipes
# (recipes/baseline_<recipe>.yaml, recipes/qlora_<recipe>.yaml) and its track's variants.
DATASET    ?= emotion
MODEL      ?= $(if $(filter agnews,$(DATASET)),smollm2-135m,minilm-l6)
RECIPE_minilm-l6    := minilm
RECIPE_bert-base    := bert
RECIPE_smollm2-135m := smollm2
RECIPE_gpt2-large   := gpt2_large
RECIPE_mpnet-base   := mpnet
RECIPE     := $(or $(RECIPE_$(MODEL)),$(error MODEL=$(MODEL) is unknown; known: minilm-l6 mpnet-base bert-base smollm2-135m gpt2-large))
# ENCODER_VARIANTS / DECODER_VARIANTS: mk/variants.mk, written from the method registry (glue/quant/).
VARIANTS    = $(if $(filter smollm2-135m gpt2-large,$(MODEL)),$(DECODER_VARIANTS),$(ENCODER_VARIANTS))
MODEL_DIR  := $(MODELS)/$(DATASET)/$(MODEL)
BASELINE   := $(MODEL_DIR)/baseline/variant.json

.PHONY: all track setup test eval-all help clean
.DEFAULT_GOAL := help

help:  ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: $(STAMP)  ## create .venv and install pinned packages (fast when already done)
$(STAMP): requirements/*.txt tools/setup.sh pyproject.toml
	PYTHON_SYS=$(PYTHON_SYS) VENV=$(VENV) bash tools/setup.sh
	touch $@

test: setup  ## run the test suite
	$(PY) -m pytest -q tests

include $(wildcard mk/*.mk)

track: baseline $(addprefix $(MODEL_DIR)/,$(addsuffix /variant.json,$(VARIANTS)))  ## DATASET/MODEL: baseline and every variant of its track

# Without DATASET on the command line: both default tracks. With it: that dataset's track only.
all:  ## everything: train, compress, evaluate, print the table, render the report
ifeq ($(origin DATASET),command line)
	$(MAKE) track DATASET=$(DATASET) MODEL=$(MODEL)
	$(MAKE) eval-all DATASET=$(DATASET)
else
	$(MAKE) track DATASET=emotion
	$(MAKE) track DATASET=agnews
	$(MAKE) eval-all
endif
	$(MAKE) report

eval-all: setup  ## evaluate every built variant (DATASET=... limits it) in one run; print the table
	$(PY) -m eval.eval_all --models $(MODELS) --results $(RESULTS) $(if $(filter command line,$(origin DATASET)),--dataset $(DATASET))

clean:  ## remove outputs/ (models, prepared data); results/ stays
	rm -rf $(OUT)
