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
    """Decoders (GPT-2, SmolLM2) ship without a pad token: reuse EOS. A decoder's classification
    head pools the last token that is not ``config.pad_token_id``, so the model must name the pad
    token the tokenizer pads with. The Trainer aligns the two when training starts; a loader that
    rebuilds a body from its base folder (whose config may name another pad token) must do the same,
    or padded batches are pooled on padding."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
