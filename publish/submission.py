"""Assemble what each course asks to be handed in, with the author's name and roll number:

    python -m publish.submission --reports results/report --release outputs/publish/<tag> \
        --release-url URL --student "Name" --roll ROLL --out outputs/submission

The AG News course gets one zip: report_1.pdf (the metrics essay), report_2.pdf (fine-tuning
and quantization), src/ (the tracked code that produced them, without results, weights or
data) and a README.md (how to run, where the weights are). The emotion course gets a folder: the
notebook named ``<roll>_<name>_Advance_nlpassignment2.ipynb``, the report, and the release
assets of ``make publish`` when they exist (MISSING.txt says what is not there). The output
folder is built in staging and swapped in whole.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from core.io import atomic_write_text, staged_output
from publish.manifest import MANIFEST_NAME, PublishError, parse, release_of
from publish.pack import NOTEBOOK, PLACEHOLDER, link_or_copy, stamp_notebook

REPO = Path(__file__).resolve().parent.parent
REPORTS = {"report_1.pdf": "metrics.pdf", "report_2.pdf": "agnews.pdf"}
EMOTION_REPORT = "emotion.pdf"
EXCLUDED_TOP = ("results/", "outputs/", "data/")   # results, weights and data stay out of src/
NOT_SOURCE_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".ckpt", ".csv", ".parquet")  # weights, data
TRAINING_CALL = re.compile(r"llamafactory-cli\s+train|!make\s+(baseline|ptq|qat|qlora|all|track)")


@dataclass(frozen=True)
class Author:
    name: str
    roll: str

    @property
    def stem(self) -> str:
        """``<roll>_<name>`` with the name's spaces as underscores and nothing a file name dislikes."""
        safe = re.sub(r"[^A-Za-z0-9_-]+", "_", self.name.strip()).strip("_")
        return f"{re.sub(r'[^A-Za-z0-9_-]+', '', self.roll)}_{safe}"


def source_files(repo: Path = REPO) -> list[str]:
    """The tracked files that make up the code, minus results, weights and data."""
    listed = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout
    return [f for f in listed.splitlines() if not f.startswith(EXCLUDED_TOP) and not f.endswith(NOT_SOURCE_SUFFIXES)]


def _first_page_names(pdf: Path, author: Author) -> bool:
    from pypdf import PdfReader

    text = PdfReader(pdf).pages[0].extract_text() or ""
    return author.name in text and author.roll in text


def readme(release_url: str | None, release_dir: Path | None) -> str:
    """How to run, and where the weights are."""
    lines = ["# Fine-tuning and quantization: code and reports", "",
             "report_1.pdf is the essay on text-generation metrics; report_2.pdf the AG News fine-tuning and",
             "quantization report. src/ holds the code that produced both.", "", "## How to run", "",
             "    cd src", "    make setup                      # a virtual environment with the pinned packages",
             "    make data DATASET=agnews        # prepare AG News", "    make all DATASET=agnews         # train, quantize, evaluate",
             "    make report                     # the PDFs, from the evaluation results", ""]
    lines += ["## Weights", ""]
    manifest = release_dir / MANIFEST_NAME if release_dir else None
    if release_url and manifest and manifest.is_file():
        variants = parse(manifest.read_text(), str(manifest))["variants"]
        lines += [f"Published at {release_url} (every file with its sha256 in {release_url}/{MANIFEST_NAME}):", ""]
        lines += [f"- {key}: " + ", ".join(f"{release_url}/{f['asset']}" for f in entry.get("files", []))
                  for key, entry in variants.items() if key.startswith("agnews/")] or ["- no AG News variant published"]
    elif release_url:
        lines += [f"To be published at {release_url} (the release folder was not built when this was assembled)."]
    else:
        lines += ["Not published: no release URL was set."]
    return "\n".join(lines) + "\n"


def _zip(out: Path, members: dict[str, Path], extra: dict[str, str]) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, path in members.items():
            z.write(path, arcname)
        for arcname, text in extra.items():
            z.writestr(arcname, text)


def check_notebook(path: Path) -> None:
    """Training runs only as commented-out lines: the notebook evaluates published weights."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise PublishError(f"{path}: not a notebook ({type(err).__name__}: {err}); make publish writes it "
                           f"again from {NOTEBOOK}") from None
    for cell in cells:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        live = [line for line in source.splitlines() if TRAINING_CALL.search(line) and not line.lstrip().startswith("#")]
        if cell["cell_type"] == "code" and live:
            raise PublishError(f"{path}: a code cell trains ({live[0].strip()!r}); comment it out in {NOTEBOOK}")


def build(reports: Path, out: Path, author: Author, release_dir: Path | None, release_url: str | None,
          repo: Path = REPO) -> list[str]:
    """Write both courses' hand-ins under ``out``; return what is missing (also in MISSING.txt)."""
    if not author.name.strip() or not author.roll.strip():
        raise PublishError("STUDENT and ROLL are empty: make submission STUDENT=\"Your Name\" ROLL=12345")
    needed = [reports / n for n in (*REPORTS.values(), EMOTION_REPORT)]
    absent = [p for p in needed if not p.is_file()]
    if absent:
        raise PublishError(f"{absent[0]} does not exist: render the reports first (make report)")
    missing = [f"{p.name}: the first page does not show {author.name} / {author.roll}; render it with "
               f"STUDENT and ROLL set" for p in needed if not _first_page_names(p, author)]
    release_ok = bool(release_dir and (release_dir / MANIFEST_NAME).is_file())
    url = release_url if release_url and PLACEHOLDER not in release_url else None
    with staged_output(out) as staging:
        src = {f"src/{f}": repo / f for f in source_files(repo) if (repo / f).is_file()}
        _zip(staging / f"{author.stem}_agnews.zip",
             {**{name: reports / pdf for name, pdf in REPORTS.items()}, **src},
             {"README.md": readme(url, release_dir if release_ok else None)})
        emotion = staging / "emotion"
        emotion.mkdir()
        shutil.copy2(reports / EMOTION_REPORT, emotion / f"{author.stem}_report.pdf")
        notebook = emotion / f"{author.stem}_Advance_nlpassignment2.ipynb"
        if release_ok:
            (emotion / "release").mkdir()
            for asset in sorted(release_dir.iterdir()):
                if asset.is_file() and asset.suffix != ".ipynb":
                    link_or_copy(asset, emotion / "release" / asset.name)
        if url:
            release = release_of(url) or {}
            stamp_notebook(NOTEBOOK, notebook, {"weights": url, "tag": release.get("tag", ""),
                                                "repo": f"https://github.com/{release['repo']}" if release else ""})
        else:
            shutil.copy2(NOTEBOOK, notebook)
            missing.append("the notebook's weights address: set RELEASE_URL (make publish) so it downloads them")
        check_notebook(notebook)
        if not release_ok:
            missing.append(f"the release assets: {release_dir or 'no release folder'} has no {MANIFEST_NAME} "
                           "(run make publish)")
        if missing:
            atomic_write_text(staging / "MISSING.txt", "\n".join(missing) + "\n")
    return missing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=Path("results/report"), help="rendered PDFs")
    parser.add_argument("--release", type=Path, help="the release folder make publish wrote")
    parser.add_argument("--release-url", help="where the release assets are downloaded from (RELEASE_URL)")
    parser.add_argument("--student", required=True, help="the author's name (STUDENT)")
    parser.add_argument("--roll", required=True, help="the author's roll number (ROLL)")
    parser.add_argument("--out", type=Path, default=Path("outputs/submission"))
    args = parser.parse_args(argv)
    try:
        missing = build(args.reports, args.out, Author(args.student, args.roll), args.release, args.release_url)
    except PublishError as err:
        raise SystemExit(f"error: {err}") from None
    print(f"wrote {args.out}/: " + ", ".join(sorted(p.name for p in args.out.iterdir())))
    for item in missing:
        print(f"missing: {item}")


if __name__ == "__main__":
    main()
