"""The decoder's LLaMA-Factory SFT variant: register.py (``python -m glue.sft.register``) writes the
variant.json of a finished SFT run, classifier.py loads it as a classifier scored on each label's
answer tokens.

The top subpackage of glue: may import glue.folder, glue.schema, glue.train and glue.quant."""
