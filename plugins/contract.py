"""The plugin contract: everything a data source declares and provides. Read this to write a plugin.

A plugin is one `Plugin` value. It declares, as data, the tables its extracts land as (typed
columns, primary key, event date, identifiers, allowed values, row rules) and the metrics it
contributes; it provides a reader per table and a synthetic-data generator. The core does the rest
the same way for every plugin: typing, validation, quarantine, pseudonymisation, landing, checks,
dbt, publication. A plugin never imports Dagster or dbt; its dbt models live in `models_dir`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import duckdb

ColumnType = Literal["string", "integer", "number", "date", "timestamp", "boolean"]
Direction = Literal["increase", "decrease", "neutral"]
Unit = Literal["days", "minutes", "percent", "count"]
# How a metric's value relates to its parts: rate = 100·numerator/denominator, count = numerator,
# statistic = a median/percentile over `denominator` records (cannot be rebuilt from parts).
MetricKind = Literal["rate", "count", "statistic"]
Breakdown = Literal["trust", "csu", "site", "specialty", "course", "staff_group"]

# How dates and times are read when a column declares no `formats` (never guessed: see Column). A time is read
# with its time of day: a bare date read as midnight would count a discharge "before noon", or an arrival hours
# early. A table whose times may be a day alone, where its rules need only the day (a recruitment stage, the day a
# cancellation was recorded), declares `formats=(*TIME_FORMATS, *DAY_FORMATS)`.
DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
TIME_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
# A handful of bad rows in a small extract (a correction) are errors in the data, whatever their share.
MIN_QUARANTINED_TO_REJECT = 10
DEFAULT_FORMATS = {"date": (*DAY_FORMATS, "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"),
                   "timestamp": TIME_FORMATS}


@dataclass(frozen=True)
class Column:
    """One landed column; `header` is its name in the extract when that differs from `name`.
    `allowed_reference` takes the allowed values from reference data (the CSU or site seed).
    An `identifier` never lands raw: it becomes `<name>_pseudonym` (HMAC-SHA256) and `<name>_status`;
    NHS numbers are mod-11 checked first, staff identifiers (e-mail, assignment number) are trimmed and
    lower-cased. A `free_text` column lands but never reaches a published table. An `optional` column
    may be absent from an extract (some exports lack it): it then lands as null, with a warning.
    A `not_future` date or time records something that has happened: a value after tomorrow (the landing's
    date, plus a day for clocks and time zones) is quarantined; a backfill judges it against the day the
    extract was first landed, so re-landing a day gives what landing it gave. Dates and times are read by
    `formats` (or DEFAULT_FORMATS) alone, never guessed: a bare date for a time (unless the column's formats
    read one), an offset or "24:00" that no format reads is unreadable, and so is a year before 1000
    ("01/10/20" is never the year 20)."""

    name: str
    type: ColumnType
    description: str
    header: str | None = None
    required: bool = False
    allowed: tuple[str, ...] = ()
    allowed_reference: Literal["csu_code", "site_code"] | None = None
    minimum: float | None = None
    maximum: float | None = None
    formats: tuple[str, ...] = ()
    identifier: Literal["nhs_number", "staff"] | None = None
    free_text: bool = False
    optional: bool = False
    not_future: bool = False

    @property
    def source_header(self) -> str:
        return self.header or self.name


@dataclass(frozen=True)
class RowRule:
    """A row the metric cannot use: quarantined with `reason` when `invalid_when` (DuckDB SQL over
    the typed columns, nulls meaning 'not reached') is true."""

    reason: str
    invalid_when: str
    columns: tuple[str, ...]


class Reader(Protocol):
    def __call__(self, path: Path, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        """Raw rows of one extract, in file order: VARCHAR columns named as its headers, plus `_line`
        (file line) unless records are consecutive lines from 2, which the core then numbers itself."""
        ...


@dataclass(frozen=True)
class Table:
    """One table the plugin lands, fed by the inbox files matching `file_pattern`. `ignored` names extract
    columns left out on purpose (a form's respondent name): they never land, and no run warns of them, as it
    does of any other undeclared column. An extract in which at least `MIN_QUARANTINED_TO_REJECT` rows, and more
    than `max_quarantined_share` of its rows, would be quarantined is rejected whole: that many bad rows say the
    export changed shape (a new date format, a file re-saved by Excel), and landing the rest would publish its
    months with most of their records missing."""

    name: str
    description: str
    file_pattern: str
    reader: Reader
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    event_date: str
    csu_column: str | None = None
    rules: tuple[RowRule, ...] = ()
    ignored: tuple[str, ...] = ()
    max_quarantined_share: float = 0.2

    def ignores(self, header: str) -> bool:
        """Whether an extract column is one left out on purpose (matched as headers are: trimmed, any case)."""
        return header.strip().casefold() in {name.strip().casefold() for name in self.ignored}

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise ValueError(f"table {self.name} has no column {name!r}; its columns: "
                         f"{', '.join(c.name for c in self.columns)}")


@dataclass(frozen=True)
class Metric:
    """A metric the plugin contributes to the registry; its monthly values come from the plugin's
    dbt models in `models_dir/metric_rows/` (daily values, where the metric allows, from
    `models_dir/metric_rows_daily/`)."""

    metric_id: str
    name: str
    description: str
    unit: Unit
    kind: MetricKind
    direction: Direction
    commitment_ids: tuple[str, ...]
    project_id: str | None = None
    target: float | None = None
    baseline_points: int | None = None
    shift_run: int = 7
    trend_run: int = 7
    screen_moving_ranges: bool = False
    # The metric measures a unit inside another metric's scope (a unit inside a department): each of its
    # cells counts a part of the same cell of `part_of` (same series, month and measure), and every one of
    # its series, its trust row included, is below trust level for disclosure control (docs/disclosure.md).
    part_of: str | None = None


@dataclass(frozen=True)
class Project:
    """A KPO improvement project a plugin brings with it (most live in the projects seed)."""

    project_id: str
    name: str
    csu_code: str
    commitment_ids: tuple[str, ...]
    metric_id: str
    series_key: str
    baseline_value: float | None
    baseline_start: dt.date | None
    baseline_end: dt.date | None
    target: float | None
    intervention_date: dt.date
    remeasure_dates: tuple[dt.date, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class SyntheticRequest:
    """What a generator is asked for: where to write, the seed, the projects whose story it tells."""

    inbox: Path
    seed: int
    projects: Mapping[str, Project]
    scale: float = 1.0


class Generator(Protocol):
    def __call__(self, request: SyntheticRequest) -> list[Path]:
        """Write realistic synthetic extracts into `request.inbox`, deterministic for the seed."""
        ...


@dataclass(frozen=True)
class Plugin:
    """A data source: its declaration, reader(s), generator and dbt models."""

    name: str
    version: str
    description: str
    source_system: str
    tables: tuple[Table, ...]
    metrics: tuple[Metric, ...]
    generate: Generator
    models_dir: Path
    expectations_dir: Path
    projects: tuple[Project, ...] = ()
    seeds_dir: Path | None = None
    origin: str = field(default="built-in", compare=False)

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise ValueError(f"{self.name} has no table {name!r}; its tables: {', '.join(t.name for t in self.tables)}")
