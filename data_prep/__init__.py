"""Dataset preparation: raw files (local copy or Hugging Face hub) to one prepared form.

The prepared form is LLaMA-Factory's: alpaca-style JSON files registered in a
``dataset_info.json``, plus a ``meta.json`` per dataset (label map, split sizes, source
checksums). The classifier trainer, the evaluation and ``llamafactory-cli`` all read it.
"""
