"""course_feedback: the KPO's course feedback form (MS Forms) → training participants and % recommend."""

from pathlib import Path

from plugins.contract import Metric, Plugin
from plugins.course_feedback.schema import FEEDBACK_RESPONSES
from plugins.course_feedback.synthetic import generate

HERE = Path(__file__).resolve().parent
COMMITMENTS = ("improvement_capability",)

PLUGIN = Plugin(
    name="course_feedback",
    version="1.0.0",
    description="Responses to the KPO's Leeds Improvement Method course feedback form.",
    source_system="Microsoft Forms (course feedback form, xlsx export)",
    tables=(FEEDBACK_RESPONSES,),
    metrics=(
        Metric(
            metric_id="course_participants",
            name="Improvement course participants",
            description="Participants in the KPO's improvement courses by month of session. One feedback response "
                        "is one participant: the MS Forms convention the KPO uses for its training figures.",
            unit="count", kind="count", direction="increase",
            commitment_ids=COMMITMENTS, project_id="improvement_training",
        ),
        Metric(
            metric_id="course_recommend_pct",
            name="Improvement courses: % likely to recommend",
            description="Responses 'extremely likely' or 'likely' to recommend the course, as a percentage of all "
                        "responses including 'don't know' (the Friends and Family Test rule), by month of session.",
            unit="percent", kind="rate", direction="increase",
            commitment_ids=COMMITMENTS, project_id="improvement_training", target=95,
        ),
        Metric(
            metric_id="course_intermediate_capacity_used_pct",
            name="Intermediate course: % of monthly capacity used",
            description="Intermediate-course participants in the month as a percentage of the course's capacity "
                        "of new participants a month (25; seed course_capacity). An empty place is capability the "
                        "KPO could have built, so higher is better.",
            unit="percent", kind="rate", direction="increase",
            commitment_ids=COMMITMENTS, project_id="improvement_training",
        ),
    ),
    generate=generate,
    models_dir=HERE / "models",
    expectations_dir=HERE / "expectations",
    seeds_dir=HERE / "seeds",
)
