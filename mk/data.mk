# Data: one command for every dataset registered in data/dataset_info.json
# (docs/datasets.md); the prepared form goes to $(PREP).
#   make data                                   emotion (SHARED's copy, else the hub)
#   make data DATASET=agnews                    AG News (offline: train and a held-out test from test.csv)
#   make data DATASET=mydata [DATA_DIR=folder]  your own registration
# DATA_DIR is the folder holding the entry's files. Empty: the hub for an entry with hf_hub_url,
# else the registry's folder (data/). Default: SHARED's copy when there is one, else empty.

# DATASET (default emotion) is set in the Makefile. AGNEWS_DIR is AG News' DATA_DIR when AG News
# is prepared as part of another target (make all's second track, make agnews-data).
REGISTRY ?= data/dataset_info.json
DATA_SRC := $(wildcard data_prep/*.py)
SHARED_emotion := $(SHARED)/emotion
SHARED_agnews  := $(SHARED)/ag_news
shared_dir = $(if $(wildcard $(SHARED_$(1))),$(SHARED_$(1)),)
AGNEWS_DIR ?= $(call shared_dir,agnews)
DATA_DIR   ?= $(if $(filter agnews,$(DATASET)),$(AGNEWS_DIR),$(call shared_dir,$(DATASET)))
# Where dataset $(1) is read from: DATA_DIR for DATASET, AGNEWS_DIR for agnews, else SHARED's copy.
data_dir = $(if $(filter $(1),$(DATASET)),$(DATA_DIR),$(if $(filter agnews,$(1)),$(AGNEWS_DIR),$(call shared_dir,$(1))))

.PHONY: data agnews-data
data: $(PREP)/$(DATASET)/meta.json  ## [run] prepare a registered dataset: make data DATASET=name [DATA_DIR=folder] (default emotion)
agnews-data: $(PREP)/agnews/meta.json  ## [run] prepare AG News (offline: train and a held-out test carved from test.csv)

# Rebuilt when the registry, the preparer or the dataset's own files change.
.SECONDEXPANSION:
$(PREP)/%/meta.json: $(REGISTRY) $(DATA_SRC) $$(wildcard $$(call data_dir,$$*)/*) | setup
	$(PY) -m data_prep.prepare $* --registry $(REGISTRY) --data-dir "$(call data_dir,$*)" --out $(PREP)
