"""Day-month order is judged per extract (pipelines/date_order.py, docs/dates.md): an extract written month/day/year
is rejected whole, naming file, column, line, value and the order it looks like; a genuine day/month one loads."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from pipelines.date_order import is_day_first, twin
from pipelines.landing import land_inbox, with_reference_values
from pipelines.reference import load_reference
from pipelines.settings import Settings
from plugins.contract import DEFAULT_FORMATS, Plugin, SyntheticRequest, Table
from plugins.course_feedback import PLUGIN as FEEDBACK
from plugins.ed_attendances import PLUGIN as ED
from plugins.hr_recruitment import PLUGIN as HR
from plugins.theatre_cancellations import PLUGIN as THEATRE
from tests.helpers import falls_declaration


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", pseudonymisation_key="test-key")
    settings.ensure_folders()
    return settings


def us_text(column, value: str) -> str:
    """The value as a US-locale export writes it: month first (a day-first format's twin; an ISO one in
    month/day/year)."""
    for fmt in column.formats or DEFAULT_FORMATS[column.type]:
        try:
            parsed = dt.datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        if is_day_first(fmt):
            return parsed.strftime(twin(fmt))
        return parsed.strftime("%m/%d/%Y %H:%M:%S" if column.type == "timestamp" else "%m/%d/%Y")
    return value


def us_resave(table: Table, source: Path, target: Path) -> None:
    dated = {c.source_header: c for c in table.columns if c.type in DEFAULT_FORMATS}
    with source.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
        headers = list(rows[0])
    for row in rows:
        for header, column in dated.items():
            if row.get(header):
                row[header] = us_text(column, row[header])
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers)
        writer.writeheader()
        writer.writerows(rows)


def assert_rejected_whole(settings: Settings, plugin: Plugin, table: Table, name: str, load) -> None:
    """Nothing landed, the extract kept under quarantine/<source>/rejected/ with its reason."""
    assert load.status == "rejected", load
    assert not list((settings.landing / plugin.name / table.name).glob("load_date=*/*.parquet"))
    kept = list((settings.quarantine / plugin.name / "rejected").rglob(f"*__{name}"))  # kept under its content hash
    assert kept and not (settings.inbox / plugin.name / name).exists()


@pytest.mark.parametrize(("plugin", "table_name"), [(THEATRE, "bookings"), (ED, "attendances"), (HR, "vacancies")])
def test_a_us_resave_of_each_csv_source_is_rejected_whole_naming_file_column_line_value_and_order(
        settings, tmp_path, plugin, table_name):
    table = plugin.table(table_name)
    written = plugin.generate(SyntheticRequest(tmp_path / "generated", seed=3, projects=load_reference(()).projects,
                                               scale=0.02))
    source = next(p for p in written if p.suffix == ".csv" and table.file_pattern.strip("*").split("*")[0] in p.name)
    us_resave(table, source, settings.inbox / plugin.name / source.name)
    [load] = land_inbox(settings, plugin, table, settings.today())
    assert_rejected_whole(settings, plugin, table, source.name, load)
    problem = load.problem
    assert problem.startswith(f"{source.name}: column ") and "month/day/year" in problem
    assert any(f"column {c.source_header!r}" in problem for c in table.columns if c.type in DEFAULT_FORMATS)
    assert " line " in problem and " holds '" in problem


def write_events(settings: Settings, plugin: Plugin, days: list[dt.date], fmt: str) -> str:
    folder = settings.inbox / plugin.name
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["Event ID,Occurred,Harm"] + [f"E{n},{day.strftime(fmt)},low" for n, day in enumerate(days)]
    (folder / "events.csv").write_text("\n".join(lines) + "\n")
    return "events.csv"


EARLY_OCTOBER = [dt.date(2023, 10, day) for day in range(1, 13)]


def test_a_us_resave_of_the_1st_to_12th_of_a_month_every_value_reading_both_ways_is_rejected(settings, tmp_path):
    plugin, table = falls_declaration("harm", False, tmp_path)
    name = write_events(settings, plugin, EARLY_OCTOBER, "%m/%d/%Y")
    [load] = land_inbox(settings, plugin, table, settings.today())
    assert_rejected_whole(settings, plugin, table, name, load)
    assert "column 'Occurred' looks like month/day/year order" in load.problem
    assert "line 2 holds '10/01/2023'" in load.problem and "spread over" in load.problem


def test_a_us_resave_of_a_single_recent_day_is_rejected_on_the_landing_dates_recent_past(settings, tmp_path,
                                                                                          monkeypatch):
    """One day's extract (3 March, written 03/03 would be no evidence: 2 March) read as declared is 3 February,
    a month before the landing; read swapped it is the day before: the swapped order."""
    monkeypatch.setattr(Settings, "today", lambda self: dt.date(2024, 3, 3))
    plugin, table = falls_declaration("harm", False, tmp_path)
    name = write_events(settings, plugin, [dt.date(2024, 3, 2)] * 5, "%m/%d/%Y")
    [load] = land_inbox(settings, plugin, table, settings.today())
    assert_rejected_whole(settings, plugin, table, name, load)
    assert "days before the landing date 2024-03-03" in load.problem


@pytest.mark.parametrize("days", [EARLY_OCTOBER, [dt.date(2023, 10, day) for day in range(1, 32)],
                                  [dt.date(2024, 3, 2)] * 3],
                         ids=["1st-12th", "full month", "yesterday alone"])
def test_a_genuine_day_month_extract_loads(settings, tmp_path, days, monkeypatch):
    monkeypatch.setattr(Settings, "today", lambda self: dt.date(2024, 3, 3))
    plugin, table = falls_declaration("harm", False, tmp_path)
    write_events(settings, plugin, days, "%d/%m/%Y")
    [load] = land_inbox(settings, plugin, table, settings.today())
    assert load.status == "landed" and load.rows_landed == len(days), load.problem


def us_feedback_workbook(tmp_path: Path, monkeypatch) -> Path:
    """The synthetic MS Forms export with its session dates typed as text in US order (times stay date cells)."""
    from plugins.course_feedback import synthetic
    from plugins.course_feedback.schema import SESSION_DATE_Q

    write = synthetic.write_forms_export

    def as_us_text(path: Path, rows: list[dict]) -> None:
        write(path, [{**row, SESSION_DATE_Q: row[SESSION_DATE_Q].strftime("%m/%d/%Y")} for row in rows])

    monkeypatch.setattr(synthetic, "write_forms_export", as_us_text)
    [path] = FEEDBACK.generate(SyntheticRequest(tmp_path / "generated", seed=3,
                                                projects=load_reference(()).projects, scale=0.05))
    return path


def test_a_feedback_workbook_with_us_text_dates_is_rejected_by_landing_and_by_plugin_check(settings, tmp_path,
                                                                                            monkeypatch):
    from pipelines.plugin_check import check_extract

    table = FEEDBACK.table("feedback_responses")
    path = us_feedback_workbook(tmp_path, monkeypatch)
    checked = check_extract(FEEDBACK, path, table)
    rejected = [m for m in checked if m.kind == "rejected whole"]
    assert rejected and "column 'What was the date of your session?' is in month/day/year order" in rejected[0].detail
    (settings.inbox / FEEDBACK.name).mkdir(parents=True, exist_ok=True)
    shutil.copy(path, settings.inbox / FEEDBACK.name / path.name)
    [load] = land_inbox(settings, FEEDBACK, with_reference_values(table, load_reference(())), settings.today())
    assert_rejected_whole(settings, FEEDBACK, table, path.name, load)
    assert load.problem == rejected[0].detail
