"""ed_attendances: the trust's ECDS-like attendance extract → ED time-in-department metrics, for the
whole emergency department and for its Rapid Assessment Unit (RAU)."""

from pathlib import Path

from plugins.contract import Metric, Plugin
from plugins.ed_attendances.schema import ATTENDANCES
from plugins.ed_attendances.synthetic import generate

HERE = Path(__file__).resolve().parent
RAU_PROJECT = "rau_time_in_department"


def scope_metrics(prefix: str, scope: str, who: str, project_id: str | None,
                  median_target: float | None, part_of: str | None = None) -> tuple[Metric, ...]:
    """The five measures of docs/definitions.md for one scope (the whole department, or the RAU alone: a unit
    inside it, so each of its metrics is `part_of` the department's same metric)."""
    common = {"commitment_ids": ("urgent_care",), "project_id": project_id}

    def whole(suffix: str) -> dict[str, str | None]:
        return {"part_of": part_of and f"{part_of}_{suffix}"}

    return (
        Metric(f"{prefix}_median_minutes", f"{scope}: median time in department",
               f"Median minutes from arrival to departure, {who} attendances, by month of arrival.",
               unit="minutes", kind="statistic", direction="decrease", target=median_target, **common,
               **whole("median_minutes")),
        Metric(f"{prefix}_p95_minutes", f"{scope}: 95th percentile time in department",
               f"95th percentile of minutes from arrival to departure, {who} attendances, by month "
               "of arrival: the long waits the median hides.",
               unit="minutes", kind="statistic", direction="decrease", **common, **whole("p95_minutes")),
        Metric(f"{prefix}_within_4_hours_pct", f"{scope}: % within 4 hours",
               f"Share of {who} attendances that left within 4 hours (240 minutes or less) of arrival. "
               "Target 78 %, the recent operational target; the NHS constitutional standard is 95 %.",
               unit="percent", kind="rate", direction="increase", target=78, **common,
               **whole("within_4_hours_pct")),
        Metric(f"{prefix}_over_12_hours_pct", f"{scope}: % over 12 hours from arrival",
               f"Share of {who} attendances more than 12 hours (over 720 minutes) in the department "
               "from arrival (expected: 2 % or fewer).",
               unit="percent", kind="rate", direction="decrease", target=2, **common,
               **whole("over_12_hours_pct")),
        Metric(f"{prefix}_12_hour_dta_waits", f"{scope}: 12-hour decision-to-admit waits",
               f"{who[0].upper()}{who[1:]} attendances that left the department more than 12 hours after the "
               "decision to admit, by month of arrival.",
               unit="count", kind="count", direction="decrease", target=0, **common,
               **whole("12_hour_dta_waits")),
    )


PLUGIN = Plugin(
    name="ed_attendances",
    version="1.0.0",
    description="Emergency department attendances (ECDS-like extract): arrival, assessment, decision to "
                "admit and departure times for every attendance at LGI and SJUH.",
    source_system="ECDS (Emergency Care Data Set) extract from the trust's ED system",
    tables=(ATTENDANCES,),
    metrics=(
        *scope_metrics("ed", "Emergency department", "emergency department", None, None),
        *scope_metrics("ed_rau", "Rapid Assessment Unit", "Rapid Assessment Unit (RAU)", RAU_PROJECT, 200,
                      part_of="ed"),
    ),
    generate=generate,
    models_dir=HERE / "models",
    expectations_dir=HERE / "expectations",
)
