"""The ECDS-like attendance extract as a typed table: one row per emergency department attendance."""

from __future__ import annotations

from plugins.contract import Column, RowRule, Table
from plugins.ed_attendances.reader import read_extract

# The trust's ED treatment areas; RAU is the Rapid Assessment Unit (ambulance arrivals, senior review).
UNITS = ("RAU", "Majors", "Minors", "Resus", "Paediatric")
# ECDS department types: 01 consultant-led 24-hour ED, 02 single specialty, 03 UTC/MIU, 04 walk-in, 05 SDEC.
DEPARTMENT_TYPES = ("01", "02", "03", "04", "05")
# ECDS records the destination as a SNOMED CT code; the trust's extract writes its description.
DISCHARGE_DESTINATIONS = ("Admitted", "Discharged home", "Discharged - GP follow-up", "Referred to clinic",
                          "Transferred", "Left before treatment", "Died")
AGE_BANDS = ("0-4", "5-15", "16-64", "65-79", "80+")
# ISO date-times as the trust's ECDS extract writes them (seconds optional).
FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
MAX_STAY = "interval 7 day"

TIMES = (
    ("arrived_at", "Arrival Date Time", "Arrival in the department: the clock starts.", True),
    ("initial_assessment_at", "Initial Assessment Date Time", "Initial assessment (triage).", False),
    ("seen_for_treatment_at", "Seen For Treatment Date Time", "First seen by a decision-making clinician.", False),
    ("decision_to_admit_at", "Decision To Admit Date Time", "Decision to admit; blank when not admitted.", False),
    ("departed_at", "Departure Date Time", "Left the department: the clock stops.", True),
)

ATTENDANCES = Table(
    name="attendances",
    description="One row per emergency department attendance from the trust's ECDS extract.",
    file_pattern="*attendances*.csv",
    reader=read_extract,
    primary_key=("attendance_id",),
    event_date="arrived_at",
    columns=(
        Column("attendance_id", "string", "ECDS attendance identifier (unique per attendance).",
               header="Attendance Identifier", required=True),
        Column("nhs_number", "string", "Patient's NHS number: lands only as a pseudonym and a status.",
               header="NHS Number", identifier="nhs_number"),
        Column("site_code", "string", "Site of the department.", header="Site Code", required=True,
               allowed_reference="site_code"),
        Column("department_type", "string", "ECDS emergency care department type (01-05).",
               header="Department Type", allowed=DEPARTMENT_TYPES),
        Column("unit", "string", "Treatment area within the department (RAU, Majors, ...).", header="Unit",
               required=True, allowed=UNITS),
        *(Column(name, "timestamp", description, header=header, required=required, formats=FORMATS,
                 not_future=True)
          for name, header, description, required in TIMES),
        Column("acuity", "integer", "ECDS acuity: 1 immediate resuscitation ... 5 non-urgent.", header="Acuity",
               minimum=1, maximum=5),
        Column("discharge_destination", "string", "Where the patient went on leaving the department.",
               header="Discharge Destination", allowed=DISCHARGE_DESTINATIONS),
        Column("age_band", "string", "Age at arrival, banded.", header="Age Band", allowed=AGE_BANDS),
    ),
    # docs/definitions.md: a departure before arrival, or a stay over 7 days, is a data error, not a long wait.
    rules=(
        RowRule("departure before arrival", "departed_at < arrived_at", ("arrived_at", "departed_at")),
        RowRule("stay over 7 days (a data error, not a long wait)", f"departed_at > arrived_at + {MAX_STAY}",
                ("arrived_at", "departed_at")),
        # The 12-hour decision-to-admit wait cannot be measured from a decision outside the attendance.
        RowRule("decision to admit outside the attendance (before arrival or after departure)",
                "decision_to_admit_at < arrived_at or decision_to_admit_at > departed_at",
                ("decision_to_admit_at",)),
    ),
)
