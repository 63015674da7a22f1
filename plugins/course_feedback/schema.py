"""The MS Forms course-feedback export as a typed table: one row per response (one response = one
participant, the convention the KPO uses for its training figures)."""

from __future__ import annotations

from plugins.contract import Column, RowRule, Table
from plugins.course_feedback.reader import read_export

# The courses as the form offers them. The intermediate course was called "Lean for Leaders" when it
# started; responses given under the old name are the same course (staging maps the name).
COURSES = ("Corporate induction", "Introduction to value & waste", "Foundation day", "Intermediate course",
           "Bespoke session")
FORMER_NAMES = {"Lean for Leaders": "Intermediate course"}
# Friends-and-Family-style answers, best first; "Don't know" still counts in the denominator.
ANSWERS = ("Extremely likely", "Likely", "Neither likely nor unlikely", "Unlikely", "Extremely unlikely",
           "Don't know")
RECOMMENDING = ANSWERS[:2]

# MS Forms exports each question's full text as its column header.
COURSE_Q = "Which course did you attend?"
SESSION_DATE_Q = "What was the date of your session?"
DELIVERY_Q = "How was the session delivered?"
STAFF_GROUP_Q = "Which staff group are you in?"
CSU_Q = "Which CSU do you work in?"
RECOMMEND_Q = "How likely are you to recommend this course to a colleague?"
COMMENT_Q = "Please tell us the main reason for your answer."

FEEDBACK_RESPONSES = Table(
    name="feedback_responses",
    description="One row per response to the KPO's course feedback form (MS Forms), one response per participant.",
    file_pattern="*feedback*.xlsx",
    reader=read_export,
    primary_key=("response_id", "submitted_at"),  # MS Forms numbers each form from 1: staging keys on both
    event_date="session_date",
    ignored=("Name",),  # the respondent's display name: the pseudonymised e-mail identifies a participant
    columns=(
        Column("response_id", "string", "MS Forms response ID (numbered in order of submission).", header="ID",
               required=True),
        Column("started_at", "timestamp", "When the respondent opened the form.", header="Start time",
               not_future=True),
        Column("submitted_at", "timestamp", "When the response was submitted.", header="Completion time",
               required=True, not_future=True),
        Column("respondent_email", "string", "The respondent's NHSmail address (signed-in form); pseudonymised.",
               header="Email", identifier="staff"),
        Column("course", "string", "The course attended, as answered (including its former name).",
               header=COURSE_Q, required=True, allowed=(*COURSES, *FORMER_NAMES)),
        Column("session_date", "date", "Date of the session attended: the month a participant counts in.",
               header=SESSION_DATE_Q, required=True, not_future=True),
        Column("delivery_mode", "string", "In person or online; descriptive, not checked.", header=DELIVERY_Q),
        Column("staff_group", "string", "Staff group as the respondent chose it (the form allows 'Other').",
               header=STAFF_GROUP_Q),
        Column("csu_name", "string", "CSU the respondent works in, by name as the form lists them.", header=CSU_Q),
        Column("recommend_answer", "string", "Friends-and-Family-style answer: likelihood to recommend the course.",
               header=RECOMMEND_Q, required=True, allowed=ANSWERS),
        Column("comment", "string", "Why the respondent gave that answer. Free text: never published.",
               header=COMMENT_Q, free_text=True),
    ),
    rules=(
        RowRule(reason=f"session date is after the response was submitted ('{SESSION_DATE_Q}')",
                invalid_when="session_date > cast(submitted_at as date)", columns=("session_date", "submitted_at")),
    ),
)
