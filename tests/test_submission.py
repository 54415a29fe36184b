"""`make submission` from tiny results: both courses' hand-ins hold what the courses ask for, the
author's name and roll number are on every report's first page, and what is missing is said."""
from __future__ import annotations

import json
import zipfile

import pytest
from fake_results import write_fake_results
from pypdf import PdfReader

from publish.manifest import MANIFEST_NAME, SCHEMA
from publish.submission import Author, build, check_notebook
from report.handin import Student
from report.render import render

URL = "https://github.com/jane/compress/releases/download/v1.0"
AUTHOR = Author("Jane Doe", "R42")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """emotion.pdf and agnews.pdf rendered from fake results with the author; metrics.pdf a stand-in."""
    from weasyprint import HTML

    root = tmp_path_factory.mktemp("sub")
    write_fake_results(root / "results", n_emotion=120, n_agnews=40, variants=("baseline", "ptq_dynamic", "qlora"))
    out = root / "report"
    render(root / "results", out, pdf=True, n_resamples=30, only=("emotion", "agnews"),
           student=Student(AUTHOR.name, AUTHOR.roll))
    HTML(string=f"<p>Metrics essay. {AUTHOR.name}, {AUTHOR.roll}</p>").write_pdf(out / "metrics.pdf")
    return out


def _release(tmp_path):
    release = tmp_path / "release"
    release.mkdir()
    (release / "emotion--minilm-l6--baseline--model.safetensors").write_bytes(b"weights")
    asset = {"file": "model.safetensors", "asset": "agnews--smollm2-135m--baseline--model.safetensors",
             "size": 7, "sha256": "0" * 64}
    entry = {"dataset": "agnews", "model_tag": "smollm2-135m", "variant": "baseline", "method": "baseline",
             "devices": ["cpu"], "files": [asset]}
    (release / MANIFEST_NAME).write_text(json.dumps({"schema": SCHEMA, "variants": {"agnews/smollm2-135m/baseline": entry}}))
    return release


def test_both_courses_hand_ins(reports, tmp_path):
    out = tmp_path / "submission"
    missing = build(reports, out, AUTHOR, _release(tmp_path), URL)
    assert missing == [] and not (out / "MISSING.txt").exists()
    with zipfile.ZipFile(out / "R42_Jane_Doe_agnews.zip") as z:
        names = set(z.namelist())
        readme = z.read("README.md").decode()
    assert {"report_1.pdf", "report_2.pdf", "README.md", "src/Makefile", "src/report/render.py"} <= names
    assert not [n for n in names if n.startswith(("src/results/", "src/outputs/")) or n.endswith(".safetensors")]
    assert "make all DATASET=agnews" in readme and f"{URL}/agnews--smollm2-135m--baseline--model.safetensors" in readme
    emotion = out / "emotion"
    notebook = emotion / "R42_Jane_Doe_Advance_nlpassignment2.ipynb"
    assert URL in notebook.read_text() and (emotion / "release" / MANIFEST_NAME).is_file()
    for pdf in (emotion / "R42_Jane_Doe_report.pdf", reports / "agnews.pdf"):
        first = PdfReader(pdf).pages[0].extract_text()
        assert "Jane Doe" in first and "R42" in first


def test_what_is_missing_is_said(reports, tmp_path):
    out = tmp_path / "submission"
    missing = build(reports, out, Author("Someone Else", "R7"), None, None)
    text = (out / "MISSING.txt").read_text()
    assert "release assets" in text and "RELEASE_URL" in text and "does not show Someone Else" in text
    assert len(missing) == len(text.strip().splitlines())
    assert (out / "emotion" / "R7_Someone_Else_Advance_nlpassignment2.ipynb").is_file()


def test_a_notebook_that_trains_is_refused(tmp_path):
    from publish.manifest import PublishError

    nb = tmp_path / "x.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["!make baseline\n"]}]}))
    with pytest.raises(PublishError, match="trains"):
        check_notebook(nb)
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["# !make baseline\n"]}]}))
    check_notebook(nb)
    nb.write_text('{"cells": [')  # cut short: one line naming it, not a JSON traceback
    with pytest.raises(PublishError, match="not a notebook"):
        check_notebook(nb)
