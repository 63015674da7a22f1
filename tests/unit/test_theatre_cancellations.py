"""theatre_cancellations: landing of hand-written theatre extracts (typing, quarantine with file, line and
reason, rejected files, pseudonymised NHS numbers) and the synthetic generator's story, checked by the
docs/definitions.md rules against the reason seed read independently here."""

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.landing import land_inbox
from pipelines.reference import load_reference
from pipelines.settings import Settings
from plugins.contract import SyntheticRequest
from plugins.theatre_cancellations import HERE, PLUGIN

TABLE = PLUGIN.table("bookings")
LOAD_DATE = dt.date(2024, 4, 2)
HEADERS = ["Booking ID", "NHS Number", "Specialty", "Procedure", "CSU", "Site", "TCI Date", "Scheduled Date",
           "Outcome", "Cancelled At", "Cancelled By", "Reason Code", "Rebooked Date", "Treated Date"]
RAW_NHS = "9434765919"  # a valid (mod 11) number, written with spaces as some exports do


def seed_reasons() -> dict[str, dict[str, str]]:
    with (HERE / "seeds" / "theatre_cancellation_reasons.csv").open(newline="") as handle:
        return {row["reason_code"]: row for row in csv.DictReader(handle)}


def booking(number: str, **fields: str) -> dict[str, str]:
    row = {"Booking ID": number, "NHS Number": "943 476 5919", "Specialty": "Bronchoscopy",
           "Procedure": "Diagnostic bronchoscopy", "CSU": "CAR", "Site": "SJUH", "TCI Date": "06/03/2023",
           "Scheduled Date": "06/03/2023", "Outcome": "Done", "Cancelled At": "", "Cancelled By": "",
           "Reason Code": "", "Rebooked Date": "", "Treated Date": "06/03/2023"}
    row.update(fields)
    return row


def cancelled(number: str, **fields: str) -> dict[str, str]:
    return booking(number, **{"Outcome": "Cancelled", "Cancelled At": "06/03/2023 07:45", "Cancelled By": "Hospital",
                              "Reason Code": "NC01", "Rebooked Date": "20/03/2023", "Treated Date": "20/03/2023",
                              **fields})


def write_extract(folder: Path, rows: list[dict[str, str]], headers: list[str] = HEADERS,
                  name: str = "theatre_elective_bookings_20230331.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", pseudonymisation_key="test-key")
    settings.ensure_folders()
    return settings


def land(settings: Settings, rows: list[dict[str, str]], **kwargs) -> tuple:
    write_extract(settings.inbox / PLUGIN.name, rows, **kwargs)
    [load] = land_inbox(settings, PLUGIN, TABLE, LOAD_DATE)
    return load


def quarantined(settings: Settings) -> dict[str, dict[str, str]]:
    rows = []
    for path in sorted((settings.quarantine / PLUGIN.name).rglob("*.csv")):
        with path.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    return {row["line"]: row for row in rows}


def test_reason_codes_allowed_at_landing_are_exactly_the_seed():
    assert set(TABLE.column("reason_code").allowed) == set(seed_reasons())


def test_good_rows_are_typed_and_the_nhs_number_pseudonymised(settings):
    load = land(settings, [booking("40000001"), cancelled("40000002", **{"TCI Date": "05/03/2023",
                                                                        "Cancelled At": "05/03/2023 18:30"}),
                           booking("40000003", **{"NHS Number": "", "TCI Date": ""})])
    assert (load.status, load.rows_landed, load.rows_quarantined, load.identifier_flags) == ("landed", 3, 0, 1)
    with duckdb.connect() as con:
        rows = con.execute("select booking_id, nhs_number_status, tci_date, scheduled_date, outcome, cancelled_at, "
                           "cancelled_by, reason_code, rebooked_date, treated_date from read_parquet(?) "
                           "order by booking_id", [load.landing_path]).fetchall()
        columns = [c[0] for c in con.execute("describe select * from read_parquet(?)", [load.landing_path]).fetchall()]
    assert rows[1] == ("40000002", "valid", dt.date(2023, 3, 5), dt.date(2023, 3, 6), "Cancelled",
                       dt.datetime(2023, 3, 5, 18, 30), "Hospital", "NC01", dt.date(2023, 3, 20), dt.date(2023, 3, 20))
    assert rows[2][:3] == ("40000003", "missing", None)
    assert "nhs_number" not in columns and "nhs_number_pseudonym" in columns


BAD_ROWS = [
    ({"Reason Code": "ZZ99"}, "unknown value 'ZZ99' in column Reason Code"),
    ({"Scheduled Date": "30/02/2023", "TCI Date": ""}, "unreadable date '30/02/2023' in column Scheduled Date"),
    ({"Cancelled At": "yesterday"}, "unreadable timestamp 'yesterday' in column Cancelled At"),
    ({"CSU": "XYZ"}, "unknown value 'XYZ' in column CSU"),
    ({"Outcome": "Abandoned"}, "unknown value 'Abandoned' in column Outcome"),
    ({"Reason Code": ""}, "cancelled or postponed without a reason code"),
    ({"Cancelled At": ""}, "cancelled or postponed without the time it was cancelled"),
    ({"Cancelled By": ""}, "cancelled or postponed without who cancelled"),
    ({"Reason Code": "PT03"}, "reason code cannot be recorded by the party in Cancelled By"),
    ({"Outcome": "Done"}, "procedure recorded as done has cancellation details"),
    ({"TCI Date": "07/03/2023"}, "TCI date is after the scheduled date"),
    ({"Rebooked Date": "01/03/2023"}, "rebooked date is before the cancellation"),
    ({"Treated Date": "01/03/2023"}, "treated date is before the cancellation"),
]


def test_each_kind_of_bad_row_is_quarantined_with_file_line_and_reason(settings):
    rows = [cancelled("40000001")] + [cancelled(str(40000100 + i), **fields) for i, (fields, _) in enumerate(BAD_ROWS)]
    # good rows after them: an extract with more than a fifth of its rows bad is rejected whole
    rows += [cancelled(str(40000200 + i)) for i in range(60)]
    load = land(settings, rows)
    assert (load.rows_landed, load.rows_quarantined) == (61, len(BAD_ROWS))
    bad = quarantined(settings)
    for index, (_, reason) in enumerate(BAD_ROWS):
        row = bad[str(index + 3)]  # header is line 1, the good row line 2
        assert row["source_file"] == "theatre_elective_bookings_20230331.csv"
        assert reason in row["reason"].split("; ")


def test_a_patient_reason_on_a_hospital_cancellation_names_both_columns(settings):
    land(settings, [cancelled("40000001", **{"Reason Code": "PT02"}),
                    cancelled("40000002", **{"Cancelled By": "Patient", "Reason Code": "PT02"})])
    [row] = quarantined(settings).values()
    assert (row["line"], row["columns"]) == ("2", "Reason Code, Cancelled By")


def test_no_raw_nhs_number_reaches_landing_or_quarantine(settings):
    land(settings, [booking("40000001"), cancelled("40000002", **{"Reason Code": "ZZ99"})])
    written = [p for root in (settings.landing, settings.quarantine) for p in root.rglob("*") if p.is_file()]
    assert written
    for path in written:
        text = path.read_bytes()
        assert RAW_NHS.encode() not in text and b"943 476 5919" not in text, path


def test_a_file_missing_a_column_is_rejected_naming_the_file_and_the_column(settings):
    load = land(settings, [cancelled("40000001")], headers=[h for h in HEADERS if h != "Reason Code"])
    assert load.status == "rejected"
    assert load.problem.startswith("theatre_elective_bookings_20230331.csv: wrong header for bookings: "
                                   "missing column(s) 'Reason Code'")


@pytest.mark.parametrize("content, problem", [
    (b"", "the file is empty"),
    (b"PK\x03\x04\x14\x00\x06\x00binary", "an Excel workbook (.xlsx) saved with a .csv name"),
])
def test_an_empty_or_non_csv_file_is_rejected(settings, content, problem):
    folder = settings.inbox / PLUGIN.name
    folder.mkdir(parents=True)
    (folder / "theatre_elective_bookings.csv").write_bytes(content)
    [load] = land_inbox(settings, PLUGIN, TABLE, LOAD_DATE)
    assert load.status == "rejected" and problem in load.problem
    assert load.problem.startswith("theatre_elective_bookings.csv: ")


def test_the_same_extract_twice_lands_once(settings):
    path = write_extract(settings.inbox / PLUGIN.name, [booking("40000001")])
    content = path.read_bytes()
    [first] = land_inbox(settings, PLUGIN, TABLE, LOAD_DATE)
    path.write_bytes(content)
    [again] = land_inbox(settings, PLUGIN, TABLE, LOAD_DATE + dt.timedelta(days=1))
    assert (first.status, again.status, again.rows_landed) == ("landed", "duplicate", 0)


# --- the generator -------------------------------------------------------------------------------------

def generated(tmp_path: Path, seed: int = 7, scale: float = 1.0) -> Path:
    request = SyntheticRequest(inbox=tmp_path / f"inbox-{seed}-{scale}", seed=seed,
                               projects=load_reference(()).projects, scale=scale)
    [path] = PLUGIN.generate(request)
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def day(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d/%m/%Y").date()


def avoidable_rate(rows: list[dict[str, str]], specialty: str, start: dt.date, end: dt.date) -> tuple[int, int]:
    """(avoidable cancellations, scheduled procedures) by the KPO rule: cancelled or postponed for a reason
    the seed marks avoidable, counted by scheduled date."""
    avoidable = {code for code, row in seed_reasons().items() if row["is_avoidable"] == "true"}
    scheduled = [r for r in rows if r["Specialty"] == specialty and start <= day(r["Scheduled Date"]) <= end]
    return (sum(r["Outcome"] in ("Cancelled", "Postponed") and r["Reason Code"] in avoidable for r in scheduled),
            len(scheduled))


def test_the_generator_is_deterministic_and_lands_without_quarantine(tmp_path, settings):
    first, second = generated(tmp_path, seed=3, scale=0.05), generated(tmp_path / "again", seed=3, scale=0.05)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != generated(tmp_path, seed=4, scale=0.05).read_bytes()
    target = settings.inbox / PLUGIN.name / first.name
    target.parent.mkdir(parents=True)
    target.write_bytes(first.read_bytes())
    [load] = land_inbox(settings, PLUGIN, TABLE, LOAD_DATE)
    assert load.status == "landed" and load.rows_quarantined == 0 and load.rows_landed > 1000


def test_the_bronchoscopy_story_holds_by_the_kpo_rule(tmp_path):
    projects = load_reference(()).projects
    broncho = projects["bronchoscopy_cancellations"]
    rows = read_rows(generated(tmp_path))
    avoidable, scheduled = avoidable_rate(rows, "Bronchoscopy", broncho.baseline_start, broncho.baseline_end)
    assert avoidable == 119  # plugins/theatre_cancellations/README.md: the project's baseline, 19 % of the list
    assert round(100 * avoidable / scheduled) == 19
    assert avoidable_rate(rows, "Bronchoscopy", dt.date(2023, 4, 1), dt.date(2024, 3, 31))[0] == 0
    before, listed = avoidable_rate(rows, "Bronchoscopy", dt.date(2020, 1, 1), broncho.baseline_start)
    assert 15 <= 100 * before / listed <= 23


def test_the_paediatric_cardiac_story_falls_after_the_rpiw(tmp_path):
    project = load_reference(()).projects["paediatric_cardiac_cancellations"]
    rows = read_rows(generated(tmp_path))
    before = avoidable_rate(rows, "Paediatric Cardiac Surgery", project.baseline_start, project.baseline_end)
    after = avoidable_rate(rows, "Paediatric Cardiac Surgery", project.remeasure_dates[0], dt.date(2024, 3, 31))
    assert abs(100 * before[0] / before[1] - project.baseline_value) <= 3
    assert abs(100 * after[0] / after[1] - project.target) <= 3


def test_scale_keeps_the_bronchoscopy_baseline_rate(tmp_path):
    broncho = load_reference(()).projects["bronchoscopy_cancellations"]
    rows = read_rows(generated(tmp_path, scale=0.5))
    avoidable, scheduled = avoidable_rate(rows, "Bronchoscopy", broncho.baseline_start, broncho.baseline_end)
    assert (avoidable, scheduled) == (round(119 * 0.5), round(626 * 0.5))


def test_a_rebooking_is_a_later_booking_of_the_same_patient_and_procedure(tmp_path):
    rows = read_rows(generated(tmp_path, scale=0.2))
    by_slot = {(r["NHS Number"], r["Procedure"], r["Scheduled Date"]) for r in rows}
    rebooked = [r for r in rows if r["Rebooked Date"]]
    assert rebooked
    for row in rebooked:
        assert row["Outcome"] in ("Cancelled", "Postponed")
        assert (row["NHS Number"], row["Procedure"], row["Rebooked Date"]) in by_slot
        assert day(row["Rebooked Date"]) > day(row["Cancelled At"][:10])
