"""course_feedback: landing an MS Forms xlsx export (typing, pseudonymised e-mail, the name never landed,
bad rows quarantined with file/line/reason, unusable files rejected) and the synthetic export's story."""

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from pipelines.landing import land_inbox
from pipelines.reference import load_reference
from pipelines.settings import Settings
from plugins.contract import SyntheticRequest
from plugins.course_feedback import PLUGIN
from plugins.course_feedback.schema import COURSE_Q, RECOMMEND_Q, SESSION_DATE_Q
from plugins.course_feedback.synthetic import HEADERS
from tests.unit.test_landing import landed, quarantined

LOAD_DATE = dt.date(2024, 3, 1)
TABLE = PLUGIN.table("feedback_responses")
FILE = "Leeds Improvement Method course feedback(1-9).xlsx"


def answers(number: int, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(HEADERS)
    row.update({"ID": number, "Start time": dt.datetime(2022, 3, 15, 16, 2, 10),
                "Completion time": dt.datetime(2022, 3, 15, 16, 6, 45), "Email": " Jane.Smith@nhs.net",
                "Name": "Jane Smith", COURSE_Q: "Foundation day", SESSION_DATE_Q: dt.date(2022, 3, 15),
                "How was the session delivered?": "In person", "Which staff group are you in?": "Nursing and midwifery",
                "Which CSU do you work in?": "Oncology", RECOMMEND_Q: "Extremely likely",
                "Please tell us the main reason for your answer.": "Loved the waste walk"})
    row.update(overrides)
    return row


def write_xlsx(path: Path, rows: list[dict[str, object]], headers: tuple[str, ...] = HEADERS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Sheet1")
    stamp = workbook.add_format({"num_format": "m/d/yy h:mm:ss"})
    day = workbook.add_format({"num_format": "dd/mm/yyyy"})
    if headers:
        sheet.write_row(0, 0, headers)
    for line, row in enumerate(rows, start=1):
        for column, header in enumerate(headers):
            value = row.get(header)
            if isinstance(value, dt.datetime):
                sheet.write_datetime(line, column, value, stamp)
            elif isinstance(value, dt.date):
                sheet.write_datetime(line, column, dt.datetime.combine(value, dt.time()), day)
            elif value is not None:
                sheet.write(line, column, value)
    workbook.close()
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", pseudonymisation_key="test-key")
    settings.ensure_folders()
    return settings


def land(settings: Settings, rows: list[dict], headers: tuple[str, ...] = HEADERS):
    write_xlsx(settings.inbox / "course_feedback" / FILE, rows, headers)
    [load] = land_inbox(settings, PLUGIN, TABLE, LOAD_DATE)
    return load


def test_a_forms_export_lands_typed_with_the_email_pseudonymised_and_the_name_dropped(settings):
    load = land(settings, [answers(1), answers(2, **{COURSE_Q: "Lean for Leaders", SESSION_DATE_Q: "14/03/2022",
                                                     RECOMMEND_Q: "Don't know"})])
    assert (load.status, load.rows_landed, load.rows_quarantined) == ("landed", 2, 0)
    assert load.warnings == ()  # the respondent's name is left out on purpose (Table.ignored): no warning
    with duckdb.connect() as con:
        rows = con.execute("select response_id, submitted_at, session_date, course, recommend_answer, comment, "
                           "respondent_email_pseudonym, respondent_email_status from read_parquet(?) order by 1",
                           [load.landing_path]).fetchall()
        columns = [c[0] for c in con.execute("describe select * from read_parquet(?)", [load.landing_path]).fetchall()]
    pseudonym = hmac.new(b"test-key", b"jane.smith@nhs.net", hashlib.sha256).hexdigest()
    assert rows[0] == ("1", dt.datetime(2022, 3, 15, 16, 6, 45), dt.date(2022, 3, 15), "Foundation day",
                       "Extremely likely", "Loved the waste walk", pseudonym, "valid")
    assert rows[1][2:5] == (dt.date(2022, 3, 14), "Lean for Leaders", "Don't know")
    assert "name" not in columns and "respondent_email" not in columns
    for path in settings.landing.rglob("*.parquet"):
        assert b"Jane Smith" not in path.read_bytes() and b"jane.smith@nhs.net" not in path.read_bytes().lower()


def test_bad_responses_are_quarantined_with_file_line_and_reason(settings):
    rows = [answers(1), answers(2, **{COURSE_Q: None}), answers(3, **{SESSION_DATE_Q: "31/02/2022"}),
            answers(4, **{COURSE_Q: "Six Sigma green belt"}), answers(5, **{SESSION_DATE_Q: dt.date(2022, 3, 16)}),
            answers(6, **{RECOMMEND_Q: None}), answers(7)]
    load = land(settings, rows)
    assert (load.rows_landed, load.rows_quarantined) == (2, 5)
    assert [r[0] for r in landed(settings, "course_feedback", "feedback_responses")] == ["1", "7"]
    bad = {r["line"]: r for r in quarantined(settings, "course_feedback")}  # the header is row 1
    assert {r["source_file"] for r in bad.values()} == {FILE}
    assert bad["3"]["reason"] == f"missing value in required column {COURSE_Q}"
    assert bad["4"]["reason"] == f"unreadable date '31/02/2022' in column {SESSION_DATE_Q}"
    assert bad["5"]["reason"] == f"unknown value 'Six Sigma green belt' in column {COURSE_Q}"
    assert bad["6"]["reason"].startswith("session date is after the response was submitted")
    assert bad["7"]["reason"] == f"missing value in required column {RECOMMEND_Q}"
    assert "jane.smith" not in str(bad).lower()  # the quarantine record holds the pseudonym, not the e-mail


@pytest.mark.parametrize("content, problem", [
    (b"", "the file is empty"),
    (b"ID,Start time,Completion time\n1,2022-03-15,2022-03-15\n", "not a readable xlsx workbook"),
])
def test_a_file_that_is_not_a_workbook_is_rejected_naming_it(settings, content, problem):
    folder = settings.inbox / "course_feedback"
    folder.mkdir(parents=True)
    (folder / FILE).write_bytes(content)
    [load] = land_inbox(settings, PLUGIN, TABLE, LOAD_DATE)
    assert load.status == "rejected" and load.problem.startswith(FILE) and problem in load.problem


def test_an_empty_worksheet_or_a_wrong_header_is_rejected_naming_file_and_problem(settings):
    empty = land(settings, [], headers=())
    assert empty.status == "rejected" and empty.problem.startswith(FILE) and "is empty (no header row" in empty.problem
    headers = tuple(h for h in HEADERS if h != COURSE_Q)
    load = land(settings, [answers(1)], headers=headers)
    assert load.status == "rejected"
    assert load.problem.startswith(f"{FILE}: wrong header for feedback_responses: missing column(s) '{COURSE_Q}'")
    assert landed(settings, "course_feedback", "feedback_responses") == []


def request(tmp_path: Path, seed: int = 42, scale: float = 1.0) -> SyntheticRequest:
    return SyntheticRequest(inbox=tmp_path / "inbox" / "course_feedback", seed=seed,
                            projects=load_reference(()).projects, scale=scale)


def test_the_generator_is_deterministic_and_lands_without_quarantine(settings, tmp_path):
    [first] = PLUGIN.generate(request(tmp_path / "a", seed=7, scale=0.1))
    [again] = PLUGIN.generate(request(tmp_path / "b", seed=7, scale=0.1))
    [other] = PLUGIN.generate(request(tmp_path / "c", seed=8, scale=0.1))
    assert first.read_bytes() == again.read_bytes() != other.read_bytes()
    (settings.inbox / "course_feedback").mkdir(parents=True)
    first.rename(settings.inbox / "course_feedback" / first.name)
    [load] = land_inbox(settings, PLUGIN, TABLE, LOAD_DATE)
    assert load.status == "landed" and load.rows_quarantined == 0 and load.rows_landed > 100


def exported_rows(path: Path) -> list[dict]:
    header, *body = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return [dict(zip(header, row, strict=True)) for row in body]


def seed_figure(rows: list[dict], courses: set[str], first: dt.date, last: dt.date) -> tuple[int, float]:
    """Participants and % recommend by the FFT rule: (extremely likely + likely) / every response."""
    chosen = [r for r in rows if r[COURSE_Q] in courses and first <= r[SESSION_DATE_Q] <= last]
    recommending = sum(r[RECOMMEND_Q] in ("Extremely likely", "Likely") for r in chosen)
    return len(chosen), 100 * recommending / len(chosen)


def test_the_synthetic_export_tells_the_seed_story(tmp_path):
    rows = exported_rows(PLUGIN.generate(request(tmp_path))[0])
    participants, recommend = seed_figure(rows, {"Introduction to value & waste", "Foundation day"},
                                          dt.date(2021, 9, 1), dt.date(2023, 4, 30))
    assert participants == 539 and round(recommend) == 99
    participants, recommend = seed_figure(rows, {"Intermediate course", "Lean for Leaders"},
                                          dt.date(2022, 8, 1), dt.date(2023, 4, 30))
    assert participants == 118 and round(recommend) == 93
    intermediate = [r[SESSION_DATE_Q] for r in rows if r[COURSE_Q] in {"Intermediate course", "Lean for Leaders"}]
    assert min(intermediate) >= dt.date(2022, 8, 1)
    per_month = {(d.year, d.month): sum((e.year, e.month) == (d.year, d.month) for e in intermediate)
                 for d in intermediate}
    assert max(per_month.values()) <= 25  # within the course's capacity of new participants a month
    assert {r[COURSE_Q] for r in rows} >= {"Corporate induction", "Bespoke session"}
