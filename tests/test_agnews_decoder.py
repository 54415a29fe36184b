"""The AG News decoder track on tiny random decoders: GPT-2 specifics (pad token, Conv1D,
last-token pooling) through the seq_cls stage and glue.quantize, with the gpt2-large recipe's own keys,
and the SFT classifier's label scoring."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from data_prep.common import Example, PreparedDataset, write_prepared
from glue.folder.variant import load_variant
from glue.schema.recipe import RecipeError, load_recipe
from glue.train.data import ensure_pad_token

LABELS = ["World", "Sports", "Business", "Sci/Tech"]
TEXTS = ["Leaders meet in Geneva for talks", "The home side won the cup final",
         "Stocks slide as oil prices climb", "A faster chip for phones is announced"]
EOS = "<|endoftext|>"


def tiny_bpe_tokenizer():
    """A byte-level BPE tokenizer like GPT-2's: no pad token, EOS only."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(TEXTS * 4 + LABELS + ["Classify the topic"], trainers.BpeTrainer(
        vocab_size=400, special_tokens=[EOS], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=EOS, bos_token=EOS, unk_token=EOS)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    examples = [Example(text, i) for i, text in enumerate(TEXTS)] * 4
    write_prepared(PreparedDataset("agnews", LABELS, {"train": examples, "validation": examples[:4],
                                                      "test": examples[:8]}, "Classify the topic."), out)
    return out


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = tiny_bpe_tokenizer()
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    path = tmp_path_factory.mktemp("gpt2")
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_pad_token_and_last_token_pooling(gpt2_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gpt2_dir)
    model = AutoModelForSequenceClassification.from_pretrained(gpt2_dir, num_labels=4).eval()
    assert tokenizer.pad_token is None and model.config.pad_token_id is None
    ensure_pad_token(tokenizer, model)
    assert tokenizer.pad_token == EOS and model.config.pad_token_id == tokenizer.eos_token_id
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any(), "texts of one length would not test pooling"
    with torch.no_grad():
        padded = model(**batch).logits
        single = torch.cat([model(**tokenizer([t], return_tensors="pt")).logits for t in TEXTS])
    torch.testing.assert_close(padded, single, atol=1e-5, rtol=1e-4)  # the head reads the last real token


def quantize_recipe(name: str, prepared: Path, base: Path, out: Path):
    return load_recipe(f"recipes/quantize/{name}.yaml", {
        "dataset_dir": str(prepared), "dataset": "agnews_train", "base_model_dir": str(base),
        "model_name_or_path": str(base), "output_dir": str(out)})


def test_gpt2_large_recipe_on_a_tiny_gpt2_then_scratch_int8_and_bnb_config(gpt2_dir, prepared, tmp_path):
    """recipes/baseline_gpt2_large.yaml's own keys (fp16 aside: no GPU here) through the stage."""
    from llamafactory.train.tuner import run_exp

    from glue.quant.bnb import METHOD as BNB
    from glue.quantize import quantize_recipe as quantize
    from glue.schema.recipe import read_yaml

    base = tmp_path / "agnews" / "tiny-gpt2" / "baseline"
    raw = read_yaml(Path("recipes/baseline_gpt2_large.yaml"))
    raw.update(model_name_or_path=str(gpt2_dir), dataset_dir=str(prepared), output_dir=str(base), fp16=False,
               max_steps=2, per_device_train_batch_size=4, gradient_accumulation_steps=1, logging_steps=1,
               save_strategy="no", eval_strategy="no")
    run_exp(raw)
    manifest = json.loads((base / "variant.json").read_text())
    assert manifest["training"]["global_steps"] == 2 and manifest["model_tag"] == "tiny-gpt2"
    baseline = load_variant(base)
    assert baseline.tokenizer.pad_token == EOS and type(baseline.model).__name__ == "GPT2ForSequenceClassification"
    reference = baseline.logits(TEXTS)
    assert reference.shape == (4, 4)

    quantize(quantize_recipe("scratch_int8_dequant", prepared, base, tmp_path / "int8"))
    int8 = load_variant(tmp_path / "int8")
    conv1d = [m for m in int8.model.modules() if type(m).__name__ == "Conv1D"]
    assert not conv1d, "every GPT-2 Conv1D should have been replaced by an int8 layer"
    torch.testing.assert_close(int8.logits(TEXTS), reference, atol=0.05, rtol=0.05)

    bnb = quantize_recipe("bnb_nf4", prepared, base, tmp_path / "nf4")
    config = BNB.config_cls.from_recipe(bnb.glue.quant_config, bnb.model)
    skip = [name for name, _ in baseline.model.named_modules() if config.skipped(name)]
    assert skip == ["score"] and config.hf_config(skip).llm_int8_skip_modules == ["score"]


def test_freeze_tuning_trains_only_the_top_layers_of_a_decoder(gpt2_dir, prepared, tmp_path):
    """recipes/baseline_smollm2.yaml freezes the lower layers: check which parameters moved."""
    from llamafactory.train.tuner import run_exp
    from safetensors.torch import load_file

    from glue.schema.recipe import read_yaml

    out = tmp_path / "agnews" / "tiny-gpt2" / "freeze"
    raw = read_yaml(Path("recipes/baseline_smollm2.yaml"))
    raw.update(model_name_or_path=str(gpt2_dir), dataset_dir=str(prepared), output_dir=str(out),
               freeze_trainable_layers=1, max_steps=2, per_device_train_batch_size=4, learning_rate=1e-2,
               save_strategy="no")
    run_exp(raw)
    before, after = load_file(gpt2_dir / "model.safetensors"), load_file(out / "model.safetensors")
    moved = {k for k in after if k.startswith("transformer.") and
             not torch.equal(after[k], before[k])}
    assert moved and all(k.startswith(("transformer.h.1.", "transformer.ln_f.")) for k in moved)
    assert json.loads((out / "variant.json").read_text())["freeze"]["trainable_layers"] == [1]


def test_agnews_recipes_parse(tmp_path):
    from seqcls.workflow import parse

    for name in ("scratch_int8_dequant", "scratch_int8_intmm", "bnb_int8", "bnb_nf4"):
        recipe = load_recipe(f"recipes/quantize/{name}.yaml", [
            "dataset=agnews_train", "output_dir=outputs/models/agnews/smollm2-135m/" + name])
        assert recipe.glue.model_tag == "smollm2-135m" and recipe.glue.variant == name
    from glue.schema.recipe import read_yaml

    def training_recipe(name: str) -> dict:  # a fresh output_dir: LLaMA-Factory refuses a finished one
        return {**read_yaml(Path(f"recipes/{name}.yaml")), "output_dir": str(tmp_path / name)}

    smollm2 = parse(training_recipe("baseline_smollm2"), "smollm2")
    assert smollm2[3].stage == "seq_cls" and smollm2[3].freeze_trainable_layers == 12
    assert parse(training_recipe("baseline_gpt2_large"), "gpt2")[2].fp16
    with pytest.raises(RecipeError, match="not a glue recipe"):
        load_recipe("recipes/qlora_sft_smollm2.yaml")  # LLaMA-Factory's own file


# --- SFT classifier -------------------------------------------------------------------------

def make_tiny_llama(width: int, heads: int):
    """A random two-layer Llama and its BPE tokenizer, pad = EOS."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tiny_bpe_tokenizer()
    ensure_pad_token(tokenizer)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=width, intermediate_size=2 * width,
                         num_hidden_layers=2, num_attention_heads=heads, num_key_value_heads=heads // 2,
                         max_position_embeddings=128, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.eos_token_id)
    return LlamaForCausalLM(config).eval(), tokenizer


@pytest.fixture
def tiny_llama():
    return make_tiny_llama(width=32, heads=4)


def naive_scores(lm, tokenizer, template, texts) -> torch.Tensor:
    """log p(answer | prompt) from one full forward pass per (text, label), no cache, no batching."""
    rows = []
    for text in texts:
        row = []
        for label in LABELS:
            prompt, answer = template.encode_oneturn(tokenizer, [
                {"role": "user", "content": f"Classify the topic.\n{text}"}, {"role": "assistant", "content": label}])
            ids = torch.tensor([prompt + answer])
            logp = lm(input_ids=ids).logits[0, :-1].log_softmax(-1)
            targets = ids[0, 1:]
            row.append(logp[torch.arange(len(targets)), targets][len(prompt) - 1:].sum())
        rows.append(torch.stack(row))
    return torch.stack(rows)


def test_label_scorer_matches_naive_likelihood(tiny_llama):
    from peft import LoraConfig, get_peft_model

    from glue.sft.classifier import LabelScorer, load_template, make_encoder

    lm, tokenizer = tiny_llama
    template = load_template(tokenizer, "default")
    peft_lm = get_peft_model(lm, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    encode = make_encoder(tokenizer, template, "Classify the topic.", LABELS, 256, torch.device("cpu"))
    scorer = LabelScorer(peft_lm, len(LABELS)).eval()
    with torch.no_grad():
        batch = encode(TEXTS)
        assert batch["prompt_mask"].sum(1).unique().numel() > 1, "prompts of one length would not test padding"
        scores = scorer(**batch)
        torch.testing.assert_close(scores, naive_scores(peft_lm, tokenizer, template, TEXTS), atol=1e-4, rtol=1e-4)


def test_register_sft_then_load_variant(tiny_llama, prepared, tmp_path, monkeypatch):
    import yaml
    from peft import LoraConfig, get_peft_model

    from glue.sft.classifier import load_template
    from glue.sft.register import main as register

    lm, tokenizer = tiny_llama
    base = tmp_path / "base"
    lm.save_pretrained(base)
    tokenizer.save_pretrained(base)
    recipe = yaml.safe_load(Path("recipes/qlora_sft_smollm2.yaml").read_text())
    out = tmp_path / "agnews" / "tiny-llama" / "qlora_sft"
    recipe.update(model_name_or_path=str(base), dataset_dir=str(prepared), output_dir=str(out), template="default")
    for key in ("quantization_bit", "quantization_method", "quantization_type", "double_quantization"):
        recipe.pop(key)  # plain LoRA: the tiny model's widths are below bitsandbytes' 4-bit block size
    recipe_path = tmp_path / "sft.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(SystemExit, match="no adapter_model.safetensors"):
        register([str(recipe_path)])

    base_params = sum(p.numel() for p in lm.parameters())
    peft_lm = get_peft_model(lm, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_lm.save_pretrained(out)
    tokenizer.save_pretrained(out)
    register([str(recipe_path), "logging_steps=1"])
    manifest = json.loads((out / "variant.json").read_text())
    adapter = sum(p.numel() for n, p in peft_lm.named_parameters() if "lora_" in n)
    assert manifest["training"]["parameters"]["trainable"] == adapter
    assert manifest["training"]["parameters"]["total"] == base_params + adapter
    assert manifest["variant"] == "qlora_sft" and manifest["labels"] == LABELS and manifest["dataset"] == "agnews"

    variant = load_variant(out)
    logits = variant.logits(TEXTS)
    template = load_template(tokenizer, "default")
    with torch.no_grad():
        torch.testing.assert_close(logits, naive_scores(variant.model.lm, tokenizer, template, TEXTS),
                                   atol=1e-4, rtol=1e-4)

    # A hub id: the base is counted from the Hugging Face cache's copy llamafactory-cli train left.
    monkeypatch.setattr("transformers.utils.cached_file", lambda name, file, **_: str(base / file))
    register([str(recipe_path), "model_name_or_path=someone/tiny-llama"])
    parameters = json.loads((out / "variant.json").read_text())["training"]["parameters"]
    assert parameters["total"] == base_params + adapter and 0 < parameters["trainable_pct"] < 100


def test_seq_cls_qlora_recipe_on_a_tiny_llama(prepared, tmp_path):
    """recipes/qlora_smollm2.yaml's own keys through the stage: the body in NF4 and frozen, LoRA on
    every projection and the fresh head train, and the folder reloads as a classifier."""
    from llamafactory.train.tuner import run_exp

    from glue.schema.recipe import read_yaml

    lm, tokenizer = make_tiny_llama(width=64, heads=2)  # widths of 64: bitsandbytes' 4-bit block size
    lm.config.pad_token_id = tokenizer.eos_token_id + 1  # as the embedded SmolLM2: config and tokenizer differ
    base = tmp_path / "llama"
    lm.save_pretrained(base)
    tokenizer.save_pretrained(base)
    out = tmp_path / "agnews" / "tiny-llama" / "qlora"
    raw = read_yaml(Path("recipes/qlora_smollm2.yaml"))
    raw.update(model_name_or_path=str(base), dataset_dir=str(prepared), output_dir=str(out), max_steps=2,
               per_device_train_batch_size=4, save_strategy="no")
    run_exp(raw)

    manifest = json.loads((out / "variant.json").read_text())
    assert manifest["variant"] == "qlora" and manifest["labels"] == LABELS
    assert manifest["lora"]["target_modules"] == sorted(raw["lora_target"].split(","))
    assert manifest["quantization"]["bits"] == 4 and manifest["training"]["global_steps"] == 2
    variant = load_variant(out)
    body = [type(m).__name__ for n, m in variant.model.named_modules() if n.endswith("mlp.up_proj.base_layer")]
    assert body and set(body) == {"Linear4bit"}
    assert variant.model.config.pad_token_id == variant.tokenizer.pad_token_id  # as the Trainer had it
    assert variant.batch(TEXTS)["attention_mask"].eq(0).any(), "texts of one length would not test pooling"
    single = torch.cat([variant.logits([text]) for text in TEXTS])
    torch.testing.assert_close(variant.logits(TEXTS), single, atol=1e-4, rtol=1e-3)  # pooled on the last real token
