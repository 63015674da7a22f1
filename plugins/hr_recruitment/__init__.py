"""hr_recruitment: vacancies from the Trac recruitment system → recruitment lead time metrics."""

from pathlib import Path

from plugins.contract import Metric, Plugin
from plugins.hr_recruitment.schema import VACANCIES
from plugins.hr_recruitment.synthetic import generate

HERE = Path(__file__).resolve().parent

PLUGIN = Plugin(
    name="hr_recruitment",
    version="1.0.0",
    description="Vacancies and recruitment stage dates from the Trac recruitment system.",
    source_system="Trac (recruitment management system)",
    tables=(VACANCIES,),
    metrics=(
        Metric(
            metric_id="recruitment_lead_time_days",
            name="Recruitment lead time (shortlisting to unconditional offer)",
            description="Median days from shortlisting complete to unconditional offer, by month of offer "
                        "(the KPO's recruitment lead time).",
            unit="days", kind="statistic", direction="decrease",
            commitment_ids=("workforce",), project_id="recruitment_lead_time", target=42,
        ),
        Metric(
            metric_id="recruitment_time_to_hire_days",
            name="Time to hire (advert to unconditional offer)",
            description="Median days from advert published to unconditional offer, by month of offer: the "
                        "national time-to-hire measure (expectation: within 8 weeks).",
            unit="days", kind="statistic", direction="decrease",
            commitment_ids=("workforce",), target=56,
        ),
    ),
    generate=generate,
    models_dir=HERE / "models",
    expectations_dir=HERE / "expectations",
)
