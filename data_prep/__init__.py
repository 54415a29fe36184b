"""Dataset preparation: any dataset registered in ``data/dataset_info.json`` (raw files or the
Hugging Face hub) to one prepared form, checked before any training can start.

The prepared form is LLaMA-Factory's: alpaca-style JSON files registered in a
``dataset_info.json``, plus a ``meta.json`` per dataset (label map, split sizes, source
checksums, warnings). The seq_cls stage, the evaluation and ``llamafactory-cli`` all read it.

registry.py (entries) -> readers.py (rows, with file and line) -> labels.py (names, ids) ->
splits.py (stratified carving) -> checks.py -> common.write_prepared; prepare.py runs them in
that order, prepared.py reads the result back.
"""
