"""The seq_cls stage: what ``llamafactory-cli train RECIPE`` runs for ``stage: seq_cls``.

Laid out like LLaMA-Factory's own ``train/<stage>/workflow.py``: arguments come parsed and
validated by LLaMA-Factory's ``get_train_args``; data, model, Trainer, train, evaluate, export.

Output handling: the Trainer writes its checkpoints to a hidden work folder beside ``output_dir``
(``.<name>.run``), where an interrupted run resumes; the finished model is built in a staging
folder and swapped into ``output_dir`` only on success. A finished ``output_dir`` is left alone
unless ``overwrite_output_dir: true``.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import torch

from core.io import clean_stale_staging
from core.names import UnsafeName, VariantId
from core.provenance import provenance
from data_prep.common import DataError, split_parts
from data_prep.prepared import Split, check_same_labels, load_split
from glue.folder.manifest import MANIFEST, VariantError
from glue.folder.variant import weights_origin
from glue.schema.recipe import RecipeError, check_values, locate_model, require_keys
from glue.train.selection import check_selection, summary, without_validation
from glue.train.training import count_parameters, make_trainer, train_with_stats
from seqcls import STAGE
from seqcls.checkpoints import start_run
from seqcls.export import export
from seqcls.model import build


def work_dir(out: Path) -> Path:
    """Where the Trainer keeps checkpoints for ``out``: hidden, so eval-all never sees it."""
    return out.with_name(f".{out.name}.run")


def command_line() -> str:
    """The command that trained this model, as the user typed it (torchrun's workers included)."""
    prefix = "FORCE_TORCHRUN=1 " if os.environ.get("FORCE_TORCHRUN") else ""
    return f"{prefix}llamafactory-cli train {' '.join(sys.argv[1:])}".strip()


def parse(raw: dict[str, Any], where: str) -> tuple[Any, ...]:
    """LLaMA-Factory's own parsing and checks; its ValueErrors become one line naming the recipe."""
    from llamafactory.hparams import get_train_args

    try:
        return get_train_args(raw)
    except ValueError as err:
        raise RecipeError(f"{where}: {err}") from None


def load_data(data_args: Any, where: str) -> tuple[Split, Split | None]:
    """The recipe's train split and optional eval split, each one registered dataset."""
    for key in ("dataset", "eval_dataset"):
        names = getattr(data_args, key) or []
        if len(names) > 1:
            raise RecipeError(f"{where}: {key} names {len(names)} datasets ({', '.join(names)}); stage {STAGE} "
                              "trains on one: register their union as one dataset")
    require_keys(vars(data_args), {"dataset": "emotion_train"}, where)
    train = load_split(data_args.dataset_dir, data_args.dataset[0], data_args.max_samples)
    evaluation = None
    if data_args.eval_dataset:
        evaluation = load_split(data_args.dataset_dir, data_args.eval_dataset[0], data_args.max_samples)
        check_same_labels(train, evaluation)
    return train, evaluation


def method_name(setup: dict[str, Any]) -> str:
    if setup["finetuning_type"] == "lora":
        return "qlora" if setup["quant"] is not None else "lora"
    return "baseline"


def run_seq_cls(model_args: Any, data_args: Any, training_args: Any, finetuning_args: Any,
                callbacks: list, out: Path, raw: dict[str, Any], where: str) -> Path | None:
    """Train a sequence classifier and export it to ``out``; returns ``out`` on the saving process."""
    from transformers import AutoTokenizer, set_seed

    model_path = locate_model(str(raw.get("model_name_or_path") or ""))
    if training_args.fp16 and not torch.cuda.is_available():
        raise RecipeError(f"{where}: fp16: true needs a CUDA GPU and none is visible; run on a GPU, or override "
                          "fp16=false (FP32), or bf16=true on a CPU with AVX-512 BF16 / AMX")
    train_split, eval_split = load_data(data_args, where)
    labels = train_split.label_names
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    set_seed(training_args.seed)
    model, setup = build(model_path, tokenizer, labels, model_args, finetuning_args, training_args.device)
    parameters = count_parameters(model)
    print(f"[seq_cls] {len(labels)} labels, {len(train_split):,} training examples; trainable parameters "
          f"{parameters['trainable']:,} of {parameters['total']:,} ({parameters['trainable_pct']:.2f}%)")

    trainer = make_trainer(model, training_args, tokenizer, train_split, eval_split, data_args.cutoff_len,
                           callbacks)
    training = train_with_stats(trainer, training_args.resume_from_checkpoint)
    print(f"[seq_cls] {summary(training['selection'])}")
    validation = trainer.evaluate() if eval_split else {}  # the kept step's weights (load_best_model_at_end)
    if not training_args.should_save:  # other ranks of a distributed run
        return None
    export(out, model, tokenizer, setup,
           method=method_name(setup), **identity_fields(out, train_split), labels=labels,
           max_length=data_args.cutoff_len,
           fp16_inference=bool(training_args.fp16), base_model=raw.get("model_name_or_path"),
           weights_origin=weights_origin(model_path), recipe_path=where, recipe=raw, command=command_line(),
           data_sha256={"train": train_split.sha256, "eval": eval_split.sha256 if eval_split else None},
           training={**training, "validation": validation, "parameters": parameters},
           provenance=provenance(seed=training_args.seed))
    scores = f"validation {json.dumps(validation)}" if validation else "no validation split"
    print(f"[seq_cls] saved {out} in {training['wall_time_s'] / 60:.1f} min; {scores}")
    return out


def identity_fields(out: Path, train_split: Split) -> dict[str, str]:
    """The manifest's dataset, model_tag and variant: the train split's dataset, the output folder's names."""
    try:
        identity = VariantId.from_folder(out, split_parts(train_split.name)[0])
    except UnsafeName as err:
        raise RecipeError(str(err)) from None
    return {"dataset": identity.dataset, "model_tag": identity.model_tag, "variant": identity.variant}


def run_from_cli(args: Any, callbacks: list) -> None:
    """Entry point from LLaMA-Factory's tuner: output-folder policy, parsing, one-line errors."""
    where = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1].endswith((".yaml", ".yml", ".json")) else "recipe"
    try:
        if not isinstance(args, dict):
            raise RecipeError(f"stage {STAGE} reads a recipe file: llamafactory-cli train RECIPE.yaml [key=value ...]")
        raw = dict(args)  # a recipe file was read by glue.schema.recipe (seqcls/hook.py): YAML's `no` is the word
        require_keys(raw, {"output_dir": "outputs/models/<dataset>/<model>/baseline"}, where)
        out = Path(raw["output_dir"])
        work = work_dir(out)
        if (out / MANIFEST).is_file() and not raw.get("overwrite_output_dir"):
            # a work or staging folder beside a finished model is left by a run killed after its
            # swap, before its cleanup: nothing resumes from it (a retrain starts fresh)
            shutil.rmtree(work, ignore_errors=True)
            clean_stale_staging(out)
            print(f"{out} is complete; add overwrite_output_dir=true to train it again")
            return
        if raw.get("overwrite_output_dir"):
            shutil.rmtree(work, ignore_errors=True)  # a retrain starts fresh, never from old checkpoints
        arguments = without_validation(raw)
        if arguments is not raw:
            print("[seq_cls] no validation split (eval_dataset): no best-step selection; training runs all its "
                  "steps and keeps the last")
        check_selection(arguments, where)
        record = start_run(arguments, work)  # before parsing: LLaMA-Factory would resume any newest checkpoint-N
        model_args, data_args, training_args, finetuning_args, _ = parse({**arguments, "output_dir": str(work)}, where)
        check_values(model_args, data_args, training_args, finetuning_args, where, raw)
        from llamafactory.train.callbacks import LogCallback

        done = run_seq_cls(model_args, data_args, training_args, finetuning_args, [*callbacks, LogCallback(), record],
                           out, raw, where)
        if done is not None:
            shutil.rmtree(work, ignore_errors=True)
    except (RecipeError, DataError, VariantError) as err:
        raise SystemExit(f"error: {err}") from None
