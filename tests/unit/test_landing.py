"""Landing an extract: typing, quarantine with file/line/reason, rejection of unusable files, and the
content hash as identity (the same file twice lands once)."""

import csv
import datetime as dt
import hashlib
import hmac
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from pipelines.landing import land_inbox, reland_archive, relanded_marker, unclaimed_inbox_files
from pipelines.settings import Settings
from plugins.contract import DAY_FORMATS, TIME_FORMATS, Column, Plugin, RowRule, Table
from plugins.hr_recruitment import PLUGIN as HR
from plugins.readers import csv_reader

LOAD_DATE = dt.date(2024, 3, 1)
HEADERS = ["Vacancy Reference", "Job Title", "Staff Group", "Band", "CSU Code", "Site", "Status", "Date Authorised",
           "Advert Published", "Closing Date", "Shortlisting Complete", "Interview Date", "Conditional Offer",
           "Pre-Employment Checks Complete", "Unconditional Offer", "Start Date"]


def vacancy(ref: str, **stages: str) -> dict[str, str]:
    row = dict.fromkeys(HEADERS, "")
    row.update({"Vacancy Reference": ref, "Job Title": "Porter", "Staff Group": "Estates and Ancillary",
                "Band": "Band 2", "CSU Code": "EAF", "Site": "LGI", "Status": "Filled",
                "Date Authorised": "03/01/2022 09:00", "Advert Published": "05/01/2022 10:30",
                "Closing Date": "19/01/2022", "Shortlisting Complete": "24/01/2022 16:00",
                "Interview Date": "01/02/2022", "Conditional Offer": "02/02/2022 11:00",
                "Pre-Employment Checks Complete": "01/03/2022", "Unconditional Offer": "07/03/2022 09:15",
                "Start Date": "04/04/2022"})
    row.update(stages)
    return row


def write_extract(folder: Path, name: str, rows: list[dict[str, str]], headers=HEADERS, bom=True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", pseudonymisation_key="test-key")
    settings.ensure_folders()
    return settings


def landed(settings: Settings, plugin: str = "hr_recruitment", table: str = "vacancies") -> list[tuple]:
    files = list((settings.landing / plugin / table).glob("load_date=*/*.parquet"))
    if not files:
        return []
    with duckdb.connect() as con:
        return con.execute("select * from read_parquet(?, union_by_name = true) order by _source_line",
                           [[str(f) for f in files]]).fetchall()


def quarantined(settings: Settings, plugin: str = "hr_recruitment") -> list[dict[str, str]]:
    rows = []
    for path in sorted((settings.quarantine / plugin).rglob("*.csv")):
        with path.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def test_dates_as_trac_writes_them_are_typed(settings):
    write_extract(settings.inbox / "hr_recruitment", "trac_vacancies.csv",
                  [vacancy("0000001"), vacancy("0000002", **{"Interview Date": "", "Conditional Offer": "",
                                                             "Pre-Employment Checks Complete": "",
                                                             "Unconditional Offer": "", "Start Date": ""})])
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert (load.status, load.rows_landed, load.rows_quarantined) == ("landed", 2, 0)
    with duckdb.connect() as con:
        row = con.execute("select shortlisting_complete_at, closing_date, unconditional_offer_at, _load_date "
                          "from read_parquet(?) where vacancy_id = '0000001'", [load.landing_path]).fetchall()[0]
        blank = con.execute("select unconditional_offer_at from read_parquet(?) where vacancy_id = '0000002'",
                            [load.landing_path]).fetchall()[0]
    assert row == (dt.datetime(2022, 1, 24, 16, 0), dt.date(2022, 1, 19), dt.datetime(2022, 3, 7, 9, 15), LOAD_DATE)
    assert blank == (None,)


def test_stage_out_of_order_is_quarantined_with_file_line_and_reason(settings):
    rows = [vacancy("0000001"), vacancy("0000002", **{"Unconditional Offer": "10/01/2022 09:00"}), vacancy("0000003")]
    write_extract(settings.inbox / "hr_recruitment", "trac_vacancies.csv", rows)
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert (load.rows_landed, load.rows_quarantined) == (2, 1)
    assert [r[0] for r in landed(settings)] == ["0000001", "0000003"]
    [bad] = quarantined(settings)
    assert bad["source_file"] == "trac_vacancies.csv"
    assert bad["line"] == "3"  # header is line 1
    assert bad["columns"] == "Unconditional Offer"
    assert "out of order" in bad["reason"] and "'Unconditional Offer'" in bad["reason"]


def test_unreadable_date_and_unknown_csu_are_quarantined(settings):
    rows = [vacancy("0000001", **{"Shortlisting Complete": "31/02/2022"}), vacancy("0000002", **{"CSU Code": "XYZ"}),
            vacancy("0000003")]
    write_extract(settings.inbox / "hr_recruitment", "trac_vacancies.csv", rows)
    land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    reasons = {r["line"]: r for r in quarantined(settings)}
    assert reasons["2"]["reason"] == "unreadable timestamp '31/02/2022' in column Shortlisting Complete"
    assert reasons["3"]["reason"] == "unknown value 'XYZ' in column CSU Code"
    assert [r[0] for r in landed(settings)] == ["0000003"]


def test_a_wrong_header_rejects_the_file_naming_it_and_the_column(settings):
    headers = [h for h in HEADERS if h != "Unconditional Offer"]
    write_extract(settings.inbox / "hr_recruitment", "trac_vacancies.csv", [vacancy("0000001")], headers=headers)
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert load.status == "rejected"
    assert load.problem.startswith("trac_vacancies.csv: wrong header for vacancies: missing column(s) "
                                   "'Unconditional Offer'")
    rejected = (settings.quarantine / "hr_recruitment" / "rejected" / f"load_date={LOAD_DATE}"
                / f"{load.content_sha256[:12]}__trac_vacancies.csv")
    assert rejected.exists() and "Unconditional Offer" in rejected.with_name(rejected.name + ".reason.txt").read_text()
    assert not any((settings.inbox / "hr_recruitment").iterdir())
    assert landed(settings) == []


def test_two_rejected_files_of_one_name_on_one_load_date_both_survive_with_their_reasons(settings):
    """Rejected extracts are never archived: a second rejected file of the same name that day must not replace the
    first (or its reason). Each is kept under its content hash; the same bytes rejected again are kept once."""
    inbox, vacancies = settings.inbox / "hr_recruitment", HR.table("vacancies")
    without = [h for h in HEADERS if h != "Unconditional Offer"]
    write_extract(inbox, "trac_vacancies.csv", [vacancy("0000001")], headers=without)
    [first] = land_inbox(settings, HR, vacancies, LOAD_DATE)
    write_extract(inbox, "trac_vacancies.csv", [vacancy("0000002")], headers=[h for h in HEADERS if h != "Band"])
    [second] = land_inbox(settings, HR, vacancies, LOAD_DATE)
    assert (first.status, second.status) == ("rejected", "rejected")
    assert first.content_sha256 != second.content_sha256
    # messages name the extract as it was dropped, not as it is kept
    assert first.problem.startswith("trac_vacancies.csv: ") and second.problem.startswith("trac_vacancies.csv: ")
    folder = settings.quarantine / "hr_recruitment" / "rejected" / f"load_date={LOAD_DATE}"
    kept = {load.content_sha256: folder / f"{load.content_sha256[:12]}__trac_vacancies.csv" for load in (first, second)}
    for sha, path in kept.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert "'Unconditional Offer'" in (folder / (kept[first.content_sha256].name + ".reason.txt")).read_text()
    assert "'Band'" in (folder / (kept[second.content_sha256].name + ".reason.txt")).read_text()

    write_extract(inbox, "trac_vacancies.csv", [vacancy("0000001")], headers=without)  # the first, dropped again
    [again] = land_inbox(settings, HR, vacancies, LOAD_DATE)
    assert again.content_sha256 == first.content_sha256 and not any(inbox.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        name for path in kept.values() for name in (path.name, path.name + ".reason.txt"))
    assert (folder / (kept[first.content_sha256].name + ".reason.txt")).read_text() == first.problem + "\n"


REPEATED = ",".join(HEADERS + ["Band"]).encode()
REPEATED_IN_ANOTHER_CASE = ",".join(HEADERS + ["band "]).encode()  # landing matches names trimmed, in any case
LINE_COLUMN = ",".join(HEADERS + ["_line"]).encode()
ROW = ",".join(["x"] * len(HEADERS)).encode()
LATIN_1_ON_LINE_4 = ",".join(HEADERS).encode() + b"\n" + ROW + b"\n" + ROW + b"\nCaf\xc9" + ROW[1:] + b"\n"
UNCLOSED_QUOTE = ",".join(HEADERS).encode() + b"\n" + ROW + b'\n"x' + ROW[1:] + b"\n" + ROW + b"\n"


@pytest.mark.parametrize("content, problem", [
    (b"", "the file is empty"),
    (b"PK\x03\x04\x14\x00\x06\x00\x8fbinary", "an Excel workbook (.xlsx) saved with a .csv name"),
    (b"\x00\x01binary", "it is not a text file (binary data"),
    (",".join(HEADERS).encode("utf-16"), "it is UTF-16 text"),
    (",".join(HEADERS).encode() + b"\r" + ROW + b"\r", "its lines end in a bare carriage return"),
    (REPEATED, "column header(s) repeated: Band"),
    (REPEATED_IN_ANOTHER_CASE, "column header(s) repeated: Band, band"),
    (LINE_COLUMN, "a column is named '_line'"),
    (LATIN_1_ON_LINE_4, "CSV Error on Line: 4; the line is not UTF-8 (export the file as UTF-8"),
    (UNCLOSED_QUOTE, "CSV Error on Line: 3; a quoted value is never closed"),
    (";".join(HEADERS).encode() + b"\n", "the header is separated by semicolons: export it separated by commas"),
    ("\t".join(f'"{h}"' for h in HEADERS).encode() + b"\n", "the header is separated by tabs"),
])
def test_unusable_files_are_rejected(settings, content, problem):
    folder = settings.inbox / "hr_recruitment"
    folder.mkdir(parents=True)
    (folder / "trac_vacancies.csv").write_bytes(content)
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert load.status == "rejected" and problem in load.problem and "trac_vacancies.csv" in load.problem
    assert "x,x" not in load.problem and "Caf" not in load.problem  # never the offending line itself


def test_quoted_fields_keep_their_delimiters_and_quotes(settings):
    row = vacancy("0000001", **{"Job Title": 'Porter, "night" shift'})
    write_extract(settings.inbox / "hr_recruitment", "trac_vacancies.csv", [row])
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert (load.status, load.rows_landed) == ("landed", 1)
    with duckdb.connect() as con:
        titles = con.execute("select job_title from read_parquet(?)", [load.landing_path]).fetchall()
    assert titles == [('Porter, "night" shift',)]


def test_the_same_file_twice_lands_once(settings):
    inbox = settings.inbox / "hr_recruitment"
    first = write_extract(inbox, "trac_vacancies.csv", [vacancy("0000001"), vacancy("0000002")])
    content = first.read_bytes()
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert load.content_sha256 == hashlib.sha256(content).hexdigest()
    (inbox / "trac_vacancies (copy).csv").write_bytes(content)
    [again] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE + dt.timedelta(days=1))
    assert (again.status, again.rows_landed) == ("duplicate", 0)
    assert len(landed(settings)) == 2
    assert not any(inbox.iterdir())  # both archived
    archived = sorted(p.name for p in (settings.archive / "hr_recruitment").rglob("*.csv"))
    assert len(archived) == 2


def test_a_backfill_lands_an_extract_dropped_under_two_names_once(settings):
    inbox = settings.inbox / "hr_recruitment"
    content = write_extract(inbox, "trac_vacancies.csv", [vacancy("0000001"), vacancy("0000002")]).read_bytes()
    (inbox / "trac_vacancies (copy).csv").write_bytes(content)
    loads = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert sorted(load.status for load in loads) == ["duplicate", "landed"]
    assert len(list((settings.archive / "hr_recruitment").rglob("*.csv"))) == 2  # archived under both names
    assert not relanded_marker(settings).exists()
    again = reland_archive(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert sorted((load.status, load.rows_landed) for load in again) == [("duplicate", 0), ("landed", 2)]
    assert len(landed(settings)) == 2
    # re-landed: the next dbt build rebuilds in full (a re-landed load may lack rows the models hold), whichever run
    assert "load date 2024-03-01 re-landed" in relanded_marker(settings).read_text()
    relanded_marker(settings).unlink()
    assert reland_archive(settings, HR, HR.table("vacancies"), LOAD_DATE + dt.timedelta(days=1)) == []
    assert not relanded_marker(settings).exists()  # nothing archived that day, nothing re-landed


def test_a_backfill_keeps_each_loads_first_landing_time_so_a_same_day_correction_still_wins(settings):
    """Two extracts of one load date: the day's extract, then a correction of one vacancy. The latest landed
    version of a record wins (by load date, then landing time): a backfill re-lands each at its first landing
    time, not at its own in the archive's order (by content hash), which would let the corrected extract win."""
    inbox, vacancies = settings.inbox / "hr_recruitment", HR.table("vacancies")
    write_extract(inbox, "trac_vacancies.csv", [vacancy("0000001", **{"Job Title": "Clinical Psychologist"}),
                                                vacancy("0000002")])
    land_inbox(settings, HR, vacancies, LOAD_DATE)
    write_extract(inbox, "trac_vacancies_correction.csv",
                  [vacancy("0000001", **{"Job Title": "Senior Clinical Psychologist"})])
    land_inbox(settings, HR, vacancies, LOAD_DATE)
    latest = ("select job_title from read_parquet('{root}/load_date=*/*.parquet') where vacancy_id = '0000001' "
              "order by _load_date desc, _loaded_at desc limit 1")
    root = settings.landing / "hr_recruitment" / "vacancies"

    def landing_times() -> dict[str, object]:
        with duckdb.connect() as con:
            return dict(con.execute(f"select _source_file, max(_loaded_at) from read_parquet('{root}/load_date=*/"
                                    f"*.parquet') group by all").fetchall())

    first = landing_times()
    assert first["trac_vacancies.csv"] < first["trac_vacancies_correction.csv"]
    for legacy in (False, True):  # a load record that kept no landing time: taken from the landed rows
        if legacy:
            for record in root.glob("load_date=*/*.load.json"):
                record.write_text(json.dumps({k: v for k, v in json.loads(record.read_text()).items()
                                              if k != "loaded_at"}))
        loads = reland_archive(settings, HR, vacancies, LOAD_DATE)
        assert [load.status for load in loads] == ["landed", "landed"]
        assert landing_times() == first
        with duckdb.connect() as con:
            assert con.execute(latest.format(root=root)).fetchall() == [("Senior Clinical Psychologist",)]
    records = {json.loads(r.read_text())["source_file"]: json.loads(r.read_text())["loaded_at"]
               for r in root.glob("load_date=*/*.load.json")}
    assert records == {name: str(stamp) for name, stamp in first.items()}


def test_landing_under_another_pseudonymisation_key_is_refused_until_the_key_is_restored_or_changed_on_purpose(
        settings):
    """Every load must be pseudonymised under one key, or the same patient carries two pseudonyms without a word."""
    from pipelines.landing import KEY_ID, KeyMismatch, key_id

    inbox, vacancies = settings.inbox / "hr_recruitment", HR.table("vacancies")
    write_extract(inbox, "trac_vacancies.csv", [vacancy("0000001")])
    land_inbox(settings, HR, vacancies, LOAD_DATE)
    recorded = settings.landing / KEY_ID
    assert recorded.read_text().strip() == key_id(settings.hmac_key()) != key_id(b"another key")
    rotated = settings.model_copy(update={"pseudonymisation_key": "another key"})
    tonight = write_extract(inbox, "trac_vacancies_2.csv", [vacancy("0000002")])
    with pytest.raises(KeyMismatch) as refused:
        land_inbox(rotated, HR, vacancies, LOAD_DATE + dt.timedelta(days=1))
    assert f"(id {key_id(settings.hmac_key())}, in {recorded})" in str(refused.value)
    assert f"delete {recorded} and re-land every load date under the new key: kpo backfill --start 2024-03-01 " \
           "--end 2024-03-01" in str(refused.value)
    assert tonight.exists() and len(landed(settings)) == 1  # nothing landed, the extract waits in the inbox
    with pytest.raises(KeyMismatch):
        reland_archive(rotated, HR, vacancies, LOAD_DATE)
    recorded.unlink()  # changed on purpose: then every load date is re-landed under the new key
    [relanded] = reland_archive(rotated, HR, vacancies, LOAD_DATE)
    assert relanded.status == "landed" and recorded.read_text().strip() == key_id(b"another key")
    [load] = land_inbox(rotated, HR, vacancies, LOAD_DATE + dt.timedelta(days=1))
    assert load.status == "landed" and len(landed(settings)) == 2


def test_inbox_files_no_run_will_load_are_named(settings):
    inbox = settings.inbox
    write_extract(inbox / "hr_recruitment", "trac_vacancies.csv", [vacancy("0000001")])  # loads
    for name in ("hr_recruitment/notes.txt", "hr_recruitment/vacancies_export.xlsx", "falls/falls_log.csv",
                 "stray.csv", "hr_recruitment/sub/trac_vacancies.csv"):
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_text("x")
    for name in ("hr_recruitment/.trac_vacancies.csv", "hr_recruitment/trac_vacancies.csv.part"):
        (inbox / name).write_text("x")  # hidden, or an upload in progress: not yet meant to load
    unclaimed = unclaimed_inbox_files(settings, (HR,))
    assert unclaimed == ["falls/falls_log.csv", "hr_recruitment/notes.txt", "hr_recruitment/sub/trac_vacancies.csv",
                         "hr_recruitment/vacancies_export.xlsx", "stray.csv"]
    land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert len(unclaimed_inbox_files(settings, (HR,))) == len(unclaimed)  # a run leaves them, so each run names them


def test_line_numbers_hold_deep_into_a_large_file(settings):
    rows = [vacancy(f"{i:07d}") for i in range(1, 30001)]
    rows[25000] = vacancy("0025001", **{"Start Date": "01/01/2021"})  # before the offer: line 25002
    write_extract(settings.inbox / "hr_recruitment", "trac_vacancies.csv", rows)
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert (load.rows_landed, load.rows_quarantined) == (29999, 1)
    assert quarantined(settings)[0]["line"] == "25002"


PATIENTS = Table(
    name="visits", description="test", file_pattern="*.csv", reader=csv_reader(), primary_key=("visit_id",),
    event_date="visit_date",
    columns=(Column("visit_id", "string", "", required=True),
             Column("nhs_number", "string", "", header="NHS Number", identifier="nhs_number"),
             Column("visit_date", "date", "", required=True),
             Column("minutes", "integer", "", minimum=0, maximum=600)),
    rules=(RowRule("visit in the future", "visit_date > date '2030-01-01'", ("visit_date",)),),
)


def test_identifiers_are_pseudonymised_everywhere_and_flagged_when_bad(settings, tmp_path):
    plugin = Plugin(name="clinic", version="0", description="", source_system="", tables=(PATIENTS,), metrics=(),
                    generate=lambda request: [], models_dir=tmp_path, expectations_dir=tmp_path)
    folder = settings.inbox / "clinic"
    folder.mkdir(parents=True)
    (folder / "visits.csv").write_text(
        "visit_id,NHS Number,visit_date,minutes\n"
        "a,943 476 5919,01/02/2024,30\n"
        "b,,01/02/2024,20\n"
        "c,9434765918,01/02/2024,10\n"
        "d,4010232137,01/02/2031,10\n"
        "e,4010232137,01/02/2024,900\n")
    [load] = land_inbox(settings, plugin, PATIENTS, LOAD_DATE)
    assert (load.rows_landed, load.rows_quarantined, load.identifier_flags) == (3, 2, 2)
    rows = {r[0]: r for r in landed(settings, "clinic", "visits")}
    expected = hmac.new(b"test-key", b"9434765919", hashlib.sha256).hexdigest()
    assert rows["a"][1:3] == (expected, "valid")
    assert rows["b"][1:3] == (None, "missing")
    assert rows["c"][1:3] == (None, "invalid")
    reasons = {r["line"]: r["reason"] for r in quarantined(settings, "clinic")}
    assert reasons == {"5": "visit in the future", "6": "value 900 above 600 in column minutes"}
    for path in [*settings.landing.rglob("*"), *settings.quarantine.rglob("*")]:
        if path.is_file():
            text = path.read_bytes()
            assert b"4010232137" not in text and b"9434765919" not in text and b"943 476 5919" not in text


def test_an_optional_column_may_be_absent_and_lands_empty(settings, tmp_path):
    table = Table(name="visits", description="test", file_pattern="*.csv", reader=csv_reader(),
                  primary_key=("visit_id",), event_date="visit_date",
                  columns=(Column("visit_id", "string", "", required=True),
                           Column("visit_date", "date", "", required=True),
                           Column("ward", "string", "", header="Ward", optional=True)))
    plugin = Plugin(name="clinic", version="0", description="", source_system="", tables=(table,), metrics=(),
                    generate=lambda request: [], models_dir=tmp_path, expectations_dir=tmp_path)
    folder = settings.inbox / "clinic"
    folder.mkdir(parents=True)
    (folder / "visits.csv").write_text("visit_id,visit_date\na,01/02/2024\n")
    [load] = land_inbox(settings, plugin, table, LOAD_DATE)
    assert (load.status, load.rows_landed) == ("landed", 1)
    assert load.warnings == ("visits.csv: optional column 'Ward' is absent and lands empty",)
    assert [r[:3] for r in landed(settings, "clinic", "visits")] == [("a", dt.date(2024, 2, 1), None)]


def test_a_file_still_being_written_stays_in_the_inbox_until_it_has_rested(settings):
    inbox = settings.inbox / "hr_recruitment"
    path = write_extract(inbox, "trac_vacancies.csv", [vacancy("0000001"), vacancy("0000002")])
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE, min_age_seconds=60)
    assert load.status == "waiting" and "left in the inbox for a later run" in load.problem
    assert path.exists() and landed(settings) == [] and not list(settings.archive.rglob("*.csv"))
    rested = path.stat().st_mtime - 120
    os.utime(path, (rested, rested))  # two minutes untouched: whole
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE, min_age_seconds=60)
    assert (load.status, load.rows_landed) == ("landed", 2) and not path.exists()


def test_a_file_written_to_while_it_is_landed_keeps_nothing_and_stays(settings, monkeypatch):
    inbox = settings.inbox / "hr_recruitment"
    path = write_extract(inbox, "trac_vacancies.csv", [vacancy("0000001"), vacancy("0000002")])
    from pipelines import landing

    def count_then_append(*args):  # the writer adds rows after landing read the first ones
        with path.open("a", newline="", encoding="utf-8") as handle:
            csv.DictWriter(handle, fieldnames=HEADERS).writerow(vacancy("0000003"))
        return original(*args)

    original = landing.identifier_flag_count
    monkeypatch.setattr(landing, "identifier_flag_count", count_then_append)
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert load.status == "waiting" and "changed while it was being landed" in load.problem
    assert path.exists() and landed(settings) == []
    assert not list(settings.landing.rglob("load_date=*/*")) and not list(settings.quarantine.rglob("*.csv"))
    monkeypatch.setattr(landing, "identifier_flag_count", original)
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)  # the next run takes all three
    assert (load.status, load.rows_landed) == ("landed", 3)


EVENTS = Table(
    name="events", description="test", file_pattern="*.csv", reader=csv_reader(), primary_key=("event_id",),
    event_date="happened_at",
    columns=(Column("event_id", "string", "", required=True),
             Column("happened_at", "timestamp", "", header="Happened", formats=("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"),
                    not_future=True),
             Column("booked_for", "date", "", header="Booked For"),
             Column("acuity", "integer", "", header="Acuity"),
             Column("score", "number", "", header="Score")),
)


def land_events(settings, tmp_path, lines: list[str]) -> dict[str, str]:
    """Land `lines` under the EVENTS header: the landed ids, and each quarantined id's reason."""
    plugin = Plugin(name="clinic", version="0", description="", source_system="", tables=(EVENTS,), metrics=(),
                    generate=lambda request: [], models_dir=tmp_path, expectations_dir=tmp_path)
    folder = settings.inbox / "clinic"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.csv").write_text("event_id,Happened,Booked For,Acuity,Score\n" + "\n".join(lines) + "\n")
    land_inbox(settings, plugin, EVENTS, LOAD_DATE)
    outcome = {row[0]: "landed" for row in landed(settings, "clinic", "events")}
    for row in quarantined(settings, "clinic"):  # the quarantine file holds the raw record, as JSON
        outcome[json.loads(row["record"])["event_id"]] = row["reason"]
    return outcome


def test_dates_times_and_integers_not_in_a_declared_shape_are_unreadable_never_guessed(settings, tmp_path):
    outcome = land_events(settings, tmp_path, [
        "ok,2023-12-01 01:07:00,01/10/2024,2,2.5",
        "short_time,2023-12-01 01:07,1/10/2024,2,",      # a declared format; day and month may drop their zero
        "bare_date,2023-12-01,,,",                       # a cast would read midnight
        "offset,2023-12-01 01:07:00+05,,,",              # a cast would drop the offset
        "midnight_24,2023-12-01 24:00:00,,,",            # a cast would read the next day
        "unpadded,2023-1-2 3:04,,,",                   # unpadded fields read as written: 2 January, 03:04
        "two_digit_year,2023-12-01 01:07:00,01/10/20,,",  # strptime's %Y reads the year 20
        "half_integer,2023-12-01 01:07:00,,2.5,",          # a cast rounds it to 3
        "hex_integer,2023-12-01 01:07:00,,0x3,",
        "infinite,2023-12-01 01:07:00,,,inf",
    ])
    assert outcome.pop("ok") == outcome.pop("short_time") == outcome.pop("unpadded") == "landed"
    times = {row[0]: row[1] for row in landed(settings, "clinic", "events")}
    assert times["unpadded"] == dt.datetime(2023, 1, 2, 3, 4) and times["short_time"] == dt.datetime(2023, 12, 1, 1, 7)
    expected = {"bare_date": "unreadable timestamp '2023-12-01' in column Happened (a date with no time of day)",
                "offset": "unreadable timestamp '2023-12-01 01:07:00+05' in column Happened",
                "midnight_24": "unreadable timestamp '2023-12-01 24:00:00' in column Happened",
                "two_digit_year": "unreadable date '01/10/20' in column Booked For",
                "half_integer": "unreadable integer '2.5' in column Acuity",
                "hex_integer": "unreadable integer '0x3' in column Acuity",
                "infinite": "unreadable number 'inf' in column Score"}
    assert outcome == expected


def test_a_time_needs_its_time_of_day_unless_the_column_reads_a_day_alone(settings, tmp_path):
    """By default a bare date is no time (read as midnight, a discharge that day would count "before noon"); a
    column whose rules need only the day declares formats that read one."""
    discharges = Table(
        name="discharges", description="test", file_pattern="*.csv", reader=csv_reader(), primary_key=("spell",),
        event_date="discharged_at",
        columns=(Column("spell", "string", "", required=True),
                 Column("discharged_at", "timestamp", "", header="Discharged"),
                 Column("recorded_at", "timestamp", "", header="Recorded", formats=(*TIME_FORMATS, *DAY_FORMATS))))
    plugin = Plugin(name="ward", version="0", description="", source_system="", tables=(discharges,), metrics=(),
                    generate=lambda request: [], models_dir=tmp_path, expectations_dir=tmp_path)
    folder = settings.inbox / "ward"
    folder.mkdir(parents=True)
    (folder / "discharges.csv").write_text("spell,Discharged,Recorded\nS1,22/02/2025 11:59,22/02/2025\n"
                                           "S2,22/02/2025, 2025-02-23 \nS3,2025-02-22T12:00:00,\n")
    [load] = land_inbox(settings, plugin, discharges, LOAD_DATE)
    assert (load.rows_landed, load.rows_quarantined) == (2, 1)
    assert {row[0]: row[1:3] for row in landed(settings, "ward", "discharges")} == {
        "S1": (dt.datetime(2025, 2, 22, 11, 59), dt.datetime(2025, 2, 22)),
        "S3": (dt.datetime(2025, 2, 22, 12, 0), None)}
    [bad] = quarantined(settings, "ward")
    assert (bad["line"], bad["reason"]) == ("3", "unreadable timestamp '22/02/2025' in column Discharged "
                                                 "(a date with no time of day)")


def test_a_not_future_time_after_tomorrow_is_quarantined(settings, tmp_path):
    today = settings.today()
    tomorrow_evening = f"{today + dt.timedelta(days=1)} 23:59:00"
    after_tomorrow = f"{today + dt.timedelta(days=2)} 00:00:00"
    outcome = land_events(settings, tmp_path, [f"tomorrow,{tomorrow_evening},,,", f"later,{after_tomorrow},,,",
                                               "far,2099-12-01 10:00:00,2099-12-01,,"])
    assert outcome == {"tomorrow": "landed",  # a day's grace for clocks and time zones
                       "later": f"timestamp {after_tomorrow} is in the future in column Happened",
                       "far": "timestamp 2099-12-01 10:00:00 is in the future in column Happened"}


def test_a_backfill_judges_not_future_values_against_the_day_the_extract_was_first_landed(settings, tmp_path,
                                                                                           monkeypatch):
    """Re-landing a day gives what landing it gave, whenever the backfill runs: a time after the day the
    extract arrived (plus the day's grace) stays quarantined, though it is in the past by the backfill."""
    plugin = Plugin(name="clinic", version="0", description="", source_system="", tables=(EVENTS,), metrics=(),
                    generate=lambda request: [], models_dir=tmp_path, expectations_dir=tmp_path)

    monkeypatch.setattr(Settings, "today", lambda self: dt.date(2024, 3, 1))  # the nightly run of 1 March 2024
    outcome = land_events(settings, tmp_path, ["kept,2024-03-02 23:00:00,,,", "later,2024-03-03 00:00:00,,,"])
    assert outcome == {"kept": "landed",
                       "later": "timestamp 2024-03-03 00:00:00 is in the future in column Happened"}
    monkeypatch.undo()  # months later, a backfill of that day: 3 March is long past, and still after the arrival
    [record] = settings.landing.rglob("*.load.json")
    assert json.loads(record.read_text())["received_on"] == "2024-03-01"
    reland_archive(settings, plugin, EVENTS, LOAD_DATE)
    assert [row[0] for row in landed(settings, "clinic", "events")] == ["kept"]
    assert [json.loads(row["record"])["event_id"] for row in quarantined(settings, "clinic")] == ["later"]
    assert json.loads(record.read_text())["received_on"] == "2024-03-01"  # and again on the next backfill
    # a load whose record does not say (landed before records kept it): its load date, the nightly run's day
    record.write_text(json.dumps({key: value for key, value in json.loads(record.read_text()).items()
                                  if key != "received_on"}))
    reland_archive(settings, plugin, EVENTS, LOAD_DATE)
    assert [row[0] for row in landed(settings, "clinic", "events")] == ["kept"]


def test_an_excel_error_is_quarantined_naming_it_never_landed_as_blank_or_text(settings, tmp_path):
    """python-calamine reads an error cell as empty: a failed formula must not become a blank value, and the
    error's text (a CSV saved from Excel, or typed) must not land as a ward's name."""
    import xlsxwriter

    from plugins.readers import xlsx_reader

    table = Table(name="notes", description="test", file_pattern="*.xlsx", reader=xlsx_reader(),
                  primary_key=("note_id",), event_date="written",
                  columns=(Column("note_id", "string", "", header="Note", required=True),
                           Column("ward", "string", "", header="Ward"),
                           Column("score", "number", "", header="Score"),
                           Column("written", "date", "", header="Written"),
                           Column("nhs_number", "string", "", header="NHS Number", identifier="nhs_number"),
                           Column("note", "string", "", header="Comment", free_text=True)))
    plugin = Plugin(name="clinic", version="0", description="", source_system="", tables=(table,), metrics=(),
                    generate=lambda request: [], models_dir=tmp_path, expectations_dir=tmp_path)
    folder = settings.inbox / "clinic"
    folder.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(folder / "notes.xlsx"))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Note", "Ward", "Score", "Written", "NHS Number", "Comment"])
    sheet.write_column(1, 3, ["2024-01-05"] * 5)
    # a failed look-up of the NHS number keeps its row, flagged invalid (docs/identifiers.md: dropping it would
    # undercount); a free-text comment no metric reads keeps its row too
    sheet.write_formula(2, 4, "=NA()", None, "#N/A")
    sheet.write_string(2, 5, "#VALUE!")
    sheet.write_row(1, 0, ["ok", "Ward 4", 2])
    sheet.write_row(2, 0, ["hashtag", "#4 (old numbering)", 3])  # text that starts with # is text
    sheet.write_row(3, 0, ["divided", "Ward 5"])
    sheet.write_formula(3, 2, "=1/0", None, "#DIV/0!")
    sheet.write(4, 0, "looked_up")
    sheet.write_formula(4, 1, "=NA()", None, "#N/A")
    sheet.write_string(5, 0, "typed")
    sheet.write_string(5, 1, "#REF!")
    book.close()
    [load] = land_inbox(settings, plugin, table, LOAD_DATE)
    assert (load.status, load.rows_landed, load.rows_quarantined) == ("landed", 2, 3)
    assert {row[0]: row[1:3] + row[5:7] for row in landed(settings, "clinic", "notes")} == {
        "ok": ("Ward 4", 2.0, "missing", None), "hashtag": ("#4 (old numbering)", 3.0, "invalid", "#VALUE!")}
    assert {json.loads(row["record"])["Note"]: (row["line"], row["columns"], row["reason"])
            for row in quarantined(settings, "clinic")} == {
        "divided": ("4", "Score", "unreadable number '#DIV/0!' in column Score"),
        "looked_up": ("5", "Ward", "Excel error #N/A in column Ward"),
        "typed": ("6", "Ward", "Excel error #REF! in column Ward")}


@pytest.mark.parametrize("header, problem", [
    (["response_id", "course", "course"], "column header(s) repeated: course"),
    (["response_id", "course", None], "worksheet 'Sheet1' column(s) 3 hold values but have no header"),
    (["response_id", "_line"], "a column is named '_line'"),
    ([None, None], "first row is blank: the header must be on row 1"),
])
def test_a_workbook_whose_headers_cannot_tell_its_columns_apart_is_refused(tmp_path, header, problem):
    import xlsxwriter

    from plugins.readers import ExtractError, xlsx_reader

    path = tmp_path / "feedback.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for row, values in enumerate([header, ["r1", "Foundation day", "Bespoke session"][:len(header)]]):
        for column, value in enumerate(values):
            if value is not None:
                sheet.write(row, column, value)
    book.close()
    with duckdb.connect() as con, pytest.raises(ExtractError, match=re.escape(problem)):
        xlsx_reader()(path, con)


def test_an_empty_workbook_file_is_named_empty(tmp_path):
    from plugins.readers import ExtractError, xlsx_reader

    (tmp_path / "feedback.xlsx").write_bytes(b"")
    with duckdb.connect() as con, pytest.raises(ExtractError, match="the file is empty"):
        xlsx_reader()(tmp_path / "feedback.xlsx", con)


def test_a_workbook_column_without_header_or_values_is_an_empty_stretch(tmp_path):
    import xlsxwriter

    from plugins.readers import xlsx_reader

    path = tmp_path / "feedback.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["response_id", "course"])
    sheet.write_row(1, 0, ["r1", "Foundation day"])
    sheet.write(0, 3, "")  # formatting beyond the data: blank cells calamine still reads
    sheet.write_blank(1, 3, None, book.add_format({"bold": True}))
    book.close()
    with duckdb.connect() as con:
        assert xlsx_reader()(path, con).columns == ["_line", "response_id", "course"]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_line_numbers_are_the_files_own_past_blank_lines_and_line_breaks_in_values(settings, delimiter):
    import dataclasses
    import io

    table = dataclasses.replace(HR.table("vacancies"), reader=csv_reader(delimiter))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=HEADERS, lineterminator="\n", delimiter=delimiter)
    writer.writeheader()
    writer.writerow(vacancy("0000001"))                                       # line 2
    text.write("\n")                                                          # line 3: blank
    writer.writerow(vacancy("0000002", **{"Job Title": "Porter\nNights"}))   # lines 4 and 5
    writer.writerow(vacancy("0000003", **{"CSU Code": "XYZ"}))                # line 6
    folder = settings.inbox / "hr_recruitment"
    folder.mkdir(parents=True)
    (folder / "trac_vacancies.csv").write_text(text.getvalue())
    [load] = land_inbox(settings, HR, table, LOAD_DATE)
    assert (load.rows_landed, load.rows_quarantined) == (2, 1)
    assert [row["line"] for row in quarantined(settings)] == ["6"]
    with duckdb.connect() as con:
        lines = con.execute("select vacancy_id, _source_line from read_parquet(?) order by 1",
                            [load.landing_path]).fetchall()
    assert lines == [("0000001", 2), ("0000002", 4)]


def test_a_header_only_extract_lands_nothing_and_says_so(settings):
    write_extract(settings.inbox / "hr_recruitment", "trac_vacancies.csv", [])
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert (load.status, load.rows_landed) == ("landed", 0)
    assert load.warnings == ("trac_vacancies.csv: no rows after the header (an empty extract)",)


def test_a_column_renamed_in_the_declaration_is_not_read_from_older_loads_and_they_are_named(settings, tmp_path):
    """An analyst renames harm_level to harm: the loads landed before still hold harm_level. A model still naming
    harm_level must fail (it would read the older loads' values, and blanks for every newer one), and the older
    loads are named with the command that re-lands them."""
    import yaml

    from pipelines.dbt_assembly import sources_yaml
    from pipelines.landing import declaration_drift
    from tests.helpers import falls_declaration

    folder = settings.inbox / "falls"
    folder.mkdir(parents=True)
    before, after = falls_declaration("harm_level", True, tmp_path), falls_declaration("harm", True, tmp_path)
    (folder / "falls_1.csv").write_text("Event ID,Occurred,Harm\nE1,2024-02-01,severe\n")
    land_inbox(settings, *before, dt.date(2024, 2, 1))
    (folder / "falls_2.csv").write_text("Event ID,Occurred,Harm\nE2,2024-02-27,none\n")
    land_inbox(settings, *after, LOAD_DATE)

    [source] = yaml.safe_load(sources_yaml(settings, after[0]))["sources"][0]["tables"]
    location = source["meta"]["external_location"]
    with duckdb.connect() as con:
        assert con.execute(f"select event_id, harm from {location} order by 1").fetchall() == [
            ("E1", None), ("E2", "none")]
        with pytest.raises(duckdb.BinderException, match="harm_level"):
            con.execute(f"select harm_level from {location}")
    drift = declaration_drift(settings, *after)
    assert (drift.load_dates, drift.files, drift.missing, drift.required) == (("2024-02-01",), 1, ("harm",), ("harm",))
    assert "re-land them under this declaration: kpo backfill --start 2024-02-01 --end 2024-02-01;" in str(drift)
    assert declaration_drift(settings, *before) is not None  # the newer load lacks harm_level
    assert declaration_drift(settings, *falls_declaration("harm", False, tmp_path)).required == ()
    # declared optional: most likely new to the extract, and nothing needs doing (unless it was renamed)
    plugin, table = falls_declaration("harm", False, tmp_path)
    optional = replace(table, columns=tuple(replace(c, optional=c.name == "harm") for c in table.columns))
    drift = declaration_drift(settings, replace(plugin, tables=(optional,)), optional)
    assert drift.optional and "optional=True" not in str(drift)
    assert str(drift).endswith(". Nothing to do if it is new to the extract; if their extracts hold it under another "
                               "name, re-land them under this declaration: kpo backfill --start 2024-02-01 --end "
                               "2024-02-01")
    reland_archive(settings, *after, dt.date(2024, 2, 1))  # what `kpo backfill` does for that date
    assert declaration_drift(settings, *after) is None


def test_the_landed_source_reads_before_a_tables_first_load_and_a_column_declared_after_every_load(settings,
                                                                                                   tmp_path):
    """A plugin added today builds before its first extract arrives (no rows, every declared column), and a
    column declared after every landed load reads blank for them, not as a missing column that fails the build."""
    import yaml

    from pipelines.dbt_assembly import sources_yaml
    from pipelines.landing import ensure_schema_file
    from tests.helpers import falls_declaration

    def read(plugin: Plugin, query: str) -> list[tuple]:
        ensure_schema_file(settings, plugin, plugin.tables[0])  # what assembling the dbt project does
        [source] = yaml.safe_load(sources_yaml(settings, plugin))["sources"][0]["tables"]
        with duckdb.connect() as con:
            return con.execute(query.format(source=source["meta"]["external_location"])).fetchall()

    before, after = falls_declaration("harm_level", True, tmp_path), falls_declaration("harm", False, tmp_path)
    assert read(before[0], "select count(*), count(event_id), count(harm_level) from {source}") == [(0, 0, 0)]
    folder = settings.inbox / "falls"
    folder.mkdir(parents=True)
    (folder / "falls_1.csv").write_text("Event ID,Occurred,Harm\nE1,2024-02-01,severe\n")
    [load] = land_inbox(settings, *before, LOAD_DATE)
    assert load.status == "landed"
    assert read(after[0], "select event_id, occurred_on, harm from {source}") == [("E1", dt.date(2024, 2, 1), None)]


def test_landed_columns_are_read_from_each_footer_once_and_again_when_the_load_is_re_landed(settings, tmp_path,
                                                                                           monkeypatch):
    import pyarrow.parquet as pq

    from pipelines.landing import landed_columns, landed_load_date, table_dir
    from tests.helpers import falls_declaration

    plugin, table = falls_declaration("harm", False, tmp_path)
    (settings.inbox / "falls").mkdir(parents=True)
    for day in (1, 2):
        extract = settings.inbox / "falls" / f"falls_{day}.csv"
        extract.write_text(f"Event ID,Occurred,Harm\nE{day},2024-02-0{day},none\n")
        land_inbox(settings, plugin, table, dt.date(2024, 2, day))
    first = landed_columns(settings, plugin, table)
    assert len(first) == 2 and all("harm" in names for names in first.values())
    read = []
    monkeypatch.setattr(pq, "read_schema", lambda path: read.append(path) or pq.ParquetFile(path).schema_arrow)
    assert landed_columns(settings, plugin, table) == first and read == []  # from the index alone
    [reload] = reland_archive(settings, plugin, table, dt.date(2024, 2, 2))  # a backfill replaces that load's file
    # read from archive/falls/load_date=2024-02-02/, and that folder is not taken for a column of the extract
    assert reload.status == "landed" and reload.warnings == ()
    assert landed_columns(settings, plugin, table) == first
    assert [landed_load_date(path) for path in read] == ["2024-02-02"]
    index = table_dir(settings, plugin, table) / "_landed_columns.json"
    index.write_text("{not json")  # only a cache: rebuilt from the footers
    assert landed_columns(settings, plugin, table) == first and len(read) == 3
    assert json.loads(index.read_text())


def test_a_backfill_cannot_land_a_column_new_to_the_extract_and_says_so_keeping_the_extract(settings, tmp_path):
    import dataclasses

    from pipelines.landing import declaration_drift
    from tests.helpers import falls_declaration

    plugin, table = falls_declaration("harm", False, tmp_path)
    (settings.inbox / "falls").mkdir(parents=True)
    (settings.inbox / "falls" / "falls_1.csv").write_text("Event ID,Occurred,Harm\nE1,2024-02-01,severe\n")
    land_inbox(settings, plugin, table, dt.date(2024, 2, 1))
    ward = dataclasses.replace(table, columns=(*table.columns, Column("ward", "string", "", header="Ward",
                                                                       required=True)))
    drift = declaration_drift(settings, dataclasses.replace(plugin, tables=(ward,)), ward)
    assert drift.required == ("ward",) and str(drift).endswith("if it is new to the extract, declare it "
                                                                "optional=True and not required")
    [load] = reland_archive(settings, dataclasses.replace(plugin, tables=(ward,)), ward, dt.date(2024, 2, 1))
    assert load.status == "rejected" and "missing column(s) 'Ward'" in load.problem
    assert load.problem.endswith("(the extract stays archived)")
    assert list((settings.archive / "falls" / "load_date=2024-02-01").glob("*__falls_1.csv"))


def test_a_nights_extracts_land_in_the_order_they_arrived_so_the_later_version_of_a_record_wins(settings):
    """Two extracts dropped the same night with the same vacancy: the one written later is the later version,
    whatever the two files are called (in name order, the resend would have landed last and won)."""
    inbox, vacancies = settings.inbox / "hr_recruitment", HR.table("vacancies")
    resend = write_extract(inbox, "trac_vacancies_resend.csv", [vacancy("0000001", **{"Job Title": "Porter"})])
    correction = write_extract(inbox, "trac_vacancies_correction.csv",
                               [vacancy("0000001", **{"Job Title": "Senior Porter"})])
    os.utime(resend, (1_700_000_000, 1_700_000_000))
    os.utime(correction, (1_700_000_600, 1_700_000_600))
    loads = land_inbox(settings, HR, vacancies, LOAD_DATE)
    assert [load.source_file for load in loads] == ["trac_vacancies_resend.csv", "trac_vacancies_correction.csv"]
    root = settings.landing / "hr_recruitment" / "vacancies"
    with duckdb.connect() as con:
        assert con.execute(f"select job_title from read_parquet('{root}/load_date=*/*.parquet') "
                           "order by _load_date desc, _loaded_at desc limit 1").fetchall() == [("Senior Porter",)]


def test_an_extract_with_too_many_bad_rows_is_rejected_whole_naming_its_failing_columns(settings):
    """An export whose times gained milliseconds (re-saved from SQL Server, say) would quarantine every row: the
    run would land nothing of the month and publish it empty. It is rejected whole instead, naming the columns,
    and nothing is written; a few bad rows in a small extract, or a small share of a large one, are data errors."""
    inbox, vacancies = settings.inbox / "hr_recruitment", HR.table("vacancies")
    millis = {"Date Authorised": "03/01/2022 09:00:00.000"}
    write_extract(inbox, "trac_vacancies.csv", [vacancy(f"{n:07d}", **millis) for n in range(1, 12)]
                  + [vacancy("0000012")])
    [load] = land_inbox(settings, HR, vacancies, LOAD_DATE)
    assert load.status == "rejected"
    assert load.problem == (
        "trac_vacancies.csv: 11 of 12 rows would be quarantined (92 %, above vacancies's limit of 20 %): an export in "
        "a shape the plugin does not read (a new date format, a file re-saved by Excel), more likely than errors in "
        "the data. Failing columns: Date Authorised: 11 row(s) from line 2. Nothing of it lands; `kpo plugin check "
        "hr_recruitment --file <the extract>` lists every row's reason. Correct the export, or the plugin's "
        "declaration, and land it again")
    assert landed(settings) == [] and not list((settings.quarantine / "hr_recruitment" / "vacancies").rglob("*.csv"))
    rejected = settings.quarantine / "hr_recruitment" / "rejected" / f"load_date={LOAD_DATE}"
    assert (rejected / f"{load.content_sha256[:12]}__trac_vacancies.csv").exists()

    write_extract(inbox, "trac_vacancies_correction.csv", [vacancy(f"{n:07d}", **millis) for n in range(1, 10)])
    write_extract(inbox, "trac_vacancies_week.csv", [vacancy(f"{n:07d}", **millis) for n in range(20, 30)]
                  + [vacancy(f"{n:07d}") for n in range(30, 71)])
    loads = {load.source_file: load for load in land_inbox(settings, HR, vacancies, LOAD_DATE)}
    assert {name: (load.status, load.rows_landed, load.rows_quarantined) for name, load in loads.items()} == {
        "trac_vacancies_correction.csv": ("landed", 0, 9),   # fewer than 10 bad rows: data errors
        "trac_vacancies_week.csv": ("landed", 41, 10)}       # 10 of 51 rows: under a fifth


def test_plugin_check_says_an_extract_would_be_rejected_whole(settings, tmp_path):
    from pipelines.plugin_check import check_extract

    path = write_extract(tmp_path, "trac_vacancies.csv",
                         [vacancy(f"{n:07d}", **{"Date Authorised": "2022-01-03 09:00:00.000"}) for n in range(1, 13)])
    mismatches = check_extract(HR, path, HR.table("vacancies"))
    assert mismatches[0].kind == "rejected whole" and "12 of 12 rows would be quarantined" in mismatches[0].detail
    assert [m.line for m in mismatches[1:]] == list(range(2, 14))


def test_a_drift_of_optional_columns_alone_is_warned_of_once_and_again_when_it_changes(settings):
    """Loads lacking only a column declared optional since need nothing done: warned of every night, the warning
    would never stop. Other drift (a column a model may need, or one the declaration requires) is, every night."""
    from pipelines.ingest import drift_is_news
    from pipelines.landing import DeclarationDrift

    vacancies = HR.table("vacancies")
    new_column = DeclarationDrift("hr_recruitment", "vacancies", ("2024-03-01",), 1, ("grade",), (), optional=True)
    assert drift_is_news(settings, HR, vacancies, new_column)
    assert not drift_is_news(settings, HR, vacancies, new_column)
    more = replace(new_column, load_dates=("2024-03-01", "2024-03-02"), files=2)
    assert drift_is_news(settings, HR, vacancies, more) and not drift_is_news(settings, HR, vacancies, more)
    renamed = replace(new_column, optional=False)
    assert drift_is_news(settings, HR, vacancies, renamed) and drift_is_news(settings, HR, vacancies, renamed)


def test_null_and_n_a_placeholders_are_blank_except_in_free_text(settings, tmp_path):
    """SQL Server writes NULL for no value and forms N/A: as text they became a job title, a specialty, a series of
    their own; in a date they quarantined the row. Read as blank, they are what they stand for, and a required
    column still wants a value."""
    rows = [vacancy("0000001", **{"Job Title": "NULL", "Band": "n/a", "Start Date": " NULL "}),
            vacancy("0000002", **{"Job Title": " N/A ", "Interview Date": "null"}),
            vacancy("0000003", **{"CSU Code": "NULL"}),
            vacancy("0000004", **{"Job Title": "NULLS Porter"})]
    write_extract(settings.inbox / "hr_recruitment", "trac_vacancies.csv", rows)
    [load] = land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE)
    assert (load.rows_landed, load.rows_quarantined) == (3, 1)
    with duckdb.connect() as con:
        landed_rows = con.execute("select vacancy_id, job_title, band, start_at, interview_at from read_parquet(?) "
                                  "order by vacancy_id", [load.landing_path]).fetchall()
    assert landed_rows[0] == ("0000001", None, None, None, dt.datetime(2022, 2, 1))
    assert landed_rows[1][:2] == ("0000002", None) and landed_rows[1][4] is None
    assert landed_rows[2][1] == "NULLS Porter"
    [bad] = quarantined(settings)
    assert bad["line"] == "4" and "CSU Code" in bad["reason"]


def test_an_excel_time_at_midnight_reads_in_a_time_column_and_a_date_cell_in_a_date_column(settings, tmp_path):
    """python-calamine hands back a plain date for an Excel date-time at 00:00, whatever the cell's format: it must
    still read as midnight in a time column, where a bare date is refused, and as its day in a date column."""
    import xlsxwriter

    from plugins.readers import xlsx_reader

    table = Table(name="responses", description="test", file_pattern="*.xlsx", reader=xlsx_reader(),
                  primary_key=("response_id",), event_date="submitted_at",
                  columns=(Column("response_id", "string", "", header="ID", required=True),
                           Column("submitted_at", "timestamp", "", header="Completion time", required=True),
                           Column("session_date", "date", "", header="Session")))
    plugin = Plugin(name="forms", version="0", description="", source_system="", tables=(table,), metrics=(),
                    generate=lambda request: [], models_dir=tmp_path, expectations_dir=tmp_path)
    folder = settings.inbox / "forms"
    folder.mkdir(parents=True)
    book = xlsxwriter.Workbook(str(folder / "feedback.xlsx"))
    stamp, day = book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"}), book.add_format({"num_format": "dd/mm/yyyy"})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["ID", "Completion time", "Session"])
    for row, submitted in enumerate((dt.datetime(2021, 9, 14, 0, 0), dt.datetime(2021, 9, 14, 9, 30)), 1):
        sheet.write(row, 0, str(row))
        sheet.write_datetime(row, 1, submitted, stamp)
        sheet.write_datetime(row, 2, dt.datetime(2021, 9, 13), day)
    book.close()
    [load] = land_inbox(settings, plugin, table, LOAD_DATE)
    assert (load.rows_landed, load.rows_quarantined) == (2, 0)
    assert sorted(row[1:3] for row in landed(settings, "forms", "responses")) == [
        (dt.datetime(2021, 9, 14, 0, 0), dt.date(2021, 9, 13)), (dt.datetime(2021, 9, 14, 9, 30), dt.date(2021, 9, 13))]
