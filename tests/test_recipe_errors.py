"""Recipe files and overrides the project refuses, one row per case: the entry point, what it is
given, and the one line it stops with. Every entry point reads recipes with glue.schema.recipe, and
``llamafactory-cli train`` reads them through seqcls/hook.py before LLaMA-Factory sees them.
Add a row for a new case; ``{tmp}`` in an argument is a folder holding the files of BAD_FILES."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("llamafactory-cli"))

BAD_FILES = {
    "not_yaml.yaml": b"stage: seq_cls\nlora_target: [query,\n",
    "latin1.yaml": b"stage: seq_cls\nrun_name: caf\xe9\n",
    "list.yaml": b"- stage\n- seq_cls\n",
    "extends_missing.yaml": b"extends: nowhere.yaml\n",
    "loop_a.yaml": b"extends: loop_b.yaml\n",
    "loop_b.yaml": b"extends: loop_a.yaml\n",
}

# (entry point, its arguments, how the line it stops with starts: a regular expression)
CASES = [
    ("llamafactory-cli", ["train", "{tmp}/missing.yaml"], r"error: recipe .*missing.yaml not found"),
    ("llamafactory-cli", ["train", "{tmp}/not_yaml.yaml"], r"error: .*not_yaml.yaml: not valid YAML: .*line 3, column 1"),
    ("llamafactory-cli", ["train", "{tmp}/latin1.yaml"], r"error: .*latin1.yaml: not UTF-8 text \(byte 28\); save"),
    ("llamafactory-cli", ["train", "{tmp}/list.yaml"], r"error: .*list.yaml: a recipe is a mapping of keys to values"),
    ("llamafactory-cli", ["train", "{tmp}/extends_missing.yaml"], r"error: recipe .*nowhere.yaml not found"),
    ("llamafactory-cli", ["train", "{tmp}/loop_a.yaml"], r"error: .*loop_a.yaml: 'extends' goes round in a circle"),
    ("llamafactory-cli", ["train", "recipes/baseline_minilm.yaml", "max_steps"],
     r"error: override 'max_steps' is not key=value \(e.g. learning_rate=3e-5\)"),
    ("llamafactory-cli", ["train", "recipes/baseline_minilm.yaml", "=3"], r"error: override '=3' is not key=value"),
    ("llamafactory-cli", ["train", "recipes/quantize/qat.yaml"],
     r"error: recipes/quantize/qat.yaml is a post-training recipe \(it sets task, .*\); "
     r"run it with python -m glue.quantize recipes/quantize/qat.yaml \[key=value \.\.\.\], not llamafactory-cli"),
    ("llamafactory-cli", ["train", "recipes/quantize/mpnet/qat.yaml", "learning_rate=1e-5"],
     r"error: recipes/quantize/mpnet/qat.yaml is a post-training recipe"),
    ("llamafactory-cli", ["train", "recipes/qlora_sft_smollm2.yaml", "lora_rank"],
     r"error: override 'lora_rank' is not key=value"),
    ("glue.quantize", ["{tmp}/latin1.yaml"], r"error: .*latin1.yaml: not UTF-8 text"),
    ("glue.quantize", ["{tmp}/missing.yaml"], r"error: recipe .*missing.yaml not found"),
    ("glue.quantize", ["recipes/quantize/qat.yaml", "max_train_samples"], r"error: override 'max_train_samples' is not"),
    ("glue.quantize", ["recipes/baseline_minilm.yaml"], r"error: recipes/baseline_minilm.yaml: not a glue recipe"),
    ("glue.sft.register", ["{tmp}/not_yaml.yaml"], r"error: .*not_yaml.yaml: not valid YAML"),
    ("glue.sft.register", ["recipes/qlora_sft_smollm2.yaml", "output_dir"], r"error: override 'output_dir' is not"),
    ("glue.sft.register", ["recipes/quantize/bnb_nf4.yaml"], r"error: recipes/quantize/bnb_nf4.yaml is a post-training"),
    ("glue.sft.register", ["recipes/qlora_sft_smollm2.yaml", "template=null"],
     r"error: recipes/qlora_sft_smollm2.yaml: key 'template' is required \(e.g. smollm2\)"),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("recipes")
    for name, data in BAD_FILES.items():
        (folder / name).write_bytes(data)
    return folder


def stop_line(entry: str, args: list[str]) -> str:
    """What ``entry`` prints when it stops: the whole of stderr for the CLI, SystemExit's text otherwise."""
    if entry == "llamafactory-cli":
        done = subprocess.run([CLI, *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stderr.strip()
    from glue import quantize
    from glue.sft import register

    main = {"glue.quantize": quantize.main, "glue.sft.register": register.main}[entry]
    with pytest.raises(SystemExit) as stop:
        main(args)
    return str(stop.value)


@pytest.mark.parametrize("entry, args, expected", CASES, ids=[f"{e} {' '.join(a)}" for e, a, _ in CASES])
def test_a_bad_recipe_stops_with_one_line(entry, args, expected, bad_files, monkeypatch):
    monkeypatch.chdir(REPO)
    line = stop_line(entry, [arg.replace("{tmp}", str(bad_files)) for arg in args])
    assert "\n" not in line and "Traceback" not in line, line
    assert re.match(expected, line), line


@pytest.fixture
def sft_output(prepared_dir: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """A prepared dataset, a base model and an adapter where llamafactory-cli train leaves them, as
    register's overrides; the files hold one tensor each (register reads only their headers)."""
    from safetensors.torch import save_file
    from torch import zeros

    data = Path(shutil.copytree(prepared_dir, tmp_path / "data"))
    base, out = tmp_path / "base", tmp_path / "emotion" / "tiny" / "qlora_sft"
    base.mkdir()
    out.mkdir(parents=True)
    save_file({"w": zeros(4)}, base / "model.safetensors")
    (base / "config.json").write_text("{}")  # what makes the folder a model to locate_model
    save_file({"lora": zeros(2)}, out / "adapter_model.safetensors")
    return data, [f"model_name_or_path={base}", f"dataset_dir={data}", "dataset=emotion_train", f"output_dir={out}"]


@pytest.mark.parametrize("key", ["name", "instruction"])
def test_register_names_a_meta_key_that_is_missing(sft_output, key, monkeypatch):
    from glue.sft import register

    data, overrides = sft_output
    meta = json.loads((data / "emotion" / "meta.json").read_text())
    del meta[key]
    (data / "emotion" / "meta.json").write_text(json.dumps(meta))
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit, match=rf"^error: {re.escape(str(data))}/emotion/meta.json: no '{key}' key; "
                                         r"re-run make data DATASET=emotion$"):
        register.main(["recipes/qlora_sft_smollm2.yaml", *overrides])


def test_register_stops_in_one_line_when_the_folder_it_wrote_does_not_load(sft_output, monkeypatch):
    """variant.json is written before the folder is loaded to walk its 4-bit base: a failure there is one line."""
    from glue.sft import register

    _, overrides = sft_output
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit, match=r"^error: .*/qlora_sft: no tokenizer files"):
        register.main(["recipes/qlora_sft_smollm2.yaml", *overrides])
