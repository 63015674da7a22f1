"""A realistic MS Forms export of the KPO's course feedback form: one row per participant from the
training programme's start (the improvement_training project) to the export date. At scale 1.0 the
seed's figures hold exactly: 539 participants on the introduction and foundation courses Sept 2021 –
Apr 2023 of whom 534 would recommend them (99 %), and 118 on the intermediate course Aug 2022 –
Apr 2023 with 110 (93 %). Deterministic for a seed."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter

from plugins.contract import SyntheticRequest
from plugins.course_feedback.schema import (
    ANSWERS,
    COMMENT_Q,
    COURSE_Q,
    CSU_Q,
    DELIVERY_Q,
    RECOMMEND_Q,
    RECOMMENDING,
    SESSION_DATE_Q,
    STAFF_GROUP_Q,
)

PROJECT_ID = "improvement_training"
INTRO_AND_FOUNDATION = ("Introduction to value & waste", "Foundation day")
INTERMEDIATE_LAUNCH = dt.date(2022, 8, 1)  # launched as "Lean for Leaders", renamed from January 2023
RENAMED = dt.date(2023, 1, 1)
SEED_LAST_MONTH = dt.date(2023, 4, 1)
LAST_MONTH = dt.date(2023, 9, 1)
EXPORT_AT = dt.datetime(2023, 10, 16, 9, 0)
SESSIONS_A_MONTH = {"Introduction to value & waste": 2, "Foundation day": 1, "Intermediate course": 1,
                    "Corporate induction": 2, "Bespoke session": 1}
HEADERS = ("ID", "Start time", "Completion time", "Email", "Name", COURSE_Q, SESSION_DATE_Q, DELIVERY_Q,
           STAFF_GROUP_Q, CSU_Q, RECOMMEND_Q, COMMENT_Q)
STAFF_GROUPS = ("Nursing and midwifery", "Medical and dental", "Allied health professionals", "Healthcare scientists",
                "Additional clinical services", "Administrative and clerical", "Estates and ancillary", "Other")
CSU_NAMES = ("Abdominal Medicine and Surgery", "Cardio-Respiratory", "Leeds Children's Hospital",
             "Leeds Dental Institute", "Emergency and Specialty Medicine", "Head and Neck", "Neurosciences", "Oncology",
             "Pathology", "Radiology", "Theatres and Critical Care", "Trauma and Related Services", "Women's",
             "Specialty and Integrated Medicine", "Pharmacy", "Adult Therapies and Dietetics",
             "Medical Physics and Engineering", "Estates and Facilities", "Corporate Services")
FIRST_NAMES = ("Aisha", "Ben", "Chloe", "Daniel", "Emma", "Farhan", "Grace", "Harry", "Imran", "Jess", "Kate", "Liam",
               "Maya", "Nathan", "Olivia", "Priya", "Rachel", "Sam", "Tom", "Usman", "Victoria", "Will", "Zara")
SURNAMES = ("Ahmed", "Brown", "Clarke", "Davies", "Evans", "Hussain", "Jackson", "Khan", "Lee", "Patel", "Roberts",
            "Shaw", "Smith", "Taylor", "Walker", "Wilson", "Wood", "Wright")
PRAISE = ("Really practical - I will use the waste walk on my ward", "Great facilitators and good examples",
          "Helped me see our process from the patient's side", "Useful tools I can use straight away")
CRITICISM = ("Too much content for one session", "Not sure how this applies to my role",
             "Online format made it hard to join in", "Would have liked more time on the tools")


@dataclass(frozen=True)
class Cohort:
    """Responses to some courses over a run of months, with an exact number recommending."""

    courses: tuple[str, ...]
    weights: tuple[float, ...]
    first_month: dt.date
    last_month: dt.date
    participants: int
    recommending: int


def cohorts(start: dt.date) -> tuple[Cohort, ...]:
    after_seed = _add_months(SEED_LAST_MONTH, 1)
    return (
        Cohort(INTRO_AND_FOUNDATION, (0.62, 0.38), start, SEED_LAST_MONTH, 539, 534),  # the seed: 99 %
        Cohort(INTRO_AND_FOUNDATION, (0.62, 0.38), after_seed, LAST_MONTH, 135, 132),
        Cohort(("Intermediate course",), (1.0,), INTERMEDIATE_LAUNCH, SEED_LAST_MONTH, 118, 110),  # the seed: 93 %
        Cohort(("Intermediate course",), (1.0,), after_seed, LAST_MONTH, 70, 66),
        Cohort(("Corporate induction",), (1.0,), start, LAST_MONTH, 900, 828),
        Cohort(("Bespoke session",), (1.0,), start, LAST_MONTH, 160, 151),
    )


def _add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = _add_months(month, 1)
    return months


def per_month(rng: random.Random, total: int, months: list[dt.date]) -> list[int]:
    """Spread exactly `total` over the months, unevenly (largest-remainder rounding keeps the sum)."""
    weights = [rng.uniform(0.6, 1.4) for _ in months]
    shares = [total * w / sum(weights) for w in weights]
    counts = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(months)), key=lambda i: shares[i] - counts[i], reverse=True)
    for index in by_remainder[:total - sum(counts)]:
        counts[index] += 1
    return counts


def shuffled_answers(rng: random.Random, total: int, recommending: int) -> list[str]:
    answers = rng.choices(RECOMMENDING, weights=(78, 22), k=recommending)
    answers += rng.choices(ANSWERS[2:], weights=(40, 20, 10, 30), k=total - recommending)
    rng.shuffle(answers)
    return answers


class Sessions:
    """Session days per course and month (weekdays), drawn once so a session's participants share a date."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.days = rng, {}

    def day(self, course: str, month: dt.date) -> dt.date:
        if (course, month) not in self.days:
            weekdays = [d for d in (month + dt.timedelta(days=i) for i in range(28)) if d.weekday() < 5]
            self.days[course, month] = self.rng.sample(weekdays, SESSIONS_A_MONTH[course])
        return self.rng.choice(self.days[course, month])


def response(rng: random.Random, course: str, session: dt.date, answer: str) -> dict:
    """One participant's answers; most fill the form in at the end of the session, the rest within days."""
    delay = 0 if rng.random() < 0.65 else rng.randint(1, 9)
    submitted = dt.datetime.combine(session + dt.timedelta(days=delay), dt.time(rng.randint(12, 17), rng.randint(0, 59),
                                                                                rng.randint(0, 59)))
    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    suffix = rng.choice(("", "", str(rng.randint(1, 40))))
    online = rng.random() < (0.75 if session < dt.date(2022, 4, 1) else 0.3) and course != "Bespoke session"
    comment = None
    if rng.random() < 0.45:
        comment = rng.choice(PRAISE if answer in RECOMMENDING else CRITICISM)
    if course == "Intermediate course" and session < RENAMED:
        course = "Lean for Leaders"
    return {"Start time": submitted - dt.timedelta(seconds=rng.randint(90, 600)), "Completion time": submitted,
            "Email": f"{first.lower()}.{last.lower()}{suffix}@nhs.net", "Name": f"{first} {last}",
            COURSE_Q: course, SESSION_DATE_Q: session,
            DELIVERY_Q: "Online (Microsoft Teams)" if online else "In person",
            STAFF_GROUP_Q: rng.choice(STAFF_GROUPS), CSU_Q: rng.choice(CSU_NAMES), RECOMMEND_Q: answer,
            COMMENT_Q: comment}


def cohort_responses(rng: random.Random, cohort: Cohort, sessions: Sessions, scale: float) -> list[dict]:
    total = round(cohort.participants * scale)
    answers = shuffled_answers(rng, total, round(total * cohort.recommending / cohort.participants))
    months = months_between(cohort.first_month, cohort.last_month)
    rows = []
    for month, count in zip(months, per_month(rng, total, months), strict=True):
        for _ in range(count):
            course = rng.choices(cohort.courses, weights=cohort.weights)[0]
            rows.append(response(rng, course, sessions.day(course, month), answers.pop()))
    return rows


def write_forms_export(path: Path, rows: list[dict]) -> None:
    """As MS Forms writes it: one sheet, question texts as headers, real Excel date-times."""
    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties({"created": EXPORT_AT})  # a fixed stamp keeps the file byte-identical per seed
    sheet = workbook.add_worksheet("Sheet1")
    stamp = workbook.add_format({"num_format": "m/d/yy h:mm:ss"})
    day = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, HEADERS)
    for line, row in enumerate(rows, start=1):
        for column, header in enumerate(HEADERS):
            value = row[header]
            if isinstance(value, dt.datetime):
                sheet.write_datetime(line, column, value, stamp)
            elif isinstance(value, dt.date):
                sheet.write_datetime(line, column, dt.datetime.combine(value, dt.time()), day)
            elif value is not None:
                sheet.write(line, column, value)
    workbook.close()


def generate(request: SyntheticRequest) -> list[Path]:
    start = request.projects[PROJECT_ID].intervention_date.replace(day=1)
    rng = random.Random(request.seed)
    sessions = Sessions(rng)
    rows = [row for cohort in cohorts(start) for row in cohort_responses(rng, cohort, sessions, request.scale)]
    rows.sort(key=lambda row: row["Completion time"])
    for number, row in enumerate(rows, start=1):
        row["ID"] = number  # MS Forms numbers responses in the order they were submitted
    request.inbox.mkdir(parents=True, exist_ok=True)
    path = request.inbox / f"Leeds Improvement Method course feedback(1-{len(rows)}).xlsx"
    write_forms_export(path, rows)
    return [path]
