"""Row problems stay row problems: a line with more or fewer fields than the header is quarantined with its line
(the rest of the extract lands, unless the table's quarantine share trips), every other row keeps its true line, and
a record written twice in one extract is kept once with a warning, while two versions of one record refuse it."""

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import pytest

from pipelines.landing import land_inbox
from pipelines.settings import Settings
from plugins.ed_attendances import PLUGIN as ED
from plugins.theatre_cancellations import PLUGIN as THEATRE

LOAD_DATE = dt.date(2024, 4, 2)


def attendance(n: int) -> dict[str, str]:
    return {"Attendance Identifier": f"A{n}", "NHS Number": "9434765919", "Site Code": "LGI", "Department Type": "01",
            "Unit": "RAU", "Arrival Date Time": "2023-01-10 08:00:00",
            "Initial Assessment Date Time": "2023-01-10 08:12:00",
            "Seen For Treatment Date Time": "2023-01-10 09:00:00",
            "Decision To Admit Date Time": "2023-01-10 11:00:00", "Departure Date Time": "2023-01-10 13:30:00",
            "Acuity": "2", "Discharge Destination": "Admitted", "Age Band": "65-79"}


def booking(n: int) -> dict[str, str]:
    return {"Booking ID": f"B{n}", "NHS Number": "943 476 5919", "Specialty": "Bronchoscopy",
            "Procedure": "Diagnostic bronchoscopy", "CSU": "CAR", "Site": "SJUH", "TCI Date": "06/03/2023",
            "Scheduled Date": "06/03/2023", "Outcome": "Done", "Cancelled At": "", "Cancelled By": "",
            "Reason Code": "", "Rebooked Date": "", "Treated Date": "06/03/2023"}


# (plugin, table, a good row, the file name, a column whose unknown value is quarantined)
SOURCES = {
    "ed": (ED, ED.table("attendances"), attendance, "ecds_attendances_202301.csv", "Site Code"),
    "theatre": (THEATRE, THEATRE.table("bookings"), booking, "theatre_elective_bookings_20230331.csv", "Site"),
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", pseudonymisation_key="test-key")
    settings.ensure_folders()
    return settings


def line_of(row: dict[str, str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(list(row.values()))
    return out.getvalue()


def drop(settings: Settings, source: str, lines: list[str]):
    plugin, table, make, name, _ = SOURCES[source]
    folder = settings.inbox / plugin.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(",".join(make(0)) + "\n" + "".join(lines), encoding="utf-8")
    [load] = land_inbox(settings, plugin, table, LOAD_DATE)
    return load


def quarantined(settings: Settings, source: str) -> dict[int, dict[str, str]]:
    rows = []
    for path in sorted((settings.quarantine / SOURCES[source][0].name).rglob("*.csv")):
        with path.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    return {int(r["line"]): r for r in rows}


def landed_lines(load) -> list[tuple[str, int]]:
    with duckdb.connect() as con:
        return con.execute("select _source_file, _source_line from read_parquet(?) order by 2",
                           [load.landing_path]).fetchall()


@pytest.mark.parametrize("source", SOURCES)
def test_a_short_last_row_is_quarantined_with_its_line_and_the_rest_lands(settings, source):
    make, width = SOURCES[source][2], len(SOURCES[source][2](0))
    cut = line_of(make(20)).rsplit(",", 5)[0] + "\n"  # the export stopped mid-row: five fields short
    load = drop(settings, source, [line_of(make(n)) for n in range(1, 20)] + [cut])
    assert (load.status, load.rows_landed, load.rows_quarantined) == ("landed", 19, 1)
    [(line, bad)] = quarantined(settings, source).items()
    assert line == 21  # the header is line 1, the 19 good rows lines 2 to 20
    assert bad["reason"] == f"line 21 has {width - 5} field(s), the header has {width}"
    assert bad["source_file"] == SOURCES[source][3]
    assert [line for _, line in landed_lines(load)] == list(range(2, 21))


@pytest.mark.parametrize("source", SOURCES)
def test_a_long_row_is_quarantined_with_its_line_and_the_rest_lands(settings, source):
    make, width = SOURCES[source][2], len(SOURCES[source][2](0))
    long = line_of(make(5)).rstrip("\n") + ",extra,more\n"  # a value's delimiter left unquoted, say
    load = drop(settings, source, [line_of(make(n)) for n in range(1, 5)] + [long]
                + [line_of(make(n)) for n in range(6, 10)])
    assert (load.status, load.rows_landed, load.rows_quarantined) == ("landed", 8, 1)
    assert quarantined(settings, source)[6]["reason"] == f"line 6 has {width + 2} field(s), the header has {width}"
    assert [line for _, line in landed_lines(load)] == [2, 3, 4, 5, 7, 8, 9, 10]


@pytest.mark.parametrize("source", SOURCES)
def test_lines_after_a_short_row_and_a_quoted_line_break_stay_exact(settings, source):
    """Skipped records take no row number: every later record must still be named by the line it starts on."""
    _, _, make, _, column = SOURCES[source]
    width = len(make(0))
    broken = make(3)
    text = "Attendance Identifier" if source == "ed" else "Procedure"  # a column of any text
    broken[text] = f"{broken[text]} first line\nsecond line"
    unknown = {**make(6), column: "XYZ"}
    rows = [line_of(make(1)), line_of(make(2)).rsplit(",", 3)[0] + "\n",  # line 3: short
            line_of(broken),  # lines 4 and 5: one record with a line break inside a quoted value
            line_of(make(4)), line_of(make(5)), line_of(unknown), line_of(make(7))]  # the unknown value on line 8
    load = drop(settings, source, rows)
    assert (load.status, load.rows_landed, load.rows_quarantined) == ("landed", 5, 2)
    bad = quarantined(settings, source)
    assert sorted(bad) == [3, 8]
    assert bad[3]["reason"] == f"line 3 has {width - 3} field(s), the header has {width}"
    assert bad[8]["reason"] == f"unknown value 'XYZ' in column {column}"
    assert [line for _, line in landed_lines(load)] == [2, 4, 6, 7, 9]


def test_too_many_ragged_rows_reject_the_extract_whole(settings):
    make = SOURCES["ed"][2]
    load = drop(settings, "ed", [line_of(make(n)).rsplit(",", 1)[0] + "\n" for n in range(1, 13)])
    assert load.status == "rejected"
    assert "12 of 12 rows would be quarantined" in load.problem and "from line 2" in load.problem


@pytest.mark.parametrize("source", SOURCES)
def test_an_extract_written_twice_over_lands_once_with_a_warning_naming_the_lines(settings, source):
    make = SOURCES[source][2]
    rows = [line_of(make(n)) for n in range(1, 8)]
    load = drop(settings, source, rows + rows)  # the report's rows, all repeated after them
    assert (load.status, load.rows_landed, load.rows_quarantined) == ("landed", 7, 0)
    assert [line for _, line in landed_lines(load)] == list(range(2, 9))  # the first of each kept
    [warning] = [w for w in load.warnings if "more than once" in w]
    assert warning.startswith(f"{SOURCES[source][3]}: 7 record(s) appear more than once, identical in every column, "
                              "and are kept once: lines 2 and 9 are the same record; lines 3 and 10 are the same "
                              "record;")
    assert warning.endswith("(and 2 more)")


@pytest.mark.parametrize("source", SOURCES)
def test_rows_that_share_a_key_but_differ_refuse_the_extract_naming_key_and_lines(settings, source):
    _, table, make, name, column = SOURCES[source]
    key = table.column(table.primary_key[0]).source_header
    other = {**make(3), column: "SJUH" if source == "ed" else "LGI"}  # the same record's key, another site
    load = drop(settings, source, [line_of(make(n)) for n in range(1, 6)] + [line_of(other)])
    assert load.status == "rejected"
    assert load.problem.startswith(f"{name}: 1 key(s) of {table.name} are held by rows that differ: "
                                   f"{key} '{make(3)[key]}' on lines 4 and 7. ")
    assert not list((settings.landing / SOURCES[source][0].name).rglob("load_date=*/*.parquet"))


def test_a_value_written_otherwise_is_no_repeat(settings):
    """Two rows the same once typed but written differently are two rows of the extract, not one record twice."""
    make = SOURCES["ed"][2]
    other = {**make(1), "Arrival Date Time": "2023-01-10 08:00"}
    load = drop(settings, "ed", [line_of(make(1)), line_of(other)])
    assert load.status == "rejected" and "on lines 2 and 3" in load.problem
