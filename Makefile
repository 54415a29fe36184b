# Model-compression recipes: fine-tune, compress, evaluate, report.
#   make all      train the baselines, build every compressed variant, evaluate, print the table
#   make test     run the test suite
#   make help     list every target
# DATA_DIR: folder with the original emotion files; empty means the Hugging Face hub.

PYTHON_SYS ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
SHARED     ?= ../shared/data
DATA_DIR   ?= $(if $(wildcard $(SHARED)/emotion/train.txt),$(SHARED)/emotion,)
AGNEWS_DIR ?= $(if $(wildcard $(SHARED)/ag_news/test.csv),$(SHARED)/ag_news,)
OUT        := outputs
PREP       := $(OUT)/data
MODELS     := $(OUT)/models
RESULTS    := results
STAMP      := $(VENV)/.setup-stamp
export OMP_NUM_THREADS ?= 2

.PHONY: all setup test data baseline eval-all help clean
.DEFAULT_GOAL := help

help:  ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: $(STAMP)  ## create .venv and install pinned packages (fast when already done)
$(STAMP): requirements/*.txt tools/setup.sh pyproject.toml
	PYTHON_SYS=$(PYTHON_SYS) VENV=$(VENV) bash tools/setup.sh
	touch $@

test: setup  ## run the test suite
	$(PY) -m pytest -q tests

data: $(PREP)/emotion/meta.json  ## prepare dair-ai/emotion (local DATA_DIR, else the hub)
$(PREP)/emotion/meta.json: data_prep/emotion.py data_prep/common.py | setup
	$(PY) -m data_prep.emotion --data-dir "$(DATA_DIR)" --out $(PREP)

baseline: $(MODELS)/emotion/minilm-l6/baseline/variant.json  ## fine-tune the embedded MiniLM baseline (FP32, CPU)
$(MODELS)/emotion/minilm-l6/baseline/variant.json: recipes/emotion/baseline_minilm.yaml | data
	$(PY) -m glue.train $<

include $(wildcard mk/*.mk)

eval-all: setup  ## evaluate every built variant in one run and print the comparison table
	$(PY) -m eval.eval_all --models $(MODELS) --results $(RESULTS)

all: baseline $(ALL_TARGETS)  ## everything: train, compress, evaluate, print the table, render the report
	$(MAKE) eval-all
	$(MAKE) report

clean:  ## remove outputs/ (models, prepared data); results/ stays
	rm -rf $(OUT)
