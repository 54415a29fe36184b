"""README.md's results tables are generated from results/ (report.readme_tables) and must not go stale."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_results import write_fake_results

from core import docblocks
from eval.results import load_groups
from report import readme_tables
from report.results import ReportError

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def _blocks(keys: list[str]) -> str:
    return "# t\n" + "".join(f"<!-- results:{k}:begin -->\n<!-- results:{k}:end -->\n" for k in keys)


def test_readme_tables_match_the_committed_results() -> None:
    assert readme_tables.stale(README, REPO / "results") == [], "run make report (python -m report.readme_tables)"


def test_every_committed_track_has_a_table_in_the_readme() -> None:
    keys = set(docblocks.blocks(README.read_text(), readme_tables.KIND))
    assert keys == {f"{g.dataset}/{g.model_tag}" for g in load_groups(REPO / "results")}


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    results = tmp_path / "results"
    write_fake_results(results, n_emotion=300, n_agnews=120)
    readme = tmp_path / "README.md"
    keys = sorted(f"{g.dataset}/{g.model_tag}" for g in load_groups(results))
    readme.write_text(readme_tables.rewrite(_blocks(keys), readme_tables.tables(results)))
    return results, readme


def test_a_changed_result_makes_its_block_stale(small: tuple[Path, Path]) -> None:
    results, readme = small
    assert readme_tables.stale(readme, results) == []
    path = next(results.glob("emotion/*/ptq_static.json"))
    result = json.loads(path.read_text())
    result["size_mb"] = result["size_mb"] / 2
    path.write_text(json.dumps(result))
    key = f"emotion/{path.parent.name}"
    assert readme_tables.stale(readme, results) == [key]
    readme_tables.main(["--results", str(results), "--readme", str(readme)])
    assert readme_tables.stale(readme, results) == []


def test_advice_is_derived_from_the_rows(small: tuple[Path, Path]) -> None:
    results, readme = small
    analysed = readme_tables.analyse_group(load_groups(results)[0], readme_tables.N_RESAMPLES)
    within = [r for r in analysed.rows if readme_tables._points(r) >= -readme_tables.BUDGET_POINTS]
    smallest = min(within, key=lambda r: (r.size_mb, -r.macro_f1.estimate))
    best = max(analysed.rows, key=lambda r: r.macro_f1.estimate)
    lines = readme_tables.advice(analysed)
    assert f"`{best.variant}`" in lines[0] and f"`{smallest.variant}`" in lines[1]


def test_a_block_without_results_is_a_one_line_error(small: tuple[Path, Path], capsys) -> None:
    results, readme = small
    readme.write_text(readme.read_text() + _blocks(["mydata/minilm-l6"]))
    with pytest.raises(ReportError, match="mydata/minilm-l6"):
        readme_tables.rewrite(readme.read_text(), readme_tables.tables(results))
    with pytest.raises(SystemExit):
        readme_tables.main(["--results", str(results), "--readme", str(readme), "--check"])
    assert capsys.readouterr().err.count("\n") == 1


def test_the_header_says_when_the_rows_were_timed() -> None:
    def timed(created: str | None) -> dict:
        return {"latency": {"ms_per_example": 1.0}, "provenance": {"created": created} if created else {}}

    one_run = [timed("2026-01-02T10:00:00+0000"), timed("2026-01-02T10:24:10+0000"), timed(None)]
    assert readme_tables.timed_when(one_run) == "all rows timed within 24 min of each other"
    apart = [timed("2026-01-02T10:00:00+0000"), timed("2026-01-02T12:36:00+0000")]
    assert readme_tables.timed_when(apart) == ("rows timed over 2.6 h, in more than one evaluation run: "
                                               "speed-ups between them mix runs")
    assert readme_tables.timed_when([timed("2026-01-02T10:00:00+0000"), {"provenance": {}}]) == "one row timed"
