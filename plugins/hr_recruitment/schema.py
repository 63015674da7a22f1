"""The recruitment extracts as typed tables: Trac's vacancies (one row per vacancy, a timestamp per
recruitment stage) and the applicant and hiring-manager experience survey (one row per response)."""

from __future__ import annotations

from plugins.contract import DAY_FORMATS, TIME_FORMATS, Column, RowRule, Table
from plugins.hr_recruitment.reader import read_extract, read_survey_export

STAFF_GROUPS = (
    "Add Prof Scientific and Technic", "Additional Clinical Services", "Administrative and Clerical",
    "Allied Health Professionals", "Estates and Ancillary", "Healthcare Scientists", "Medical and Dental",
    "Nursing and Midwifery Registered",
)
BANDS = ("Band 2", "Band 3", "Band 4", "Band 5", "Band 6", "Band 7", "Band 8a", "Band 8b", "Band 8c",
         "Band 8d", "Band 9", "Medical")
STATUSES = ("Open", "Offer made", "Filled", "Withdrawn")

# Stages in the order Trac records them; a later stage dated before an earlier one is a data error.
STAGES = (
    ("authorised_at", "Date Authorised", "Vacancy authorised to recruit."),
    ("advert_published_at", "Advert Published", "Advert went live on NHS Jobs."),
    ("closing_date", "Closing Date", "Advert closed to applications."),
    ("shortlisting_complete_at", "Shortlisting Complete", "Hiring manager finished shortlisting."),
    ("interview_at", "Interview Date", "Interviews held."),
    ("conditional_offer_at", "Conditional Offer", "Conditional offer made to the preferred candidate."),
    ("checks_complete_at", "Pre-Employment Checks Complete", "References, DBS and occupational health cleared."),
    ("unconditional_offer_at", "Unconditional Offer", "Unconditional offer made: the end of the KPO lead time."),
    ("start_at", "Start Date", "The new starter's first day."),
)

# Stages an extract may date ahead (an advert's closing date, booked interviews, a starter's first day); the
# others record what has happened, and a date after tomorrow is quarantined.
PLANNED_STAGES = ("closing_date", "interview_at", "start_at")


def stage_order_rules() -> tuple[RowRule, ...]:
    rules = []
    for index, (name, header, _) in enumerate(STAGES[1:], start=1):
        # Compared by day: Trac stamps some stages with a time and others (closing date) without.
        earlier = ", ".join(f"cast({n} as date)" for n, _, _ in STAGES[:index])
        rules.append(RowRule(
            reason=f"stage dates out of order: '{header}' is before an earlier stage",
            invalid_when=f"cast({name} as date) < list_max([{earlier}])",
            columns=(name,),
        ))
    return tuple(rules)


VACANCIES = Table(
    name="vacancies",
    description="One row per vacancy from the Trac recruitment system, with the date each stage was reached.",
    file_pattern="*vacanc*.csv",
    reader=read_extract,
    primary_key=("vacancy_id",),
    event_date="authorised_at",
    csu_column="csu_code",
    columns=(
        Column("vacancy_id", "string", "Trac vacancy reference.", header="Vacancy Reference", required=True),
        Column("job_title", "string", "Advertised job title.", header="Job Title"),
        Column("staff_group", "string", "NHS staff group.", header="Staff Group", allowed=STAFF_GROUPS),
        Column("band", "string", "Agenda for Change band (or Medical).", header="Band", allowed=BANDS),
        Column("csu_code", "string", "Clinical service unit recruiting.", header="CSU Code", required=True,
               allowed_reference="csu_code"),
        Column("site_code", "string", "Main site of the post.", header="Site", allowed_reference="site_code"),
        Column("status", "string", "Vacancy status in Trac at extract time.", header="Status", allowed=STATUSES),
        # Trac records some stages as a day alone (checks complete, start): read at midnight, since the lead times
        # are counted in days.
        *(Column(name, "date" if name == "closing_date" else "timestamp", description, header=header,
                 required=name == "authorised_at", not_future=name not in PLANNED_STAGES,
                 formats=() if name == "closing_date" else (*TIME_FORMATS, *DAY_FORMATS))
          for name, header, description in STAGES),
    ),
    rules=stage_order_rules(),
)

# The experience survey: one MS Forms form for applicants and hiring managers, its question texts as headers.
SURVEYS = ("Applicant", "Hiring manager")
EXPERIENCE_ANSWERS = ("Very good", "Good", "Neither good nor poor", "Poor", "Very poor")
POSITIVE = EXPERIENCE_ANSWERS[:2]
SURVEY_Q = "Are you answering as an applicant or as a hiring manager?"
SURVEY_CSU_Q = "Which CSU was the post in?"
EXPERIENCE_Q = "Overall, how was your experience of our recruitment process?"
SURVEY_COMMENT_Q = "Please tell us why you gave this answer."

EXPERIENCE_RESPONSES = Table(
    name="experience_responses",
    description="One row per response to the recruitment experience survey (MS Forms), from applicants and "
                "hiring managers.",
    file_pattern="*experience*.xlsx",
    reader=read_survey_export,
    primary_key=("response_id", "submitted_at"),  # MS Forms numbers each form from 1: staging keys on both
    event_date="submitted_at",
    ignored=("Name", "Email"),  # who answered is not needed: the survey is reported by survey and CSU only
    columns=(
        Column("response_id", "string", "MS Forms response ID.", header="ID", required=True),
        Column("started_at", "timestamp", "When the respondent opened the form.", header="Start time",
               not_future=True),
        Column("submitted_at", "timestamp", "When the response was submitted: the month it counts in.",
               header="Completion time", required=True, not_future=True),
        Column("survey", "string", "Who answered: an applicant or a hiring manager.", header=SURVEY_Q,
               required=True, allowed=SURVEYS),
        Column("csu_name", "string", "CSU of the post, by name as the form lists them (optional).",
               header=SURVEY_CSU_Q),
        Column("experience_answer", "string", "Overall experience on a five-point scale.", header=EXPERIENCE_Q,
               required=True, allowed=EXPERIENCE_ANSWERS),
        Column("comment", "string", "Why the respondent gave that answer. Free text: never published.",
               header=SURVEY_COMMENT_Q, free_text=True),
    ),
)
