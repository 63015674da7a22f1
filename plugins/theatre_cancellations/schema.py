"""The theatre system's elective bookings extract as a typed table: one row per scheduled procedure.

Reason codes are checked against the plugin's seed `seeds/theatre_cancellation_reasons.csv` — the same
file dbt loads to classify cancellations — so a code is either known to both or quarantined at landing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import cache
from pathlib import Path

from plugins.contract import DAY_FORMATS, TIME_FORMATS, Column, RowRule, Table
from plugins.theatre_cancellations.reader import read_extract

REASONS_SEED = Path(__file__).resolve().parent / "seeds" / "theatre_cancellation_reasons.csv"
OUTCOMES = ("Done", "Cancelled", "Postponed")
CANCELLED = "('Cancelled', 'Postponed')"
PARTIES = ("Hospital", "Patient")


@cache
def reason_seed() -> tuple[dict[str, str], ...]:
    """The rows of the reason-code seed, as dbt will load them."""
    with REASONS_SEED.open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def reason_codes(where: Callable[[dict[str, str]], bool] = lambda row: True) -> tuple[str, ...]:
    """Reason codes of the seed, optionally only those whose row satisfies `where`."""
    return tuple(row["reason_code"] for row in reason_seed() if where(row))


def _codes_of(party: str) -> str:
    codes = reason_codes(lambda row: row["cancelled_by"] == party)
    return ", ".join(f"'{code}'" for code in codes) or "null"


RULES = (
    RowRule("cancelled or postponed without a reason code",
            f"outcome in {CANCELLED} and reason_code is null", ("reason_code",)),
    RowRule("cancelled or postponed without the time it was cancelled",
            f"outcome in {CANCELLED} and cancelled_at is null", ("cancelled_at",)),
    RowRule("cancelled or postponed without who cancelled",
            f"outcome in {CANCELLED} and cancelled_by is null", ("cancelled_by",)),
    # The seed says who may record each code: a patient reason on a hospital cancellation (or the
    # reverse) would move it between the national return's lines.
    RowRule("reason code cannot be recorded by the party in Cancelled By",
            f"(cancelled_by = 'Hospital' and reason_code in ({_codes_of('patient')}))"
            f" or (cancelled_by = 'Patient' and reason_code in ({_codes_of('hospital')}))",
            ("reason_code", "cancelled_by")),
    RowRule("procedure recorded as done has cancellation details",
            "outcome = 'Done' and (reason_code is not null or cancelled_at is not null or cancelled_by is not null)",
            ("outcome",)),
    RowRule("TCI date is after the scheduled date", "tci_date > scheduled_date", ("tci_date",)),
    RowRule("rebooked date is before the cancellation", "rebooked_date < cast(cancelled_at as date)",
            ("rebooked_date",)),
    RowRule("treated date is before the cancellation", "treated_date < cast(cancelled_at as date)",
            ("treated_date",)),
)

BOOKINGS = Table(
    name="bookings",
    description="One row per scheduled elective procedure from the theatre system, with its outcome and, for "
                "cancellations, when, by whom and why it was cancelled and when the patient was rebooked and treated.",
    file_pattern="*theatre*.csv",
    reader=read_extract,
    primary_key=("booking_id",),
    event_date="scheduled_date",
    csu_column="csu_code",
    columns=(
        Column("booking_id", "string", "Theatre system booking id; a rebooking is a new booking.", header="Booking ID",
               required=True),
        Column("nhs_number", "string", "Patient's NHS number (pseudonymised at landing).", header="NHS Number",
               identifier="nhs_number"),
        Column("specialty", "string", "Treatment specialty of the list.", header="Specialty", required=True),
        Column("procedure_name", "string", "Planned procedure as the theatre system names it.", header="Procedure"),
        Column("csu_code", "string", "Clinical service unit that owns the list.", header="CSU", required=True,
               allowed_reference="csu_code"),
        Column("site_code", "string", "Hospital site of the theatre.", header="Site", allowed_reference="site_code"),
        Column("tci_date", "date", "To-come-in date: the day the patient was due to arrive (blank for some day "
                                   "cases: the scheduled date).", header="TCI Date", optional=True),
        Column("scheduled_date", "date", "Date the procedure was scheduled for.", header="Scheduled Date",
               required=True),
        Column("outcome", "string", "Done, Cancelled (on or after the TCI date) or Postponed (in advance).",
               header="Outcome", required=True, allowed=OUTCOMES),
        # A day alone is enough: what makes a cancellation last-minute is the day it was recorded (read at midnight).
        Column("cancelled_at", "timestamp", "When the cancellation was recorded.", header="Cancelled At",
               not_future=True, formats=(*TIME_FORMATS, *DAY_FORMATS)),
        Column("cancelled_by", "string", "Hospital or Patient.", header="Cancelled By", allowed=PARTIES),
        Column("reason_code", "string", "Cancellation reason code (seed theatre_cancellation_reasons).",
               header="Reason Code", allowed=reason_codes()),
        Column("rebooked_date", "date", "Date of the new booking, when one was made.", header="Rebooked Date"),
        Column("treated_date", "date", "Date the patient had the procedure (this booking or a later one).",
               header="Treated Date", not_future=True),
    ),
    rules=RULES,
)
