"""The synthetic patient flow: who arrives when, in which unit, and how long each step takes.

All times are minutes since 1970-01-01 (float arrays, NaN = not recorded). Stays are log-normal
(a few patients wait very long); admitted patients wait for a bed after the decision to admit, and
that wait grows in winter. After the RPIW every RAU time is scaled by target / baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plugins.ed_attendances.schema import AGE_BANDS, UNITS
from plugins.nhs_number import WEIGHTS

RAU = UNITS.index("RAU")
MINUTES_PER_DAY = 1440
LONGEST_STAY = 7 * MINUTES_PER_DAY - 1   # a longer stay is a data error (docs/definitions.md), never generated
# Arrivals by hour of day, midnight first: a morning climb, a plateau to early evening, a night trough.
HOURLY = np.array([2.2, 1.8, 1.5, 1.3, 1.1, 1.1, 1.4, 2.2, 3.6, 5.3, 6.2, 6.4,
                   6.2, 5.9, 5.7, 5.6, 5.6, 5.6, 5.5, 5.3, 4.9, 4.3, 3.6, 2.9])
# Per unit, in UNITS order (RAU, Majors, Minors, Resus, Paediatric).
UNIT_SHARE = np.array([[0.21, 0.29, 0.25, 0.04, 0.21],    # LGI, with the children's ED
                       [0.26, 0.36, 0.33, 0.05, 0.00]])   # SJUH
ADMITTED = np.array([0.35, 0.30, 0.03, 0.65, 0.12])
STAY_MEDIAN = np.array([272.0, 150.0, 110.0, 170.0, 120.0])   # minutes, patients not admitted
STAY_SIGMA = np.array([0.42, 0.5, 0.5, 0.5, 0.5])
TO_DECISION_MEDIAN = np.array([150.0, 95.0, 90.0, 60.0, 100.0])   # seen for treatment → decision to admit
ACUITY = np.array([[0.01, 0.30, 0.59, 0.10, 0.00], [0.02, 0.20, 0.58, 0.20, 0.00],
                   [0.00, 0.01, 0.19, 0.60, 0.20], [0.60, 0.38, 0.02, 0.00, 0.00],
                   [0.01, 0.10, 0.40, 0.39, 0.10]])
AGE = np.array([[0, 0, 0.45, 0.30, 0.25], [0, 0, 0.60, 0.25, 0.15], [0, 0, 0.80, 0.13, 0.07],
                [0, 0, 0.50, 0.30, 0.20], [0.5, 0.5, 0, 0, 0]])
NOT_ADMITTED = ("Discharged home", "Discharged - GP follow-up", "Referred to clinic", "Transferred",
                "Left before treatment", "Died")
LEFT = NOT_ADMITTED.index("Left before treatment")
DESTINATION = np.array([[0.55, 0.25, 0.15, 0.04, 0.01, 0.00], [0.50, 0.25, 0.17, 0.04, 0.04, 0.00],
                        [0.55, 0.25, 0.12, 0.01, 0.07, 0.00], [0.60, 0.05, 0.10, 0.20, 0.00, 0.05],
                        [0.60, 0.20, 0.15, 0.01, 0.04, 0.00]])


@dataclass(frozen=True)
class Story:
    """The RAU project: from `intervention` (the RPIW) RAU times are multiplied by `rau_factor_after`."""

    intervention: np.datetime64
    rau_factor_after: float


def categorical(rng: np.random.Generator, probabilities: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One draw per row from the probabilities of its group (a row of `probabilities`)."""
    cumulative = np.cumsum(probabilities, axis=1)[group]
    return (rng.random(len(group))[:, None] > cumulative[:, :-1]).sum(axis=1)


def pick(names: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pc.take(pa.array(names), pa.array(index))


def lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: np.ndarray | float, size: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(size))


def arrivals(rng: np.random.Generator, site_day: np.ndarray, days: np.ndarray,
             counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site, arrival minute, unit) for `counts[i]` attendances at site `site_day[i]` on `days[i]`, by arrival."""
    index = np.repeat(np.arange(len(counts)), counts)
    minute_of_day = rng.choice(24, size=len(index), p=HOURLY / HOURLY.sum()) * 60 + rng.integers(0, 60, len(index))
    arrived = days[index].astype("int64") * MINUTES_PER_DAY + minute_of_day
    order = np.argsort(arrived, kind="stable")   # the extract lists attendances in order of arrival
    site = site_day[index][order]
    return site, arrived[order].astype(float), categorical(rng, UNIT_SHARE, site)


def winter_pressure(arrived: np.ndarray) -> np.ndarray:
    """+1 in mid-January, -1 in mid-July."""
    days = (arrived // MINUTES_PER_DAY).astype("int64").astype("datetime64[D]")
    day_of_year = (days - days.astype("datetime64[Y]")).astype(int)
    return np.cos(2 * np.pi * (day_of_year - 15) / 365.25)


def clinical_times(rng: np.random.Generator, unit: np.ndarray, arrived: np.ndarray, story: Story) -> dict:
    """Every column of the extract that depends on the patient's journey through the department."""
    size = len(unit)
    winter = winter_pressure(arrived)
    after = (unit == RAU) & (arrived >= story.intervention.astype("datetime64[m]").astype("int64"))
    factor = (1 + 0.08 * winter) * np.where(after, story.rau_factor_after, 1.0)
    admitted = rng.random(size) < ADMITTED[unit]
    destination = np.where(admitted, -1, categorical(rng, DESTINATION, unit))
    left = destination == LEFT
    assessment = lognormal(rng, 12, 0.7, size)
    seen = assessment + lognormal(rng, 50, 0.8, size)
    decision = seen + lognormal(rng, TO_DECISION_MEDIAN[unit], 0.5, size)
    bed_wait = lognormal(rng, 75 * (1 + 0.6 * np.clip(winter, 0, None)), 0.9, size)
    home = lognormal(rng, STAY_MEDIAN[unit], STAY_SIGMA[unit], size) * np.where(left, 0.6, 1.0)
    stay = np.clip(np.rint(np.where(admitted, decision + bed_wait, home) * factor), 5, LONGEST_STAY)
    seen = np.minimum(np.rint(seen * factor), stay)
    assessment = np.minimum(np.rint(assessment * factor), seen)
    decision = np.minimum(np.rint(decision * factor), stay)
    return {
        "Unit": pick(UNITS, unit),
        "times": {
            "Arrival Date Time": arrived,
            "Initial Assessment Date Time": arrived + assessment,
            "Seen For Treatment Date Time": np.where(left, np.nan, arrived + seen),
            "Decision To Admit Date Time": np.where(admitted, arrived + decision, np.nan),
            "Departure Date Time": arrived + stay,
        },
        "Acuity": pa.array(categorical(rng, ACUITY, unit) + 1),
        "Discharge Destination": pick(("Admitted", *NOT_ADMITTED), destination + 1),
        "Age Band": pick(AGE_BANDS, categorical(rng, AGE, unit)),
    }


def nhs_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` distinct valid NHS numbers from the never-issued 999 range (mod-11, as plugins.nhs_number)."""
    suffix = rng.choice(1_000_000, size=min(1_000_000, int(count * 1.15) + 20), replace=False)
    digits = (suffix[:, None] // 10 ** np.arange(5, -1, -1)) % 10
    total = 9 * sum(WEIGHTS[:3]) + digits @ np.asarray(WEIGHTS[3:])
    check = (11 - total % 11) % 11
    valid = check != 10
    return ((999_000_000 + suffix[valid]) * 10 + check[valid])[:count]


def patients(rng: np.random.Generator, count: int) -> pa.Array:
    """NHS numbers per attendance: frequent attenders come back; ~0.3 % missing, ~0.05 % mistyped."""
    pool = nhs_numbers(rng, min(max(count // 2, 1), 800_000))
    picks = pool[(len(pool) * rng.random(count) ** 1.6).astype("int64")]
    roll = rng.random(count)
    last = picks % 10
    picks = np.where(roll < 0.0005, picks - last + (last + 1) % 10, picks)   # one wrong digit fails mod-11
    return pc.if_else(pa.array(roll > 0.997), pa.nulls(count, pa.string()), pa.array(picks).cast(pa.string()))
