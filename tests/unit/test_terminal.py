"""The one-screen summary at the end of `kpo run` / `kpo demo` (issue 7): rows landed and quarantined
per source, checks passed / warnings / failed, the publication and where to find it."""

from pathlib import Path

from rich.console import Console

from pipelines.runner import RunSummary, SourceSummary
from pipelines.settings import Settings
from pipelines.terminal import print_summary


def check(name: str, passed: bool, severity: str = "ERROR", description: str = "") -> dict:
    return {"asset": "landing/ed_attendances/attendances", "check": name, "passed": passed,
            "severity": severity, "description": description}


def render(summary: RunSummary, settings: Settings) -> str:
    console = Console(record=True, width=160, color_system=None)
    print_summary(console, summary, settings)
    return console.export_text()


def test_a_published_run_lists_sources_checks_and_paths(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    (settings.published / "docs").mkdir(parents=True)
    (settings.published / "report.html").write_text("<html></html>")
    (settings.published / "docs" / "index.html").write_text("<html></html>")
    summary = RunSummary(run_id="abcdef0123456789", load_date="2024-03-01", success=True,
                         publication_id="20240301T020000Z-abcdef01")
    summary.sources["ed_attendances/attendances"] = SourceSummary(
        "ed_attendances/attendances", files_landed=3, rows_landed=1234, rows_quarantined=5)
    summary.checks = [check("gx_attendances", True), check("row_count", True),
                      check("identifiers_valid", False, "WARN", "12 of 1234 rows have a missing NHS number")]
    text = render(summary, settings)
    row = next(line for line in text.splitlines() if "ed_attendances/attendances" in line and "│" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["ed_attendances/attendances", "3", "0", "0",
                                                              "1234", "5", "0"]
    assert "still being written" not in text
    assert "checks: 2 passed, 1 warning(s) (do not block publication), 0 failed" in text
    assert "WARN landing/ed_attendances/attendances identifiers_valid: 12 of 1234 rows" in text
    assert "published 20240301T020000Z-abcdef01" in text
    assert str(settings.published / "report.html") in text
    assert str(settings.published / "docs" / "index.html") in text


def test_a_failed_run_says_nothing_was_published(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    summary = RunSummary(run_id="abcdef0123456789", load_date="2024-03-01", success=False,
                         failures=["publication refused: mart_metric_spc gx: lpl above mean"])
    summary.checks = [check("gx_mart_metric_spc", False, "ERROR", "lpl above mean")]
    text = render(summary, settings)
    assert "checks: 0 passed, 0 warning(s) (do not block publication), 1 failed" in text
    assert "ERROR landing/ed_attendances/attendances gx_mart_metric_spc: lpl above mean" in text
    assert "publication refused" in text
    assert f"run failed: nothing was published; the publication in {settings.published} is unchanged" in text
    assert f"alert:     {settings.published / 'alerts.jsonl'}" in text


def test_a_failed_blocking_check_is_described_once(tmp_path: Path) -> None:
    """The step a blocking check stopped fails with the check's own words (the alert carries them): on the terminal,
    the check's line above already says them."""
    settings = Settings(home=tmp_path / "home")
    description = "mart_metric_monthly: expect_table_row_count_to_be_between() failed (observed 0)"
    summary = RunSummary(run_id="abcdef0123456789", load_date="2024-03-01", success=False, failures=[
        f"mart_metric_monthly_gx: blocking check mart_metric_monthly gx_mart_metric_monthly failed: {description}"],
        stopped_by_checks=["mart_metric_monthly_gx"])
    summary.checks = [{"asset": "mart_metric_monthly", "check": "gx_mart_metric_monthly", "passed": False,
                       "severity": "ERROR", "description": description}]
    text = render(summary, settings).replace("\n", " ")
    assert text.count("observed 0") == 1
    assert "ERROR mart_metric_monthly gx_mart_metric_monthly: " in text
    assert "mart_metric_monthly_gx: stopped by the failed check(s) above" in text


def test_files_still_being_written_are_named_as_left_in_the_inbox(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", inbox_min_age_seconds=60)
    summary = RunSummary(run_id="abcdef0123456789", load_date="2024-03-01", success=True, publication_id="p")
    summary.sources["ed_attendances/attendances"] = SourceSummary(
        "ed_attendances/attendances", files_landed=1, rows_landed=650, waiting=["ecds_attendances_20240301.csv"])
    text = render(summary, settings)
    row = next(line for line in text.splitlines() if "ed_attendances/attendances" in line and "│" in line)
    assert row.split("│")[-2].strip() == "1"
    assert "1 file(s) modified within the last 60 s (KPO_INBOX_MIN_AGE_SECONDS)" in text
    assert "left in the inbox for a later run" in text and "ed_attendances/ecds_attendances_20240301.csv" in text


def test_a_loads_warnings_are_shown_under_its_source(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    summary = RunSummary(run_id="abcdef0123456789", load_date="2024-03-01", success=True, publication_id="p")
    ignored = "trac.csv: column 'Notes' is not declared and was ignored"
    drift = "1 landed load(s) of load date(s) 2024-02-01 were landed under an earlier declaration"  # names its table
    warnings = [ignored, f"hr_recruitment/vacancies: {drift}"]
    summary.sources["hr_recruitment/vacancies"] = SourceSummary("hr_recruitment/vacancies", files_landed=1,
                                                                warnings=warnings)
    text = render(summary, settings)
    assert f"hr_recruitment/vacancies: {ignored}" in text
    assert f"hr_recruitment/vacancies: {drift}" in text and "hr_recruitment/vacancies: hr_recruitment" not in text


def test_what_the_publication_says_of_its_metrics_is_shown(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    note = "metric falls_injury_pct (plugin falls_log) has no rows yet: it is published without data"
    summary = RunSummary(run_id="abcdef0123456789", load_date="2024-03-01", success=True, publication_id="p",
                         notes=[note])
    assert f"publication: {note}" in render(summary, settings).replace("\n", " ")


def test_a_run_that_succeeded_with_nothing_new_to_publish_is_not_called_failed(tmp_path: Path) -> None:
    """A backfill of a date that archived nothing succeeds and publishes nothing new (see pipelines/publish.py)."""
    settings = Settings(home=tmp_path / "home")
    text = render(RunSummary(run_id="abcdef0123456789", load_date="2024-03-01", success=True), settings)
    assert f"nothing new to publish: the publication in {settings.published} is unchanged" in text
    assert "run failed" not in text and "alert:" not in text
