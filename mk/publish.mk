# Publishing the weights (publish/). `make publish` packs every model folder under
# $(MODELS) as GitHub release assets, with weights_manifest.json (sizes, sha256) and a copy of the
# notebook pointing at them, into outputs/publish/<tag>/; docs/publishing.md gives the
# upload commands. The one setting is RELEASE_URL, the release's download URL: the tag, the
# repository the notebook installs on Colab, and every asset URL are derived from it.
RELEASE_URL   ?= https://github.com/OWNER/REPO/releases/download/v0.1.0
# File name of the notebook copy (a course's naming convention, e.g. A2_Lastname_Firstname.ipynb).
NOTEBOOK_NAME ?= inference_eval.ipynb
PUBLISH_OUT   ?= $(OUT)/publish/$(notdir $(RELEASE_URL))
LOCAL_RELEASE := $(abspath $(OUT)/publish/local)

.PHONY: publish notebook-runtime

publish:  ## [publish] pack every model folder as release assets + weights_manifest.json + the notebook (set RELEASE_URL)
	$(PY) -m publish.pack --models $(MODELS) --out $(PUBLISH_OUT) --base-url $(RELEASE_URL) \
		--notebook-name $(NOTEBOOK_NAME)

notebook-runtime: data  ## [inspect] run the notebook on the local variants (full test split) and time each variant (~2 min)
	$(PY) -m publish.pack --models $(MODELS) --out $(LOCAL_RELEASE) --base-url file://$(LOCAL_RELEASE) \
		--notebook-name $(NOTEBOOK_NAME)
	NB_DATASET_DIR=$(abspath $(PREP)) $(PY) -m publish.run_notebook $(LOCAL_RELEASE)/$(NOTEBOOK_NAME) \
		--work-dir $(OUT)/notebook --results $(RESULTS)
