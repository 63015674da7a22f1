"""theatre_cancellations: elective bookings from the theatre system → avoidable and last-minute cancellations."""

from pathlib import Path

from plugins.contract import Metric, Plugin
from plugins.theatre_cancellations.schema import BOOKINGS
from plugins.theatre_cancellations.synthetic import generate

HERE = Path(__file__).resolve().parent

PLUGIN = Plugin(
    name="theatre_cancellations",
    version="1.0.0",
    description="Scheduled elective procedures and their cancellations from the theatre system.",
    source_system="Theatre management system (elective bookings report)",
    tables=(BOOKINGS,),
    metrics=(
        Metric(
            metric_id="theatre_avoidable_cancellation_rate",
            name="Avoidable theatre cancellations (% of scheduled procedures)",
            description="Scheduled elective procedures cancelled or postponed for a reason the KPO counts as "
                        "avoidable (seed theatre_cancellation_reasons), as a % of all procedures scheduled, by "
                        "month of the scheduled date.",
            unit="percent", kind="rate", direction="decrease",
            commitment_ids=("elective_access",), project_id="bronchoscopy_cancellations", target=0,
        ),
        Metric(
            metric_id="theatre_avoidable_cancellations",
            name="Avoidable theatre cancellations",
            description="Scheduled elective procedures cancelled or postponed for an avoidable reason, by month "
                        "of the scheduled date.",
            unit="count", kind="count", direction="decrease", commitment_ids=("elective_access",),
        ),
        Metric(
            metric_id="theatre_last_minute_cancellations",
            name="Last-minute non-clinical cancellations",
            description="Elective procedures the hospital cancelled for non-clinical reasons on the day the patient "
                        "was due to arrive, after arrival or on the day of surgery (the national cancelled "
                        "operations return), by month of the scheduled date.",
            unit="count", kind="count", direction="decrease", commitment_ids=("elective_access",),
        ),
        Metric(
            metric_id="theatre_rebook_28_day_breaches",
            name="Last-minute cancellations not treated within 28 days",
            description="Last-minute non-clinical cancellations whose patient was not treated within 28 days of "
                        "the cancellation (the NHS standard is none), by month of the scheduled date.",
            unit="count", kind="count", direction="decrease", commitment_ids=("elective_access",), target=0,
        ),
    ),
    generate=generate,
    models_dir=HERE / "models",
    expectations_dir=HERE / "expectations",
    seeds_dir=HERE / "seeds",
)
