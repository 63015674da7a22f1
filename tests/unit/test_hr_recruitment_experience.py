"""hr_recruitment's second table: the applicant and hiring-manager experience survey (MS Forms xlsx) —
landing, quarantine, rejection, and the synthetic rounds' story (< 20 % positive at baseline; then
applicants 100 %, hiring managers 67 %)."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook

from pipelines.landing import land_inbox
from pipelines.reference import load_reference
from pipelines.settings import Settings
from plugins.contract import SyntheticRequest
from plugins.hr_recruitment import PLUGIN as HR
from plugins.hr_recruitment.schema import EXPERIENCE_Q, SURVEY_Q
from plugins.hr_recruitment.synthetic import SURVEY_HEADERS, write_survey
from tests.unit.test_course_feedback import write_xlsx
from tests.unit.test_landing import landed, quarantined

LOAD_DATE = dt.date(2024, 3, 1)
TABLE = HR.table("experience_responses")
FILE = "Recruitment experience survey(1-6).xlsx"
POSITIVE = ("Very good", "Good")


def answers(number: int, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(SURVEY_HEADERS)
    row.update({"ID": number, "Start time": dt.datetime(2021, 11, 3, 19, 1, 5),
                "Completion time": dt.datetime(2021, 11, 3, 19, 4, 40), "Email": "anonymous", SURVEY_Q: "Applicant",
                "Which CSU was the post in?": "Oncology", EXPERIENCE_Q: "Poor",
                "Please tell us why you gave this answer.": "Heard nothing for weeks"})
    row.update(overrides)
    return row


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", pseudonymisation_key="test-key")
    settings.ensure_folders()
    return settings


def land(settings: Settings, rows: list[dict], headers: tuple[str, ...] = SURVEY_HEADERS):
    write_xlsx(settings.inbox / "hr_recruitment" / FILE, rows, headers)
    [load] = land_inbox(settings, HR, TABLE, LOAD_DATE)
    return load


def test_the_survey_export_lands_typed_beside_the_vacancies(settings):
    load = land(settings, [answers(1), answers(2, **{SURVEY_Q: "Hiring manager", EXPERIENCE_Q: "Very good",
                                                     "Which CSU was the post in?": None})])
    assert (load.status, load.rows_landed, load.rows_quarantined) == ("landed", 2, 0)
    with duckdb.connect() as con:
        rows = con.execute("select response_id, submitted_at, survey, csu_name, experience_answer, comment "
                           "from read_parquet(?) order by 1", [load.landing_path]).fetchall()
    assert rows == [("1", dt.datetime(2021, 11, 3, 19, 4, 40), "Applicant", "Oncology", "Poor",
                     "Heard nothing for weeks"),
                    ("2", dt.datetime(2021, 11, 3, 19, 4, 40), "Hiring manager", None, "Very good",
                     "Heard nothing for weeks")]
    assert land_inbox(settings, HR, HR.table("vacancies"), LOAD_DATE) == []  # the xlsx is not a vacancy extract


def test_bad_responses_are_quarantined_with_file_line_and_reason(settings):
    rows = [answers(1), answers(2, **{SURVEY_Q: "Recruiter"}), answers(3, **{EXPERIENCE_Q: None}),
            answers(4, **{"Completion time": "yesterday"}), answers(5)]
    load = land(settings, rows)
    assert (load.rows_landed, load.rows_quarantined) == (2, 3)
    assert [r[0] for r in landed(settings, "hr_recruitment", "experience_responses")] == ["1", "5"]
    bad = {r["line"]: r for r in quarantined(settings)}
    assert {r["source_file"] for r in bad.values()} == {FILE}
    assert bad["3"]["reason"] == f"unknown value 'Recruiter' in column {SURVEY_Q}"
    assert bad["4"]["reason"] == f"missing value in required column {EXPERIENCE_Q}"
    assert bad["5"]["reason"] == "unreadable timestamp 'yesterday' in column Completion time"


def test_a_wrong_header_or_a_file_that_is_not_xlsx_is_rejected_naming_it(settings):
    load = land(settings, [answers(1)], headers=tuple(h for h in SURVEY_HEADERS if h != EXPERIENCE_Q))
    assert load.status == "rejected"
    assert load.problem.startswith(f"{FILE}: wrong header for experience_responses: missing column(s) '{EXPERIENCE_Q}'")
    (settings.inbox / "hr_recruitment" / FILE).write_text("ID,Completion time\n1,03/11/2021\n")
    [load] = land_inbox(settings, HR, TABLE, LOAD_DATE)
    assert load.status == "rejected" and load.problem.startswith(FILE) and "not a readable xlsx" in load.problem


def survey_request(tmp_path: Path, seed: int = 42) -> SyntheticRequest:
    return SyntheticRequest(inbox=tmp_path / "hr_recruitment", seed=seed, projects=load_reference(()).projects)


def positive_pct(rows: list[dict], survey: str, before: bool, go_live: dt.date) -> float:
    """% positive = (very good + good) / every response of that group, before or after go-live."""
    chosen = [r for r in rows if r[SURVEY_Q] == survey and (r["Completion time"].date() < go_live) == before]
    return 100 * sum(r[EXPERIENCE_Q] in POSITIVE for r in chosen) / len(chosen)


def test_the_synthetic_survey_rounds_tell_the_project_story(tmp_path):
    path = write_survey(survey_request(tmp_path))
    assert path.read_bytes() == write_survey(survey_request(tmp_path / "again")).read_bytes()
    header, *body = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    rows = [dict(zip(header, row, strict=True)) for row in body]
    go_live = load_reference(()).projects["recruitment_lead_time"].intervention_date
    assert positive_pct(rows, "Applicant", True, go_live) < 20
    assert positive_pct(rows, "Hiring manager", True, go_live) < 20
    assert positive_pct(rows, "Applicant", False, go_live) == 100
    assert round(positive_pct(rows, "Hiring manager", False, go_live)) == 67


def test_the_generator_writes_both_extracts_and_they_land_without_quarantine(settings, tmp_path):
    request = SyntheticRequest(inbox=settings.inbox / "hr_recruitment", seed=3, projects=load_reference(()).projects,
                               scale=0.05)
    assert sorted(p.suffix for p in HR.generate(request)) == [".csv", ".xlsx"]
    for table in HR.tables:
        [load] = land_inbox(settings, HR, table, LOAD_DATE)
        assert (load.status, load.rows_quarantined) == ("landed", 0) and load.rows_landed > 0, table.name
