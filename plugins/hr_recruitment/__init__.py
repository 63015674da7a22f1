"""hr_recruitment: vacancies from the Trac recruitment system → recruitment lead time metrics; the
applicant and hiring-manager experience survey (MS Forms) → % positive experience."""

from pathlib import Path

from plugins.contract import Metric, Plugin
from plugins.hr_recruitment.schema import EXPERIENCE_RESPONSES, VACANCIES
from plugins.hr_recruitment.synthetic import generate

HERE = Path(__file__).resolve().parent
EXPERIENCE_COMMITMENTS = ("workforce", "experience")
# A local target, as no national one exists: four in five positive. It is above the hiring managers' 67 % at
# re-measure, so the measure still asks for improvement, and below the applicants' 100 %, which a round of a
# dozen responses cannot be expected to hold. The KPO can change it in seeds/metric_settings.csv.
EXPERIENCE_TARGET = 80

PLUGIN = Plugin(
    name="hr_recruitment",
    version="1.0.0",
    description="Vacancies and recruitment stage dates from the Trac recruitment system, and the applicant and "
                "hiring-manager experience survey.",
    source_system="Trac (recruitment management system); Microsoft Forms (experience survey)",
    tables=(VACANCIES, EXPERIENCE_RESPONSES),
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
        Metric(
            metric_id="recruitment_applicant_experience_positive_pct",
            name="Recruitment experience: % of applicants positive",
            description="Applicants rating their overall experience of recruitment 'very good' or 'good', as a "
                        "percentage of all applicant responses, by month of response (the survey runs in rounds).",
            unit="percent", kind="rate", direction="increase",
            commitment_ids=EXPERIENCE_COMMITMENTS, project_id="recruitment_lead_time", target=EXPERIENCE_TARGET,
        ),
        Metric(
            metric_id="recruitment_manager_experience_positive_pct",
            name="Recruitment experience: % of hiring managers positive",
            description="Hiring managers rating their overall experience of recruitment 'very good' or 'good', as "
                        "a percentage of all hiring-manager responses, by month of response (survey rounds).",
            unit="percent", kind="rate", direction="increase",
            commitment_ids=EXPERIENCE_COMMITMENTS, project_id="recruitment_lead_time", target=EXPERIENCE_TARGET,
        ),
    ),
    generate=generate,
    models_dir=HERE / "models",
    expectations_dir=HERE / "expectations",
)
