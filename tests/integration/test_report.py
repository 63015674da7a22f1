"""report.html on the demo publication: it renders offline in headless Chromium with one chart per
series and no console errors, and it carries no free text, no pseudonym and no row-level data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from plotly.offline import get_plotlyjs

from pipelines.report import build_report
from plugins import registry
from tests.browser import render_report
from tests.report_cases import add_edge_cases, copy_publication

pytestmark = pytest.mark.xdist_group("demo")

HASH = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")


def published_series(database: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select metric_id, series_key from mart_metric_summary order by all").fetchall()


def points_per_series(database: Path) -> dict[tuple[str, str], int]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute("select metric_id, series_key, count(*) from mart_metric_spc group by all").fetchall()
    return {(metric, series): count for metric, series, count in rows}


@pytest.fixture(scope="module")
def report(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The publication's report.html once the publish step writes it; until then, built the same way here."""
    served = demo_home / "published" / "report.html"
    if served.exists():
        return served
    manifest = json.loads((demo_home / "published" / "manifest.json").read_text())
    output = tmp_path_factory.mktemp("report") / "report.html"
    charts = build_report(demo_home / "published" / "kpo.duckdb", manifest, output)
    assert charts == len(published_series(demo_home / "published" / "kpo.duckdb"))
    return output


def board_sorting(page) -> dict[str, list[float]]:
    """Click the board's Value heading twice; the values in row order after each click."""
    values = ("() => Array.from(document.querySelectorAll('table.board tbody tr'))"
              ".map(row => Number(row.cells[4].dataset.sort))")
    page.click("table.board th:nth-child(5)")
    ascending = page.evaluate(values)
    page.click("table.board th:nth-child(5)")
    return {"ascending": ascending, "descending": page.evaluate(values)}


def test_report_renders_offline_with_one_chart_per_series(demo_home: Path, report: Path, tmp_path: Path):
    database = demo_home / "published" / "kpo.duckdb"
    series = published_series(database)
    screenshot = tmp_path / "report.png"
    rendered = render_report(report, screenshot, inspect=board_sorting)
    print(f"report {report.stat().st_size / 1e6:.2f} MB, {len(rendered.charts)} charts drawn in "
          f"{rendered.render_seconds:.1f} s; screenshot {screenshot}")
    assert rendered.console_errors == [] and rendered.page_errors == []
    assert rendered.blocked_requests == [], "the report asked for something over the network"
    assert rendered.charts_rendered == len(series) == len(rendered.charts)
    assert sorted((c["metric"], c["series"]) for c in rendered.charts) == series  # each series exactly once
    points = points_per_series(database)
    for chart in rendered.charts:
        assert chart["plotted"] and chart["width"] > 300 and chart["height"] > 150, chart["id"]
        assert chart["points"] == points[(chart["metric"], chart["series"])], chart["id"]
    assert screenshot.stat().st_size > 50_000
    sorted_values = rendered.inspected
    assert sorted_values["ascending"] == sorted(sorted_values["ascending"])
    assert sorted_values["descending"] == sorted(sorted_values["ascending"], reverse=True)


def test_report_shows_the_publication_board_and_projects(demo_home: Path, report: Path):
    html = report.read_text()
    manifest = json.loads((demo_home / "published" / "manifest.json").read_text())
    for fact in ("publication_id", "published_at", "code_version", "load_date"):
        assert manifest[fact] in html, fact
    passed = sum(check["passed"] for check in manifest["checks"])
    assert f"{passed} of {len(manifest['checks'])} passed" in html
    board = html[html.index('<table class="board'):html.index("</table>", html.index('<table class="board'))]
    assert board.count("<tr>") == len(published_series(demo_home / "published" / "kpo.duckdb")) + 1
    with duckdb.connect(str(demo_home / "published" / "kpo.duckdb"), read_only=True) as con:
        projects = con.execute("select project_name from dim_projects").fetchall()
    assert all(name in html for (name,) in projects)
    assert html.count(get_plotlyjs()) == 1, "plotly.js must be inlined exactly once"
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html.replace(get_plotlyjs(), ""))


def landed_row_values(home: Path) -> dict[str, set[str]]:
    """Free text (columns a plugin declares free_text), pseudonyms and row keys from every landed file."""
    found: dict[str, set[str]] = {"free text": set(), "pseudonym": set(), "row key or source file": set()}
    for plugin in registry.discover():
        for table in plugin.tables:
            free_text = {c.name for c in table.columns if c.free_text}
            for path in (home / "landing" / plugin.name / table.name).rglob("*.parquet"):
                data = pq.read_table(path)
                for name in data.column_names:
                    if name in free_text:
                        kind = "free text"
                    elif name.endswith("_pseudonym"):
                        kind = "pseudonym"
                    elif name in table.primary_key or name == "_source_file":
                        kind = "row key or source file"
                    else:  # timestamps, codes, counts: nothing that identifies a row or a person
                        continue
                    values = {str(v).strip() for v in data.column(name).unique().to_pylist() if v is not None}
                    found[kind] |= values if kind == "pseudonym" else {v for v in values if len(v) >= 6}
    return found


def test_report_has_no_free_text_pseudonyms_or_row_level_data(demo_home: Path, report: Path):
    # plotly.js itself carries two 64-hex style ids, so the library bundle is taken out before searching.
    html = report.read_text().replace(get_plotlyjs(), "")
    assert HASH.findall(html) == []
    found = landed_row_values(demo_home)
    assert found["row key or source file"], "no landed rows found to check against"
    # Keys and pseudonyms are single tokens: compare sets (a substring search over 700k ED ids takes minutes).
    tokens = set(re.findall(r"[\w./@-]+", html))
    for kind, values in found.items():
        leaked = sorted(v for v in values if v in html) if kind == "free text" else sorted(values & tokens)
        assert leaked == [], f"{len(leaked)} {kind} value(s) from landed rows appear in the report, e.g. {leaked[0]!r}"


def test_report_handles_trial_limits_no_target_neutral_single_point_and_rebase(demo_home: Path, tmp_path: Path):
    database = copy_publication(demo_home / "published" / "kpo.duckdb", tmp_path / "kpo.duckdb")
    cases = add_edge_cases(database)
    output = tmp_path / "report.html"
    assert build_report(database, {"publication_id": "edge-cases", "checks": []}, output) == \
        len(published_series(database))
    rendered = render_report(output, tmp_path / "edge-cases.png")
    assert rendered.console_errors == [] and rendered.page_errors == []
    charts = {(c["metric"], c["series"]): c for c in rendered.charts}
    assert len(charts) == len(rendered.charts) == rendered.charts_rendered
    for key, points in cases.items():
        assert charts[key]["points"] == points and charts[key]["width"] > 300, key
    assert "trial limits" in charts[("case_trial", "trust")]["annotations"]
    assert "trial limits" in charts[("case_trial", "csu:CAR")]["annotations"]
    assert "rebase" in charts[("case_rebase", "trust")]["annotations"]
    assert "neutral metric" in charts[("case_neutral", "trust")]["panel"]
    assert "no assurance: no target" in charts[("case_no_target", "trust")]["panel"]
    assert "Process limits none yet" in charts[("case_single_point", "trust")]["panel"]
