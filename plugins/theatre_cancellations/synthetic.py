"""A realistic theatre-system extract: every elective procedure scheduled on the trust's weekday lists
from October 2020 to March 2024, across a dozen specialties, with the two seed projects' stories.

- Bronchoscopy (CAR): ~19 % of the list cancelled for avoidable reasons until the intervention; in the
  project's baseline year exactly 119 avoidable cancellations out of 626 scheduled procedures (docs/definitions.md:
  119, 19 %); none after the intervention (27 March 2023), so 0 % from April 2023.
- Paediatric cardiac surgery (CHI): ~15 % avoidable before the RPIW (3 October 2022), ~5 % after.

`scale` multiplies every list's volume. The bronchoscopy baseline year is drawn exactly: round(626·scale)
procedures with round(119·scale) avoidable cancellations, all before the intervention — so the rate stays
≈ 19 % at any scale and the count is exactly 119 at scale 1.0.

A cancelled patient is rebooked into a later slot of the same specialty (a new booking row with the same
NHS number and procedure); the original row carries the rebooked date and the date the patient was
finally treated. Deterministic for a seed; zero rows the landing step would quarantine.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from plugins import nhs_number
from plugins.contract import SyntheticRequest
from plugins.theatre_cancellations.lists import SPECIALTIES, Specialty
from plugins.theatre_cancellations.schema import BOOKINGS, reason_codes

BRONCHOSCOPY, PAEDIATRIC_CARDIAC = "bronchoscopy_cancellations", "paediatric_cardiac_cancellations"
BASELINE_AVOIDABLE = 119  # docs/definitions.md: the bronchoscopy project's baseline count (19 % of the list)
FIRST_DAY, EXTRACT_DATE = dt.date(2020, 10, 1), dt.date(2024, 3, 31)
HOLIDAYS = {(12, 25), (12, 26), (1, 1)}

# Reason codes by kind, from the plugin's seed: the generator never writes a code the seed does not know.
AVOIDABLE = reason_codes(lambda r: r["is_avoidable"] == "true")
NON_CLINICAL = reason_codes(lambda r: r["cancelled_by"] == "hospital" and r["category"] == "non-clinical"
                            and r["is_avoidable"] == "false")
CLINICAL = reason_codes(lambda r: r["cancelled_by"] == "hospital" and r["category"] == "clinical")
PATIENT = reason_codes(lambda r: r["cancelled_by"] == "patient")


@dataclass
class Booking:
    number: int
    specialty: Specialty
    scheduled: dt.date
    tci: dt.date
    site: str
    patient: str
    procedure: str
    outcome: str = "Done"
    cancelled_at: dt.datetime | None = None
    cancelled_by: str = ""
    reason: str = ""
    rebooked: dt.date | None = None
    rebooked_to: Booking | None = field(default=None, repr=False)
    treated: dt.date | None = None


def list_days(specialty: Specialty, start: dt.date, end: dt.date) -> list[dt.date]:
    days = (start + dt.timedelta(days=n) for n in range((end - start).days + 1))
    return [d for d in days if d.weekday() in specialty.list_days and (d.month, d.day) not in HOLIDAYS]


def poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: the stdlib has no Poisson sampler and numpy's would tie us to its stream.
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def schedule(rng: random.Random, request: SyntheticRequest) -> list[tuple[dt.date, Specialty, str]]:
    """Every slot as (date, specialty, mode): mode 'draw' draws its fate; the bronchoscopy baseline
    year is exact ('avoidable' for the chosen slots, 'not_avoidable' for the rest)."""
    project = request.projects[BRONCHOSCOPY]
    story = project.series_key.split(":", 1)[1]
    slots: list[tuple[dt.date, Specialty, str]] = []
    for specialty in SPECIALTIES:
        exact = specialty.name == story
        for day in list_days(specialty, FIRST_DAY, EXTRACT_DATE):
            if not (exact and project.baseline_start <= day <= project.baseline_end):
                slots += [(day, specialty, "draw")] * poisson(rng, specialty.per_list * request.scale)
        if exact:
            slots += baseline_year(rng, request, specialty)
    order = {s.name: i for i, s in enumerate(SPECIALTIES)}
    return sorted(slots, key=lambda slot: (slot[0], order[slot[1].name]))


def baseline_year(rng: random.Random, request: SyntheticRequest,
                  specialty: Specialty) -> list[tuple[dt.date, Specialty, str]]:
    project = request.projects[BRONCHOSCOPY]
    avoidable = round(BASELINE_AVOIDABLE * request.scale)
    scheduled = round(BASELINE_AVOIDABLE / (project.baseline_value / 100) * request.scale)
    days = sorted(rng.choices(list_days(specialty, project.baseline_start, project.baseline_end), k=scheduled))
    # Only slots before the intervention can be the project's avoidable cancellations.
    before = [i for i, d in enumerate(days) if d < project.intervention_date]
    chosen = set(rng.sample(before, min(avoidable, len(before))))
    return [(d, specialty, "avoidable" if i in chosen else "not_avoidable") for i, d in enumerate(days)]


def avoidable_share(specialty: Specialty, day: dt.date, request: SyntheticRequest) -> float:
    """The specialty's chance of an avoidable cancellation; the projects' specialties follow their story."""
    for project_id in (BRONCHOSCOPY, PAEDIATRIC_CARDIAC):
        project = request.projects[project_id]
        if project.series_key == f"specialty:{specialty.name}":
            level = project.baseline_value if day < project.intervention_date else project.target
            return (level or 0) / 100
    return specialty.avoidable


def fate(rng: random.Random, specialty: Specialty, share: float, mode: str) -> tuple[str, str] | None:
    """(reason code, who cancelled) for a cancelled slot, or None when the procedure goes ahead."""
    if mode == "avoidable":
        return rng.choice(AVOIDABLE), "Hospital"
    draw = rng.random()
    if mode == "draw":
        if draw < share:
            return rng.choice(AVOIDABLE), "Hospital"
        draw -= share
    non_clinical = specialty.bed_reasons if rng.random() < 0.5 else NON_CLINICAL
    for chance, codes, party in ((specialty.non_clinical, non_clinical, "Hospital"),
                                 (specialty.clinical, CLINICAL, "Hospital"), (specialty.patient, PATIENT, "Patient")):
        if draw < chance:
            return rng.choice(codes), party
        draw -= chance
    return None


def on_the_day_share(reason: str) -> float:
    """How often a cancellation for this reason happens on the day rather than in advance."""
    if reason == "PT03":
        return 1.0  # did not attend
    if reason == "CL02":
        return 0.1  # no longer required: usually found at pre-assessment
    if reason in AVOIDABLE:
        return 0.65
    return {"NC": 0.85, "CL": 0.6, "PT": 0.3}[reason[:2]]


def cancel(rng: random.Random, booking: Booking, reason: str, party: str, booked_on: dt.date) -> None:
    """When the cancellation happened: on the day (TCI evening or morning of surgery) or in advance."""
    earliest_advance = (booking.tci - booked_on).days - 1
    if rng.random() < on_the_day_share(reason) or earliest_advance < 1:
        day = booking.tci if booking.tci < booking.scheduled and rng.random() < 0.4 else booking.scheduled
        hour = rng.randint(15, 20) if day < booking.scheduled else rng.randint(7, 14)
    else:
        day = booking.tci - dt.timedelta(days=rng.randint(1, min(14, earliest_advance)))
        hour = rng.randint(9, 16)
    booking.cancelled_at = dt.datetime.combine(day, dt.time(hour, rng.randrange(0, 60, 5)))
    booking.outcome = "Cancelled" if day >= booking.tci else "Postponed"
    booking.cancelled_by, booking.reason = party, reason


def ready_for_rebooking(rng: random.Random, booking: Booking) -> dt.date | None:
    """The earliest date the patient can be rebooked, or None when they are not (no longer needed, declined)."""
    if booking.reason == "CL02" or (booking.reason == "PT02" and rng.random() < 0.3):
        return None
    cancelled = booking.cancelled_at.date()
    last_minute = booking.cancelled_by == "Hospital" and booking.outcome == "Cancelled"
    # Most last-minute hospital cancellations are re-dated within the 28-day standard; some are not.
    if not last_minute:
        return cancelled + dt.timedelta(days=rng.randint(7, 56))
    return cancelled + dt.timedelta(days=rng.randint(4, 21) if rng.random() < 0.85 else rng.randint(29, 60))


def patient_number(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.003:
        return ""  # missing: kept with a data-quality flag
    number = nhs_number.synthetic(rng)
    if draw < 0.004:
        return number[:9] + str((int(number[9]) + 1) % 10)  # a mistyped check digit
    return number


def book(rng: random.Random, number: int, day: dt.date, specialty: Specialty, earlier: Booking | None) -> Booking:
    tci = day - dt.timedelta(days=1) if rng.random() < specialty.admit_day_before else day
    if earlier is not None:  # the rebooking of a cancelled patient: same patient, same procedure
        return Booking(number, specialty, day, tci, rng.choice(specialty.sites), earlier.patient, earlier.procedure)
    return Booking(number, specialty, day, tci, rng.choice(specialty.sites), patient_number(rng),
                   rng.choice(specialty.procedures))


def bookings(rng: random.Random, request: SyntheticRequest) -> list[Booking]:
    queues: dict[str, list[tuple[dt.date, int, Booking]]] = {s.name: [] for s in SPECIALTIES}
    made: list[Booking] = []
    for number, (day, specialty, mode) in enumerate(schedule(rng, request), start=40_000_001):
        queue = queues[specialty.name]
        earlier = heapq.heappop(queue)[2] if queue and queue[0][0] <= day else None
        booking = book(rng, number, day, specialty, earlier)
        if earlier is not None:
            earlier.rebooked, earlier.rebooked_to = day, booking
        cancelled = fate(rng, specialty, avoidable_share(specialty, day, request), mode)
        if cancelled is not None:
            booked_on = earlier.cancelled_at.date() if earlier is not None else day - dt.timedelta(days=60)
            cancel(rng, booking, *cancelled, booked_on)
            ready = ready_for_rebooking(rng, booking)
            if ready is not None:
                heapq.heappush(queue, (ready, number, booking))
        made.append(booking)
    for booking in reversed(made):  # a rebooking is always later, so its treatment date is known first
        if booking.outcome == "Done":
            booking.treated = booking.scheduled
        elif booking.rebooked_to is not None:
            booking.treated = booking.rebooked_to.treated
    return made


def _date(value: dt.date | None) -> str:
    # f-strings rather than strftime: ~40k rows × 4 dates is most of the generator's time otherwise.
    return f"{value.day:02d}/{value.month:02d}/{value.year}" if value else ""


def as_row(booking: Booking) -> list[str]:
    """The row as the theatre system exports it, in the order of the extract's headers."""
    cancelled = booking.cancelled_at
    return [str(booking.number), booking.patient, booking.specialty.name, booking.procedure, booking.specialty.csu,
            booking.site, _date(booking.tci), _date(booking.scheduled), booking.outcome,
            f"{_date(cancelled)} {cancelled:%H:%M}" if cancelled else "", booking.cancelled_by, booking.reason,
            _date(booking.rebooked), _date(booking.treated)]


def generate(request: SyntheticRequest) -> list[Path]:
    rng = random.Random(request.seed)
    rows = [as_row(b) for b in bookings(rng, request)]
    request.inbox.mkdir(parents=True, exist_ok=True)
    path = request.inbox / f"theatre_elective_bookings_{EXTRACT_DATE:%Y%m%d}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(c.source_header for c in BOOKINGS.columns)
        writer.writerows(rows)
    return [path]
