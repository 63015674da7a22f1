"""A realistic ECDS-like extract for LGI and SJUH, October 2020 to December 2023: ~300 attendances per
site per day with a weekday pattern, winter peaks, the COVID lockdowns and an hourly arrival curve;
the Rapid Assessment Unit's median time in department ~290 minutes until the RPIW and ~200 after it.

Everything is drawn with numpy arrays and written by pyarrow: ~700,000 attendances take seconds.
Deterministic for a seed (numpy's PCG64 stream).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from plugins.contract import Project, SyntheticRequest
from plugins.ed_attendances.flow import Story, arrivals, clinical_times, patients

PROJECT_ID = "rau_time_in_department"
FIRST_DAY, LAST_DAY = np.datetime64("2020-10-01"), np.datetime64("2023-12-31")
SITES = ("LGI", "SJUH")
ATTENDANCES_PER_DAY = (310.0, 290.0)   # by site; LGI also runs the children's ED
WEEKDAY = (1.12, 1.03, 1.0, 0.99, 1.0, 0.93, 0.93)   # Monday first: Mondays are busiest
LOCKDOWNS = (("2020-11-05", "2020-12-02"), ("2021-01-06", "2021-03-08"))
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def daily_means() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site index, day, expected attendances) for every site and day of the extract."""
    days = np.arange(FIRST_DAY, LAST_DAY + 1, dtype="datetime64[D]")
    day_of_year = (days - days.astype("datetime64[Y]")).astype(int)
    winter = np.cos(2 * np.pi * (day_of_year - 15) / 365.25)   # +1 in mid-January, -1 in mid-July
    weekday = np.asarray(WEEKDAY)[(days.astype(int) + 3) % 7]  # 1970-01-01 was a Thursday
    lockdown = np.ones(len(days))
    for start, end in LOCKDOWNS:
        lockdown[(days >= np.datetime64(start)) & (days <= np.datetime64(end))] = 0.8
    shape = (1 + 0.06 * winter) * weekday * lockdown
    site = np.repeat(np.arange(len(SITES)), len(days))
    return site, np.tile(days, len(SITES)), np.concatenate([volume * shape for volume in ATTENDANCES_PER_DAY])


def story_of(project: Project) -> Story:
    return Story(intervention=np.datetime64(project.intervention_date, "D"),
                 rau_factor_after=(project.target or 200) / (project.baseline_value or 290))


def extract_table(rng: np.random.Generator, site_day: np.ndarray, days: np.ndarray, counts: np.ndarray,
                  story: Story) -> pa.Table:
    """The attendances of the given site-days, as the extract's columns, in order of arrival."""
    site, arrived, unit = arrivals(rng, site_day, days, counts)
    journey = clinical_times(rng, unit, arrived, story)
    site_codes = pc.take(pa.array(SITES), pa.array(site))
    sequence = pc.utf8_lpad(pa.array(np.arange(1, len(site) + 1)).cast(pa.string()), 9, "0")
    return pa.table({
        "Attendance Identifier": pc.binary_join_element_wise(site_codes, sequence, ""),
        "NHS Number": patients(rng, len(site)),
        "Site Code": site_codes,
        "Department Type": pa.array(["01"] * len(site), pa.string()),
        "Unit": journey.pop("Unit"),
        **{header: _timestamps(minutes) for header, minutes in journey.pop("times").items()},
        **journey,
    })


def _timestamps(minutes: np.ndarray) -> pa.Array:
    """Minutes since the epoch (NaN = not recorded) as timestamps; pyarrow's CSV writer prints them as
    ECDS extracts do (`YYYY-MM-DD HH:MM:SS`), far faster than formatting strings here."""
    missing = np.isnan(minutes)
    stamps = pa.array(np.where(missing, 0, minutes).astype("int64") * 60, type=pa.timestamp("s"))
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.timestamp("s")), stamps)


def _write_csv(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return path


def generate(request: SyntheticRequest) -> list[Path]:
    """One extract per month of arrival, as the trust's ECDS submission is cut."""
    rng = np.random.default_rng(request.seed)
    site, days, means = daily_means()
    table = extract_table(rng, site, days, rng.poisson(means * request.scale), story_of(request.projects[PROJECT_ID]))
    arrived = table["Arrival Date Time"].to_numpy()
    months = np.arange(FIRST_DAY.astype("datetime64[M]"), LAST_DAY.astype("datetime64[M]") + 2)
    bounds = np.searchsorted(arrived, months.astype("datetime64[s]"))
    return [_write_csv(table.slice(start, end - start), request.inbox / f"ecds_attendances_{month:%Y%m}.csv")
            for month, start, end in zip(months[:-1].tolist(), bounds[:-1], bounds[1:], strict=True) if end > start]


def write_attendances(path: Path, rows: int, seed: int, project: Project) -> Path:
    """Exactly `rows` attendances over the same period and story, in one file (for the ingest benchmark)."""
    rng = np.random.default_rng(seed)
    site, days, means = daily_means()
    counts = rng.multinomial(rows, means / means.sum())
    return _write_csv(extract_table(rng, site, days, counts, story_of(project)), path)
