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

.PHONY: all track setup test eval-all help docs clean
.DEFAULT_GOAL := help

help:  ## [maintain] list every target, grouped, with how long the long ones take
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '\
		{ g = "other"; d = $$2; if (match(d, /^\[[a-z]+\] /)) { g = substr(d, 2, RLENGTH - 3); d = substr(d, RLENGTH + 1) } \
		  rows[g] = rows[g] sprintf("  %-17s %s\n", $$1, d) } \
		END { n = split("run inspect publish maintain other", order, " "); \
		      for (i = 1; i <= n; i++) if (order[i] in rows) printf "%s:\n%s", order[i], rows[order[i]] }'

setup: $(STAMP)  ## [maintain] create .venv and install the pinned packages (a few minutes the first time, 2.3 GB; then a no-op)
$(STAMP): requirements/*.txt tools/setup.sh pyproject.toml
	PYTHON_SYS=$(PYTHON_SYS) VENV=$(VENV) bash tools/setup.sh
	touch $@

test: setup  ## [maintain] run the test suite, as CI does (~6 min on 2 cores; 7-11 min with setup on a fresh clone)
	$(PY) -m pytest -q tests

include $(wildcard mk/*.mk)

# Progress: "==> what k/n: step (elapsed h:mm:ss)", the clock started by the outermost make.
ifndef RUN_START
RUN_START := $(shell date +%s)
endif
export RUN_START
elapsed = "$$(date -u -d @$$(( $$(date +%s) - $(RUN_START) )) +%H:%M:%S)"
say = printf '==> %s %s/%s: %s (elapsed %s)\n' "$(1)" $(2) $(3) "$(4)" $(elapsed)

TRACK_STEPS := baseline $(VARIANTS)
track: | setup  ## [run] the baseline and every variant of DATASET/MODEL, step by step (2 cores: MiniLM 31-43 min; SmolLM2 42 min on AMX; MPNet about 2 h 20 min on both CPU kinds)
	@set -e; i=0; for v in $(TRACK_STEPS); do i=$$((i+1)); \
	  $(call say,$(DATASET)/$(MODEL),$$i,$(words $(TRACK_STEPS)),$$v); \
	  $(MAKE) --no-print-directory $(MODEL_DIR)/$$v/variant.json DATASET=$(DATASET) MODEL=$(MODEL); done

# Without DATASET on the command line: both default tracks. With it: that dataset's track only.
all:  ## [run] train, compress, evaluate, table, reports (DATASET=emotion: 39-52 min on 2 cores; both tracks ~2.5 h; MPNet ~2 h 40 min)
ifeq ($(origin DATASET),command line)
	@$(call say,make all,1,3,track $(DATASET)/$(MODEL))
	@$(MAKE) --no-print-directory track DATASET=$(DATASET) MODEL=$(MODEL)
	@$(call say,make all,2,3,evaluate every $(DATASET) variant)
	@$(MAKE) --no-print-directory eval-all DATASET=$(DATASET)
	@$(call say,make all,3,3,report)
	@$(MAKE) --no-print-directory report DATASET=$(DATASET)
else
	@$(call say,make all,1,4,track emotion/$(MODEL))
	@$(MAKE) --no-print-directory track DATASET=emotion
	@$(call say,make all,2,4,track agnews)
	@$(MAKE) --no-print-directory track DATASET=agnews
	@$(call say,make all,3,4,evaluate every variant)
	@$(MAKE) --no-print-directory eval-all
	@$(call say,make all,4,4,report)
	@$(MAKE) --no-print-directory report
endif
	@printf '==> make all: every step finished (elapsed %s)\n' $(elapsed)

eval-all: setup  ## [inspect] evaluate every built variant in one run (DATASET= limits it) and print the table (MiniLM emotion 6-8 min, MPNet 22 min, AG News 36 min)
	$(PY) -m eval.eval_all --models $(MODELS) --results $(RESULTS) $(if $(filter command line,$(origin DATASET)),--dataset $(DATASET))

docs: setup  ## [maintain] regenerate the README's results tables and docs/datasets.md's key reference
	$(PY) -m report.readme_tables --results $(RESULTS) --readme README.md
	$(PY) -m data_prep.registry_docs

clean:  ## [maintain] remove outputs/ (models, prepared data); results/ stays
	rm -rf $(OUT)
