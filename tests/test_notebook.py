"""The published notebook end to end, as a reader runs it: `make publish` packs tiny variants
(baseline, PTQ dynamic, PTQ static), a local HTTP server on 127.0.0.1 serves the release, and the
notebook `make publish` wrote downloads, verifies, evaluates the whole (tiny) test split and prints
the comparison table. Then one served file is tampered with: the notebook must stop with a
checksum error naming that file, before anything is loaded."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from core.io import sha256_file
from glue.quantize import quantize_recipe
from glue.schema.recipe import load_recipe
from publish.manifest import MANIFEST_NAME
from publish.run_notebook import RUNTIME_FILE, execute, stop_message
from publish.run_notebook import main as run_notebook

REPO = Path(__file__).resolve().parent.parent
VARIANTS = ["baseline", "ptq_dynamic", "ptq_static"]
NOTEBOOK_NAME = "A2_Doe_Jane.ipynb"  # a course's naming convention


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """(base URL, folder it serves) on a free port of 127.0.0.1, shut down afterwards."""
    site = tmp_path_factory.mktemp("site")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", site
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="module")
def models(tiny_bert_dir, prepared_dir, tmp_path_factory) -> Path:
    """The tiny baseline and its PTQ variants, built by the real recipes through glue.quantize."""
    root = tmp_path_factory.mktemp("models")
    base = root / "emotion" / "tiny-bert" / "baseline"
    shutil.copytree(tiny_bert_dir, base)
    for variant in VARIANTS[1:]:
        overrides = {"base_model_dir": str(base), "model_name_or_path": str(base), "dataset_dir": str(prepared_dir),
                     "output_dir": str(base.parent / variant)}
        recipe_path = REPO / "recipes" / "quantize" / f"{variant}.yaml"
        if variant == "ptq_static":  # a dotted override changes that key only
            overrides.update({"quant_config.calibration_samples": 16, "quant_config.calibration_batch_size": 8})
        quantize_recipe(load_recipe(recipe_path, [f"{key}={value}" for key, value in overrides.items()]))
    return root


@pytest.fixture(scope="module")
def release(server, models) -> tuple[str, Path]:
    """`make publish` output, written straight into the served folder."""
    url, site = server
    out = site / "v-test"
    done = subprocess.run(["make", "-s", "publish", f"PY={sys.executable}", f"MODELS={models}", f"PUBLISH_OUT={out}",
                           f"RELEASE_URL={url}/v-test", f"NOTEBOOK_NAME={NOTEBOOK_NAME}"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}/ (3 variants" in done.stdout
    return f"{url}/v-test", out


def settings(prepared_dir: Path) -> dict[str, str]:
    """The notebook's NB_* overrides for the tiny release; its RELEASE line is the only pointer to the weights."""
    return {"NB_MODEL_TAG": "tiny-bert", "NB_VARIANTS": ",".join(VARIANTS), "NB_DATASET_DIR": str(prepared_dir),
            "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def outputs(nb, kind: str) -> str:
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get(kind, ""))
                     for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def test_notebook_reproduces_the_table_from_the_served_release(release, prepared_dir, tmp_path, monkeypatch, capsys):
    url, release_dir = release
    manifest = json.loads((release_dir / MANIFEST_NAME).read_text())
    assert manifest["base_url"] == url
    assert manifest["variants"]["emotion/tiny-bert/ptq_static"]["devices"] == ["cpu"]

    for key, value in settings(prepared_dir).items():
        monkeypatch.setenv(key, value)
    run_notebook([str(release_dir / NOTEBOOK_NAME), "--work-dir", str(tmp_path / "work")])  # what make notebook-runtime runs
    printed = capsys.readouterr().out
    assert all(f"| {variant} | cpu | " in printed for variant in VARIANTS)  # the runtime table
    nb = nbformat.read(tmp_path / "work" / f"executed_{NOTEBOOK_NAME}", as_version=4)
    text = outputs(nb, "text/markdown")
    results = {v: json.loads((tmp_path / "work" / "results" / "emotion" / "tiny-bert" / f"{v}.json").read_text())
               for v in VARIANTS}
    n_test = len(json.loads((prepared_dir / "emotion" / "test.json").read_text()))
    for variant, result in results.items():
        assert result["n_examples"] == n_test  # the whole split, no limit
        assert result["latency"]["ms_per_batch"] > 0
        row = next(line for line in text.splitlines() if line.startswith(f"| {variant} | {result['metrics']['macro_f1']:.4f}"))
        assert f"| {result['metrics']['accuracy']:.4f} | {result['size_mb']:.1f} |" in row
        assert "| " + " | ".join(f"{f:.3f}" for f in result["metrics"]["per_class_f1"].values()) + " |" in text
    last = results[VARIANTS[-1]]["metrics"]["macro_f1"]
    assert text.rstrip().splitlines()[-1].startswith(f"| {VARIANTS[-1]} | {last:.4f} |")  # the table comes last
    assert sum("image/png" in o.get("data", {}) for cell in nb.cells for o in cell.get("outputs", [])) == len(VARIANTS)
    assert all(f"{variant} runs on cpu" in text for variant in VARIANTS)  # this machine has no CUDA
    assert set(json.loads((tmp_path / "work" / RUNTIME_FILE).read_text())) == set(VARIANTS)
    progress = "\n".join(str(o.get("text", "")) for cell in nb.cells for o in cell.get("outputs", [])
                         if o.get("name") == "stderr")
    assert "emotion--tiny-bert--baseline--model.safetensors" in progress  # the download's progress bar


def test_notebook_stops_on_a_tampered_file_before_loading(release, models, prepared_dir, tmp_path):
    release_url, release_dir = release
    manifest = json.loads((release_dir / MANIFEST_NAME).read_text())
    item = next(f for f in manifest["variants"]["emotion/tiny-bert/ptq_static"]["files"]
                if f["file"] == "quantized_state.pt")
    asset = release_dir / item["asset"]
    data = bytearray(asset.read_bytes())
    data[len(data) // 2] ^= 0xFF
    asset.unlink()  # a hard link into the model folder: write a new file, leave the model alone
    asset.write_bytes(bytes(data))

    with pytest.raises(CellExecutionError) as stopped:
        execute(release_dir / NOTEBOOK_NAME, {**settings(prepared_dir), "NB_WORK_DIR": str(tmp_path / "work")})
    message = stop_message(stopped.value)
    assert message.startswith(f"SystemExit: error: checksum error: {item['asset']} ({release_url}/{item['asset']}) "
                              "has sha256 ")
    assert "nothing was loaded" in message and "Traceback" not in str(stopped.value)
    assert not (tmp_path / "work" / "results").exists()  # stopped before inference and evaluation
    assert not (tmp_path / "work" / "weights" / "emotion" / "tiny-bert" / "ptq_static").exists()
    assert sha256_file(models / "emotion" / "tiny-bert" / "ptq_static" / item["file"]) == item["sha256"]  # untouched
