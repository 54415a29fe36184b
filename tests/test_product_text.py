"""The product speaks about the project, not about how it was made: no tracked text file (code,
comments, --help texts, recipes, Makefile fragments, templates, tests, docs) mentions work
sessions, issue numbers, who built it, dated diary entries or paths of the machine it was built
on, and every relative link in the Markdown points to a file that exists. Generated results
(results/) are left out: they record the machine they were measured on on purpose."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = ("results/",)
THIS = Path(__file__).relative_to(REPO).as_posix()

# What each pattern catches. Legitimate neighbours stay allowed: an ONNX Runtime or pytest
# "session", upstream issues written as owner/repo#N or as URLs, "helper" for a function.
PROCESS_WORDS = {
    "a work session": r"\b(?:this|that|each|earlier|previous|next|later|late|early|morning|afternoon|evening|night"
                      r"|midnight|lead|helper)\s+sessions?\b|\bsessions'|\bSession of \d",
    "an issue number": r"\b[Ii]ssues? \d+",
    "the people or tools that built it": r"\bhelper (?:sessions?|worktrees?|branch(?:es)?)\b"
                                         r"|\b(?:other|another) helpers?\b|\bwhoever comes next\b|\bclosing note\b"
                                         r"|\blent\b|\bnot drawn\b|\bdevice tool\b",
    "the machine it was built on": r"\b(?:this|the) VMs?\b|\bthese machines\b",
    "a dated diary entry": r"^\s*#+ .*\b20\d\d-\d\d-\d\d\b|\b(?:on|rerun on|measured on|as of) 20\d\d-\d\d-\d\d\b",
    "a path of the machine it was built on": r"(?<![\w.~])/(?:work|root)/|(?<![\w.~])/home/[a-z]",
    "notes outside the repository": r"\b(?:NOTES|ENVIRONMENT|REFERENCE_RESULTS)\.md\b",
}
PATTERNS = {why: re.compile(pattern, re.MULTILINE) for why, pattern in PROCESS_WORDS.items()}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def tracked_text_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in out.splitlines() if not p.startswith(SKIPPED_DIRS) and p != THIS and (REPO / p).is_file()]


def read_text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def process_words(name: str, text: str) -> list[str]:
    """``file:line: <why> ('<the words>')`` for every match in ``text``."""
    found = []
    for why, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{name}:{line}: {why} ({m.group(0).strip()!r})")
    return found


def broken_links(name: str, text: str, root: Path) -> list[str]:
    """Relative links in a Markdown file whose target does not exist."""
    found = []
    for m in LINK.finditer(text):
        target = m.group(1).split("#", 1)[0]
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        if not ((root / name).parent / target).exists():
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{name}:{line}: link to {target}, which does not exist")
    return found


def test_no_development_process_words_in_tracked_files() -> None:
    problems = []
    for name in tracked_text_files():
        text = read_text(REPO / name)
        if text is not None:
            problems += process_words(name, text)
    assert problems == [], "\n".join(problems)


def test_every_relative_markdown_link_resolves() -> None:
    problems = []
    for name in tracked_text_files():
        if name.endswith(".md"):
            problems += broken_links(name, (REPO / name).read_text(encoding="utf-8"), REPO)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("text", [
    "Measured in the evening session.", "see issue 17", "Issue 15, item 7: a test", "other runs on this VM",
    "## Session of 2026-11-30, morning", "rerun on 2026-11-30", "logs in /work/logs/q.sh", "no GPU was lent",
    "the numbers are in NOTES.md", "(see ENVIRONMENT.md)", "left for whoever comes next", "four helper sessions",
])
def test_process_words_are_caught(text: str) -> None:
    assert process_words("x.py", text)


@pytest.mark.parametrize("text", [
    "ort.InferenceSession(path)", "@pytest.fixture(scope=\"session\")", "restart the session on Colab",
    "declined ([hiyouga/LLaMA-Factory#1463](https://github.com/hiyouga/LLaMA-Factory/issues/1463))",
    "(pytorch/pytorch#184982)", "Helpers for the data tests", "the record never holds this machine's paths",
    "a silent failure", '"created": "2026-11-23T20:00:00Z"', "files in ~/corpora/mydata",
])
def test_legitimate_text_passes(text: str) -> None:
    assert process_words("x.py", text) == []


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("x")
    text = "[ok](a.md) [anchor](#top) [web](https://example.org/x.md) [gone](../NOTES.md) [bad](b.md#part)"
    assert broken_links("docs/a.md", text, tmp_path) == [
        "docs/a.md:1: link to ../NOTES.md, which does not exist", "docs/a.md:1: link to b.md, which does not exist"]
