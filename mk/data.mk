# Data: one command for every dataset registered in data/dataset_info.json
# (docs/datasets.md); the prepared form goes to $(PREP).
#   make data                                   emotion (SHARED's copy, else the hub)
#   make data DATASET=agnews                    AG News (offline: train and a held-out test from test.csv)
#   make data DATASET=mydata [DATA_DIR=folder]  your own registration
# DATA_DIR is the folder holding the entry's files. Empty: the hub for an entry with hf_hub_url,
# else the registry's folder (data/). Default: SHARED's copy when there is one, else empty.

# DATASET (default emotion) is set in the Makefile. AGNEWS_DIR is AG News' DATA_DIR when AG News
# is prepared as part of another target (make all's second track, make agnews-data).
# A prepared dataset remembers the folder it was read from (data_dir.txt beside meta.json), so
# later targets (make bench/eval-all/report DATASET=x) need no DATA_DIR and rebuild only when that
# folder's files change. A DATA_DIR given on the command line (empty: the hub) always wins.
REGISTRY ?= data/dataset_info.json
DATA_SRC := $(wildcard data_prep/*.py)
SHARED_emotion := $(SHARED)/emotion
SHARED_agnews  := $(SHARED)/ag_news
shared_dir = $(if $(wildcard $(SHARED_$(1))),$(SHARED_$(1)),)
remembered = $(wildcard $(PREP)/$(1)/data_dir.txt)
given_dir  = $(or $(and $(filter $(1),$(DATASET)),$(filter-out undefined,$(origin DATA_DIR))),$(and \
               $(filter agnews,$(1)),$(filter-out undefined,$(origin AGNEWS_DIR))))
# Where dataset $(1) is read from: the folder given for it, else the remembered one, else SHARED's copy.
data_dir = $(strip $(if $(call given_dir,$(1)),$(if $(filter $(1),$(DATASET)),$(DATA_DIR),$(AGNEWS_DIR)),$(if \
             $(call remembered,$(1)),$(file < $(call remembered,$(1))),$(call shared_dir,$(1)))))
# The local files a preparation reads: the data folder's, or the registry folder's when it is empty.
data_files = $(if $(call data_dir,$(1)),$(wildcard $(call data_dir,$(1))/*),$(wildcard $(dir $(REGISTRY))*))

.PHONY: data agnews-data
data: $(PREP)/$(DATASET)/meta.json  ## [run] prepare a registered dataset: make data DATASET=name [DATA_DIR=folder] (default emotion)
agnews-data: $(PREP)/agnews/meta.json  ## [run] prepare AG News (offline: train and a held-out test carved from test.csv)

# Rebuilt when the registry, the preparer or the dataset's own files change.
.SECONDEXPANSION:
$(PREP)/%/meta.json: $(REGISTRY) $(DATA_SRC) $$(call data_files,$$*) | setup
	$(PY) -m data_prep.prepare $* --registry $(REGISTRY) --data-dir "$(call data_dir,$*)" --out $(PREP)
	printf '%s\n' "$(call data_dir,$*)" > $(@D)/data_dir.txt
