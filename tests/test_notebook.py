"""Execute notebooks/inference_eval.ipynb headlessly against tiny local checkpoints, so it cannot
rot: one variant read from a local folder, one downloaded (file:// URL) and sha256-verified, one
with a wrong checksum (must be refused), the rest missing (must be skipped with a note)."""
from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "inference_eval.ipynb"


def _archive(folder: Path, out: Path) -> str:
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def test_notebook_runs_on_tiny_checkpoints(tiny_bert_dir, prepared_dir, tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(tiny_bert_dir, models / "baseline")
    # The same tiny weights "published" under another variant name: exercises download + verify.
    published = tmp_path / "published"
    shutil.copytree(tiny_bert_dir, published)
    manifest = json.loads((published / "variant.json").read_text())
    (published / "variant.json").write_text(json.dumps({**manifest, "variant": "ptq_dynamic"}))
    sha = _archive(published, tmp_path / "ptq_dynamic.tar.gz")
    entry = {"url": (tmp_path / "ptq_dynamic.tar.gz").as_uri(), "files": ["variant.json", "model.safetensors"]}
    (tmp_path / "weights.json").write_text(json.dumps({
        "ptq_dynamic": {**entry, "sha256": sha},
        "qat": {**entry, "sha256": "0" * 64},
        "qlora": {**entry, "placeholder": True},
    }))
    for key, value in {"NB_MODELS_DIR": models, "NB_WEIGHTS_MANIFEST": tmp_path / "weights.json", "NB_LIMIT": 16,
                       "NB_DATASET_DIR": prepared_dir, "NB_RESULTS_DIR": tmp_path / "nb_results", "NB_LATENCY": 0,
                       "NB_DOWNLOAD_DIR": tmp_path / "downloads",
                       "HF_HUB_OFFLINE": 1}.items():
        monkeypatch.setenv(key, str(value))

    nb = nbformat.read(NOTEBOOK, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    elapsed = time.perf_counter() - start
    output = "\n".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)

    assert "variants found: baseline, ptq_dynamic" in output
    assert "skip qat: sha256 mismatch" in output
    assert "skip qlora" in output and "placeholder" in output
    assert "skip ptq_static" in output
    table = output[output.index("variant "):]
    assert "baseline" in table and "ptq_dynamic" in table
    assert json.loads((tmp_path / "nb_results" / "emotion" / "tiny-bert" / "ptq_dynamic.json").read_text())[
        "fidelity"]["flip_rate"] == 0.0   # same weights as the baseline: no prediction may flip
    print(f"notebook executed in {elapsed:.1f} s")
    print("\n".join(line for line in output.splitlines() if "evaluated" in line))
