"""The training helpers every training path shares (the seq_cls stage and QAT): the Trainer and its
statistics (training.py), tokenized splits padded per batch (data.py).

Imports core, data_prep, glue.folder and glue.schema; nothing above."""
