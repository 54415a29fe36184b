"""Tokenized classification datasets for the Trainer, padded per batch (not to a fixed length):
emotion texts average ~13 tokens, so padding to the batch's longest is ~5x faster than 64."""
from __future__ import annotations

import torch

from data_prep.prepared import Split


class EncodedSplit(torch.utils.data.Dataset):
    def __init__(self, split: Split, tokenizer, max_length: int) -> None:
        self.encodings = tokenizer(split.texts, truncation=True, max_length=max_length)
        self.labels = split.labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, object]:
        item = {key: values[i] for key, values in self.encodings.items()}
        item["labels"] = self.labels[i]
        return item


def ensure_pad_token(tokenizer, model=None) -> None:
    """Decoders (GPT-2, SmolLM2) ship without a pad token: reuse EOS, and tell the model, whose
    classification head pools the last non-pad token."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model is not None and model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
