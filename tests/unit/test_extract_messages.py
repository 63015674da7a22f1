"""What kpo says of a file it cannot load as it is: each message names what the file is and what to do, and a file
no run will ever load reaches monitoring (an alert, and an exit status a scheduler can tell from a clean night)."""

import csv
import gzip
import io
import json
from pathlib import Path

import duckdb
import pytest
import xlsxwriter
from rich.console import Console

from pipelines.alerts import raise_unclaimed, read_alerts
from pipelines.landing import land_inbox, unclaimed_inbox_files
from pipelines.plugin_check import check_extract
from pipelines.quality import identifier_words
from pipelines.runner import RunSummary, SourceSummary, quarantine_reasons
from pipelines.settings import Settings
from pipelines.terminal import print_summary
from plugins.course_feedback import PLUGIN as FEEDBACK
from plugins.ed_attendances import PLUGIN as ED
from plugins.hr_recruitment import PLUGIN as HR
from plugins.readers import ExtractError, xlsx_reader
from tests.unit.test_landing import HEADERS, LOAD_DATE, landed, vacancy

VACANCIES = HR.table("vacancies")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", pseudonymisation_key="test-key")


def csv_bytes(rows: list[dict[str, str]], headers=HEADERS, above: list[list[str]] = ()) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerows(above)
    writer.writerow(headers)
    writer.writerows([[row.get(h, "") for h in headers] for row in rows])
    return text.getvalue().encode()


def drop(settings, name: str, content: bytes, plugin: str = "hr_recruitment") -> Path:
    folder = settings.inbox / plugin
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return folder / name


def test_a_binary_file_is_named_not_text_whatever_bytes_it_holds(settings):
    # tabs and semicolons in the noise made the old message blame the header's delimiter
    drop(settings, "trac_vacancies.csv", b"\x89GIF\t\t;;\x00\x03\x07more\tnoise;\n\x01\x02")
    [load] = land_inbox(settings, HR, VACANCIES, LOAD_DATE)
    assert load.status == "rejected"
    assert "it is not a text file (binary data" in load.problem and "separated by" not in load.problem


def test_a_gzip_compressed_extract_lands_as_its_csv_would(settings):
    rows = [vacancy("0000001"), vacancy("0000002", **{"Start Date": "31/02/2022"}), vacancy("0000003")]
    drop(settings, "trac_vacancies.csv.gz", gzip.compress(csv_bytes(rows)))
    assert unclaimed_inbox_files(settings, (HR,)) == []  # taken, not left in the inbox for good
    [load] = land_inbox(settings, HR, VACANCIES, LOAD_DATE)
    assert (load.status, load.rows_landed, load.rows_quarantined) == ("landed", 2, 1)
    assert sorted(row[0] for row in landed(settings)) == ["0000001", "0000003"]
    with Path(load.quarantine_path).open(newline="") as handle:
        [bad] = list(csv.DictReader(handle))
    assert bad["line"] == "3" and "Start Date" in bad["reason"]  # the line of the decompressed text


def test_plugin_check_reads_a_compressed_extract_as_a_run_does(tmp_path):
    path = tmp_path / "trac_vacancies.csv.gz"
    path.write_bytes(gzip.compress(csv_bytes([vacancy("0000001"), vacancy("0000002")])))
    assert check_extract(HR, path) == []


def test_a_text_file_named_xlsx_is_named_a_text_file(tmp_path):
    path = tmp_path / "feedback.xlsx"
    path.write_bytes(b"ID,Start time,Completion time\n1,2022-03-15,2022-03-15\n")
    with duckdb.connect() as con, pytest.raises(ExtractError, match="it is a text file .* named .xlsx"):
        xlsx_reader()(path, con)


def workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                if value is not None:
                    sheet.write(r, c, value)
    book.close()
    return path


def test_a_title_above_a_workbooks_header_says_where_the_header_is(tmp_path):
    path = workbook(tmp_path / "feedback.xlsx", {"Sheet1": [
        ["Course feedback export"], [], ["ID", "Course", "Mode"], ["1", "Foundation day", "Online"]]})
    with duckdb.connect() as con, pytest.raises(ExtractError) as raised:
        xlsx_reader()(path, con)
    assert "the header seems to be on row 3: delete the rows above it" in str(raised.value)


def test_a_title_above_a_csv_header_says_where_the_header_is(settings):
    drop(settings, "trac_vacancies.csv", csv_bytes([vacancy("0000001")], above=[["Vacancy timeline report"]]))
    [load] = land_inbox(settings, HR, VACANCIES, LOAD_DATE)
    assert load.status == "rejected" and "the header seems to be on line 2: delete the lines above it" in load.problem


def test_a_csv_whose_header_is_nowhere_says_so(settings):
    drop(settings, "trac_vacancies.csv", b"Report,,\nnothing,here,\n")
    [load] = land_inbox(settings, HR, VACANCIES, LOAD_DATE)
    assert load.status == "rejected" and "the header is not on line 1" in load.problem


def test_data_on_another_sheet_names_the_sheet_read_and_the_sheets_there_are(tmp_path):
    empty_first = workbook(tmp_path / "a_feedback.xlsx", {"Cover": [], "Responses": [["ID", "Course"], ["1", "x"]]})
    with duckdb.connect() as con, pytest.raises(ExtractError) as raised:
        xlsx_reader()(empty_first, con)
    assert "worksheet 'Cover' is empty" in str(raised.value)
    assert "the workbook has worksheets 'Cover', 'Responses'" in str(raised.value)
    notes_first = workbook(tmp_path / "b_feedback.xlsx", {"Notes": [["About", "Exported by"], ["x", "y"]],
                                                          "Responses": [["ID", "Course"], ["1", "x"]]})
    problems = check_extract(FEEDBACK, notes_first)
    assert any("the workbook has worksheets 'Notes', 'Responses': is the data on another sheet?" in p.detail
               for p in problems), problems


def test_the_identifier_warning_names_identifiers_by_kind():
    assert identifier_words(ED.table("attendances")) == "NHS number"
    words = identifier_words(FEEDBACK.table("feedback_responses"))
    assert words.startswith("staff identifier") and "NHS" not in words


def test_files_no_run_will_load_are_alerted_once_a_day(settings):
    raise_unclaimed(settings, "nightly", ["hr_recruitment/notes.txt"], "2024-03-01")
    raise_unclaimed(settings, "nightly", ["hr_recruitment/notes.txt"], "2024-03-01")
    raise_unclaimed(settings, "nightly", ["hr_recruitment/notes.txt", "falls/log.csv"], "2024-03-01")
    messages = [alert.message for alert in read_alerts(settings)]
    assert len(messages) == 2 and all("no run will load" in m for m in messages)
    assert "falls/log.csv" in messages[1]


def test_the_summary_gives_the_commonest_quarantine_reasons_and_where_they_are(settings, tmp_path):
    folder = tmp_path / "quarantine" / "load_date=2024-03-01"
    folder.mkdir(parents=True)
    rows = ([("departure before arrival", str(n)) for n in range(5)]
            + [(f"unreadable timestamp '{n}/13/2023' in column Arrival", str(n)) for n in range(3)]
            + [("unknown value 'X' in column Site", "9"), ("acuity outside 1-5", "10")])
    with (folder / "a.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source_file", "line", "columns", "reason", "record"])
        writer.writerows([["x.csv", line, "c", reason, json.dumps({})] for reason, line in rows])
    assert quarantine_reasons([str(folder / "a.csv")]) == [
        ("departure before arrival", 5), ("unreadable timestamp '…' in column Arrival", 3),
        ("acuity outside 1-5", 1)]
    summary = RunSummary(run_id="abcdef0123456789", load_date="2024-03-01", success=True)
    summary.sources["ed/attendances"] = SourceSummary("ed/attendances", files_landed=1, rows_landed=90,
                                                      rows_quarantined=10, quarantine_files=[str(folder / "a.csv")])
    console = Console(record=True, width=400, color_system=None)
    print_summary(console, summary, settings)
    text = console.export_text()
    assert ("ed/attendances: 10 row(s) quarantined, commonest reasons: 5 × departure before arrival; 3 × "
            "unreadable timestamp '…' in column Arrival; 1 × acuity outside 1-5") in text
    assert str(folder) in text
