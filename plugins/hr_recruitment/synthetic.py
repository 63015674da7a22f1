"""A realistic Trac vacancy extract: ~3 years of offers across the trust's CSUs (Estates and
Facilities prominent), shortlisting → unconditional offer taking a median ~98 days before the
recruitment project's intervention and ~42 days after it; and the MS Forms export of the applicant and
hiring-manager experience survey: a baseline round before the intervention (< 20 % positive for both)
and a re-measure round after it (applicants 100 %, hiring managers 6 of 9). Deterministic for a seed."""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from pathlib import Path

import xlsxwriter

from plugins.contract import Project, SyntheticRequest
from plugins.hr_recruitment.schema import (
    BANDS,
    EXPERIENCE_ANSWERS,
    EXPERIENCE_Q,
    POSITIVE,
    STAFF_GROUPS,
    STAGES,
    SURVEY_COMMENT_Q,
    SURVEY_CSU_Q,
    SURVEY_Q,
)

PROJECT_ID = "recruitment_lead_time"
FIRST_AUTHORISED = dt.date(2019, 11, 1)   # early enough that offers from July 2020 are in steady state
FIRST_OFFER_MONTH = dt.date(2020, 7, 1)   # the extract's filter: offers from this month, or not yet offered
EXTRACT_DATE = dt.date(2023, 9, 30)
VACANCIES_PER_DAY = 4.0
# Share of vacancies per CSU: Estates and Facilities runs the project and recruits a lot of ancillary staff.
CSU_WEIGHTS = {"EAF": 14, "ABD": 8, "CAR": 7, "CHI": 7, "EMS": 9, "HNK": 4, "NEU": 5, "ONC": 6, "PAT": 5,
               "RAD": 4, "TCC": 8, "TRS": 6, "WOM": 5, "SIM": 6, "PHA": 3, "ATD": 3, "MPE": 2, "CRS": 5, "DEN": 2}
SITES = ("LGI", "SJUH", "SJUH", "LGI", "CAH", "SH", "WH")
TITLES = {"Estates and Ancillary": ("Domestic Assistant", "Porter", "Electrician", "Catering Assistant"),
          "Nursing and Midwifery Registered": ("Staff Nurse", "Ward Sister", "Midwife"),
          "Administrative and Clerical": ("Medical Secretary", "Ward Clerk", "Receptionist", "Team Leader"),
          "Allied Health Professionals": ("Physiotherapist", "Occupational Therapist", "Radiographer"),
          "Additional Clinical Services": ("Healthcare Support Worker", "Phlebotomist"),
          "Add Prof Scientific and Technic": ("Pharmacist", "Clinical Psychologist"),
          "Healthcare Scientists": ("Biomedical Scientist", "Clinical Scientist"),
          "Medical and Dental": ("Specialty Doctor", "Consultant")}


def lead_time_days(rng: random.Random, median: float) -> int:
    # Lead times are right-skewed (a few vacancies stall on checks): log-normal around the median.
    return max(7, round(rng.lognormvariate(math.log(median), 0.32)))


def vacancy(rng: random.Random, number: int, authorised: dt.date, intervention: dt.date,
            baseline: float, target: float) -> dict[str, dt.datetime | dt.date | None | str]:
    staff_group = rng.choice(STAFF_GROUPS)
    csu = rng.choices(list(CSU_WEIGHTS), weights=list(CSU_WEIGHTS.values()))[0]
    if csu == "EAF" and rng.random() < 0.7:
        staff_group = "Estates and Ancillary"
    advert = dt.datetime.combine(authorised + dt.timedelta(days=rng.randint(2, 12)), dt.time(rng.randint(8, 17)))
    closing = advert.date() + dt.timedelta(days=rng.randint(14, 28))
    shortlisted = dt.datetime.combine(closing + dt.timedelta(days=rng.randint(1, 10)), dt.time(rng.randint(8, 18)))
    # The new process applies to every offer made after go-live, including vacancies already in flight.
    old = lead_time_days(rng, baseline)
    lead = old
    if shortlisted.date() + dt.timedelta(days=old) >= intervention:
        lead = max(lead_time_days(rng, target), (intervention - shortlisted.date()).days + rng.randint(0, 10))
    offer = shortlisted + dt.timedelta(days=lead, hours=rng.randint(0, 6))
    stages = {
        "authorised_at": dt.datetime.combine(authorised, dt.time(9)),
        "advert_published_at": advert,
        "closing_date": closing,
        "shortlisting_complete_at": shortlisted,
        "interview_at": shortlisted + dt.timedelta(days=max(1, round(lead * 0.2))),
        "conditional_offer_at": shortlisted + dt.timedelta(days=max(2, round(lead * 0.25))),
        "checks_complete_at": shortlisted + dt.timedelta(days=max(3, round(lead * 0.9))),
        "unconditional_offer_at": offer,
        "start_at": dt.datetime.combine(offer.date() + dt.timedelta(days=rng.randint(14, 56)), dt.time(9)),
    }
    withdrawn = rng.random() < 0.04
    reached = {k: (v if k == "authorised_at" or _reached(v, withdrawn, rng) else None) for k, v in stages.items()}
    _blank_after_first_gap(reached)
    return {"Vacancy Reference": f"{number:07d}", "Job Title": rng.choice(TITLES[staff_group]),
            "Staff Group": staff_group, "Band": rng.choice(BANDS[:7]), "CSU Code": csu,
            "Site": rng.choice(SITES), "Status": _status(reached, withdrawn), **_as_trac(reached)}


def _reached(when: dt.datetime | dt.date, withdrawn: bool, rng: random.Random) -> bool:
    day = when if isinstance(when, dt.date) and not isinstance(when, dt.datetime) else when.date()
    return day <= EXTRACT_DATE and not (withdrawn and rng.random() < 0.5)


def _blank_after_first_gap(stages: dict) -> None:
    gap = False
    for name in stages:
        gap = gap or stages[name] is None
        if gap:
            stages[name] = None


def _status(stages: dict, withdrawn: bool) -> str:
    if withdrawn and stages["unconditional_offer_at"] is None:
        return "Withdrawn"
    if stages["start_at"] is not None:
        return "Filled"
    return "Offer made" if stages["conditional_offer_at"] is not None else "Open"


def _as_trac(stages: dict) -> dict[str, str]:
    """Trac's export format: dd/mm/yyyy hh:mm for stamped stages, dd/mm/yyyy for dates, blank if not reached."""
    headers = {name: header for name, header, _ in STAGES}
    out = {}
    for name, value in stages.items():
        if value is None:
            out[headers[name]] = ""
        elif isinstance(value, dt.datetime):
            out[headers[name]] = value.strftime("%d/%m/%Y %H:%M")
        else:
            out[headers[name]] = value.strftime("%d/%m/%Y")
    return out


def generate(request: SyntheticRequest) -> list[Path]:
    return [write_vacancies(request), write_survey(request)]


def write_vacancies(request: SyntheticRequest) -> Path:
    project = request.projects[PROJECT_ID]
    rng = random.Random(request.seed)
    rows, number = [], 1_000_000
    day = FIRST_AUTHORISED
    while day <= EXTRACT_DATE - dt.timedelta(days=30):
        for _ in range(_poisson(rng, VACANCIES_PER_DAY * request.scale * (0.35 if day.weekday() >= 5 else 1.2))):
            number += 1
            row = vacancy(rng, number, day, project.intervention_date, project.baseline_value or 98,
                          project.target or 42)
            offer = row["Unconditional Offer"]
            if not offer or dt.datetime.strptime(offer[:10], "%d/%m/%Y").date() >= FIRST_OFFER_MONTH:
                rows.append(row)
        day += dt.timedelta(days=1)
    request.inbox.mkdir(parents=True, exist_ok=True)
    path = request.inbox / f"trac_vacancies_{EXTRACT_DATE:%Y%m%d}.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: the stdlib has no Poisson sampler and numpy's would tie us to its stream.
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


# Survey rounds: (responses, positive) per survey. Counts are not scaled: a round is a few dozen responses,
# and the story (< 20 % positive at baseline; applicants 100 %, hiring managers 6 of 9 after) is in them.
BASELINE_ROUND = {"Applicant": (17, 3), "Hiring manager": (11, 2)}
REMEASURE_ROUND = {"Applicant": (14, 14), "Hiring manager": (9, 6)}
ROUND_OPEN_DAYS = 17
SURVEY_HEADERS = ("ID", "Start time", "Completion time", "Email", "Name", SURVEY_Q, SURVEY_CSU_Q, EXPERIENCE_Q,
                  SURVEY_COMMENT_Q)
SURVEY_CSUS = ("Estates and Facilities", "Abdominal Medicine and Surgery", "Cardio-Respiratory",
               "Leeds Children's Hospital", "Emergency and Specialty Medicine", "Oncology",
               "Theatres and Critical Care", "Specialty and Integrated Medicine")
SURVEY_COMMENTS = {True: ("Kept informed at every step", "Quick and easy - start date agreed within weeks"),
                   False: ("Heard nothing for weeks after the interview",
                           "Checks took months; nearly lost the candidate", "Too many forms asking for the same thing")}


def survey_rounds(project: Project) -> list[tuple[dt.date, dict[str, tuple[int, int]]]]:
    """Baseline ten weeks before go-live; the re-measure on the project's first re-measure date (else 26 weeks on)."""
    remeasure = (project.remeasure_dates or (project.intervention_date + dt.timedelta(weeks=26),))[0]
    return [(project.intervention_date - dt.timedelta(weeks=10), BASELINE_ROUND), (remeasure, REMEASURE_ROUND)]


def survey_answers(rng: random.Random, total: int, positive: int) -> list[str]:
    answers = rng.choices(POSITIVE, weights=(45, 55), k=positive)
    answers += rng.choices(EXPERIENCE_ANSWERS[2:], weights=(35, 40, 25), k=total - positive)
    rng.shuffle(answers)
    return answers


def survey_response(rng: random.Random, survey: str, opens: dt.date, answer: str) -> dict:
    """One anonymous response (the form is open to applicants outside the trust, so MS Forms records no e-mail)."""
    submitted = dt.datetime.combine(opens + dt.timedelta(days=rng.randrange(ROUND_OPEN_DAYS)),
                                    dt.time(rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59)))
    known_csu = survey == "Hiring manager" or rng.random() < 0.6
    comment = rng.choice(SURVEY_COMMENTS[answer in POSITIVE]) if rng.random() < 0.5 else None
    return {"Start time": submitted - dt.timedelta(seconds=rng.randint(60, 400)), "Completion time": submitted,
            "Email": "anonymous", "Name": None, SURVEY_Q: survey,
            SURVEY_CSU_Q: rng.choice(SURVEY_CSUS) if known_csu else None, EXPERIENCE_Q: answer,
            SURVEY_COMMENT_Q: comment}


def write_survey(request: SyntheticRequest) -> Path:
    rng = random.Random(request.seed + 1)  # its own stream: the vacancy extract does not move with it
    rows = [survey_response(rng, survey, opens, answer)
            for opens, counts in survey_rounds(request.projects[PROJECT_ID])
            for survey, (total, positive) in counts.items()
            for answer in survey_answers(rng, total, positive)]
    rows.sort(key=lambda row: row["Completion time"])
    for number, row in enumerate(rows, start=1):
        row["ID"] = number  # MS Forms numbers responses in the order they were submitted
    request.inbox.mkdir(parents=True, exist_ok=True)
    path = request.inbox / f"Recruitment experience survey(1-{len(rows)}).xlsx"
    write_forms_export(path, rows)
    return path


def write_forms_export(path: Path, rows: list[dict]) -> None:
    """As MS Forms writes it: one sheet, question texts as headers, real Excel date-times."""
    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties({"created": dt.datetime.combine(EXTRACT_DATE, dt.time(9))})  # byte-identical per seed
    sheet = workbook.add_worksheet("Sheet1")
    stamp = workbook.add_format({"num_format": "m/d/yy h:mm:ss"})
    sheet.write_row(0, 0, SURVEY_HEADERS)
    for line, row in enumerate(rows, start=1):
        for column, header in enumerate(SURVEY_HEADERS):
            value = row[header]
            if isinstance(value, dt.datetime):
                sheet.write_datetime(line, column, value, stamp)
            elif value is not None:
                sheet.write(line, column, value)
    workbook.close()
