# Model-compression recipes: fine-tune, compress, evaluate, report.
#   make all      train the baselines, build every compressed variant, evaluate, print the table
#   make test     run the test suite
#   make help     list every target
# make data DATASET=name [DATA_DIR=folder]: prepare any dataset registered in data/dataset_info.json.

PYTHON_SYS ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
SHARED     ?= ../shared/data
OUT        := outputs
PREP       := $(OUT)/data
MODELS     := $(OUT)/models
RESULTS    := results
STAMP      := $(VENV)/.setup-stamp
export OMP_NUM_THREADS ?= 2

.PHONY: all setup test baseline eval-all help clean
.DEFAULT_GOAL := help

help:  ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: $(STAMP)  ## create .venv and install pinned packages (fast when already done)
$(STAMP): requirements/*.txt tools/setup.sh pyproject.toml
	PYTHON_SYS=$(PYTHON_SYS) VENV=$(VENV) bash tools/setup.sh
	touch $@

test: setup  ## run the test suite
	$(PY) -m pytest -q tests

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
