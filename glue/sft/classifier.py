"""Use a causal LM fine-tuned by LLaMA-Factory's SFT (label word as the answer) as a classifier.

No free generation: every label's answer is scored under the model, log p(answer | prompt)
summed over its tokens, and the scores are the logits. Prompts are built with LLaMA-Factory's
own chat template (the one the SFT used), so evaluation sees exactly the training format.
"""
from __future__ import annotations

from pathlib import Path

import torch

from glue.folder.manifest import Manifest, VariantError
from glue.folder.variant import Variant, variant_loader
from glue.train.data import ensure_pad_token


class LabelScorer(torch.nn.Module):
    """Wraps a causal LM: returns (texts, num_labels) summed log-likelihoods of each label's
    answer tokens. The prompt runs once per text; its KV cache is repeated for the labels, so
    scoring 4 labels costs little more than one forward pass of the prompt."""

    def __init__(self, lm: torch.nn.Module, num_labels: int) -> None:
        super().__init__()
        self.lm = lm
        self.num_labels = num_labels

    def forward(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, answer_ids: torch.Tensor,
                answer_mask: torch.Tensor) -> torch.Tensor:
        """prompt_*: (B, T) right-padded; answer_*: (B * num_labels, A) right-padded, label-major per text."""
        causal_lm = self.lm.get_base_model() if hasattr(self.lm, "get_base_model") else self.lm  # LoRA stays injected
        decoder, head = causal_lm.get_decoder(), causal_lm.get_output_embeddings()
        n = self.num_labels
        prompt = decoder(input_ids=prompt_ids, attention_mask=prompt_mask, use_cache=True)
        lengths = prompt_mask.sum(1)
        last = prompt.last_hidden_state[torch.arange(len(lengths), device=lengths.device), lengths - 1]
        cache = prompt.past_key_values
        cache.batch_repeat_interleave(n)
        # Answers continue each prompt right after its last real token: explicit positions, and the
        # prompt's padding stays masked out.
        positions = lengths.repeat_interleave(n)[:, None] + torch.arange(answer_ids.shape[1], device=lengths.device)
        answers = decoder(input_ids=answer_ids, position_ids=positions, past_key_values=cache, use_cache=False,
                          attention_mask=torch.cat([prompt_mask.repeat_interleave(n, 0), answer_mask], 1))
        # Answer token j is predicted by the hidden state before it: the prompt's last for j = 0.
        hidden = torch.cat([last.repeat_interleave(n, 0)[:, None], answers.last_hidden_state[:, :-1]], 1)
        scored = answer_mask.bool()
        logits = head(hidden[scored]).float()  # only answer positions, not (sequence x vocabulary)
        token_logp = logits.log_softmax(-1).gather(-1, answer_ids[scored][:, None]).squeeze(-1)
        scores = torch.zeros(answer_ids.shape[0], dtype=token_logp.dtype, device=token_logp.device)
        scores.index_add_(0, scored.nonzero()[:, 0], token_logp)
        return scores.view(-1, n)


def _pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token lists into (ids, mask)."""
    ids = torch.full((len(rows), max(len(r) for r in rows)), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def load_template(tokenizer, name: str):
    """LLaMA-Factory's template object (imports llamafactory.data, hence torchaudio or its shim)."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    return get_template_and_fix_tokenizer(tokenizer, DataArguments(template=name))


def make_encoder(tokenizer, template, instruction: str, labels: list[str], max_length: int, device: torch.device):
    """``encode(texts)`` for Variant: each text's prompt and every label's answer tokens, built as
    LLaMA-Factory's alpaca converter and template do ("instruction\ninput" as the user turn)."""

    def encode(texts: list[str]) -> dict[str, torch.Tensor]:
        prompts, answers = [], []
        for text in texts:
            for j, label in enumerate(labels):
                messages = [{"role": "user", "content": f"{instruction}\n{text}"},
                            {"role": "assistant", "content": label}]
                prompt_ids, answer_ids = template.encode_oneturn(tokenizer, messages)
                if j == 0:  # the prompt does not depend on the label
                    prompts.append(prompt_ids[: max(max_length - len(answer_ids), 1)])  # cut the text, not the answer
                answers.append(answer_ids)
        prompt_ids, prompt_mask = _pad(prompts, tokenizer.pad_token_id)
        answer_ids, answer_mask = _pad(answers, tokenizer.pad_token_id)
        return {"prompt_ids": prompt_ids.to(device), "prompt_mask": prompt_mask.to(device),
                "answer_ids": answer_ids.to(device), "answer_mask": answer_mask.to(device)}

    return encode


@variant_loader
def load(path: Path, manifest: Manifest, device: torch.device) -> Variant:
    """Loader named in variant.json (written by glue.sft.register): 4-bit base + LoRA adapter."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from glue.quant.bnb import BnbConfig

    base_dir = Path(manifest.base_model or "")
    if not base_dir.is_dir():
        raise VariantError(f"{path}: base model {base_dir} not found; run python -m data_prep.smollm2 first")
    quant = manifest.quantization
    config = None
    if quant:
        bnb_config = BnbConfig.from_dict(quant["config"])
        config = bnb_config.hf_config(bnb_config.skip_modules)
    lm = AutoModelForCausalLM.from_pretrained(base_dir, quantization_config=config, dtype=torch.float32,
                                              device_map={"": str(device)})
    tokenizer = AutoTokenizer.from_pretrained(path)
    ensure_pad_token(tokenizer, lm)
    template = load_template(tokenizer, manifest.extra["template"])
    model = LabelScorer(PeftModel.from_pretrained(lm, path), len(manifest.labels)).eval()
    encode = make_encoder(tokenizer, template, manifest.extra["instruction"], manifest.labels, manifest.max_length,
                          device)
    return Variant(path, model, tokenizer, manifest.labels, manifest, manifest.max_length, device, encode)
