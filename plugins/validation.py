"""Is a plugin's declaration well-formed? Problems are returned as sentences, not raised, so the
registry, `kpo plugin check` and the contract tests report every problem at once."""

from __future__ import annotations

import re
from typing import get_args

from plugins.contract import Breakdown, Column, Direction, Metric, MetricKind, Plugin, Project, Table, Unit

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
TEMPORAL = {"date", "timestamp"}
# Columns the landing step adds to every table; a plugin must not declare them.
LINEAGE = {"_source_file", "_source_line", "_content_sha256", "_load_date", "_loaded_at"}


def declaration_problems(plugin: Plugin) -> list[str]:
    problems: list[str] = []
    if not IDENTIFIER.match(plugin.name):
        problems.append(f"name {plugin.name!r} is not a lowercase identifier")
    if not plugin.tables:
        problems.append("declares no tables")
    names = [t.name for t in plugin.tables]
    if len(set(names)) != len(names):
        problems.append(f"table names repeat: {names}")
    for table in plugin.tables:
        problems += [f"table {table.name}: {p}" for p in table_problems(table)]
    for metric in plugin.metrics:
        problems += [f"metric {metric.metric_id}: {p}" for p in metric_problems(metric)]
    for project in plugin.projects:
        problems += [f"project {project.project_id}: {p}" for p in project_problems(project)]
    if not plugin.models_dir.is_dir():
        problems.append(f"models_dir {plugin.models_dir} does not exist")
    if plugin.seeds_dir is not None and not plugin.seeds_dir.is_dir():
        problems.append(f"seeds_dir {plugin.seeds_dir} does not exist")
    return problems


def table_problems(table: Table) -> list[str]:
    problems: list[str] = []
    if not IDENTIFIER.match(table.name):
        problems.append("name is not a lowercase identifier")
    columns = {c.name: c for c in table.columns}
    if len(columns) != len(table.columns):
        problems.append("column names repeat")
    headers = [c.source_header for c in table.columns]
    if len(set(headers)) != len(headers):
        problems.append("extract headers repeat")
    for column in table.columns:
        problems += [f"column {column.name}: {p}" for p in column_problems(column)]
    for key in table.primary_key:
        if key not in columns:
            problems.append(f"primary key column {key!r} is not declared")
    if not table.primary_key:
        problems.append("has no primary key")
    if table.event_date not in columns or columns[table.event_date].type not in TEMPORAL:
        problems.append(f"event_date {table.event_date!r} is not a declared date/timestamp column")
    if table.csu_column and table.csu_column not in columns:
        problems.append(f"csu_column {table.csu_column!r} is not declared")
    if not 0 < table.max_quarantined_share <= 1:
        problems.append(f"max_quarantined_share {table.max_quarantined_share!r} is not a share above 0 and at most 1")
    for rule in table.rules:
        unknown = [c for c in rule.columns if c not in columns]
        if unknown:
            problems.append(f"rule {rule.reason!r} names undeclared columns {unknown}")
    return problems


def column_problems(column: Column) -> list[str]:
    problems: list[str] = []
    if not IDENTIFIER.match(column.name) or column.name in LINEAGE:
        problems.append("name is not a lowercase identifier (or is reserved)")
    if (column.allowed or column.allowed_reference) and column.type != "string":
        problems.append("allowed values need a string column")
    if (column.minimum is not None or column.maximum is not None) and column.type not in {"integer", "number"}:
        problems.append("a range needs a numeric column")
    if column.identifier and column.type != "string":
        problems.append("an identifier column must be a string")
    if column.formats and column.type not in TEMPORAL:
        problems.append("formats only apply to date/timestamp columns")
    return problems


def _not_one_of(what: str, value: object, allowed: tuple[str, ...]) -> list[str]:
    return [] if value in allowed else [f"{what} {value!r} is not one of {'/'.join(allowed)}"]


def _not_ids(what: str, values: object) -> list[str]:
    """A tuple of ids: a bare string (`("patient_safety")`, without the comma) would be read letter by letter."""
    if isinstance(values, tuple) and all(isinstance(value, str) for value in values):
        return []
    example = tuple(values) if isinstance(values, list | set) else (values,)
    return [f"{what} must be a tuple of ids, e.g. {example!r}, not {type(values).__name__} {values!r}"]


def metric_problems(metric: Metric) -> list[str]:
    problems: list[str] = []
    if not IDENTIFIER.match(metric.metric_id):
        problems.append("id is not a lowercase identifier")
    problems += _not_one_of("direction", metric.direction, get_args(Direction))
    problems += _not_one_of("unit", metric.unit, get_args(Unit))
    problems += _not_one_of("kind", metric.kind, get_args(MetricKind))
    problems += _not_ids("commitment_ids", metric.commitment_ids)
    if not metric.commitment_ids:
        problems.append("is aligned to no commitment")
    if metric.kind == "rate" and metric.unit != "percent":
        problems.append("a rate is expressed in percent")
    if metric.shift_run < 2 or metric.trend_run < 2:
        problems.append("SPC run lengths must be at least 2")
    if metric.baseline_points is not None and metric.baseline_points < 2:
        problems.append("an SPC baseline needs at least 2 points")
    return problems


def project_problems(project: Project) -> list[str]:
    """A project is judged on one series of one metric: `trust`, or `<breakdown>:<value>` (e.g. `csu:EMS`)."""
    problems = _not_ids("commitment_ids", project.commitment_ids)
    if not project.commitment_ids:
        problems.append("is aligned to no commitment")
    breakdown, _, value = project.series_key.partition(":")
    if project.series_key != "trust" and (breakdown not in get_args(Breakdown)[1:] or not value):
        problems.append(f"series_key {project.series_key!r} is neither 'trust' nor '<breakdown>:<value>' with a "
                        f"breakdown of {'/'.join(get_args(Breakdown)[1:])}")
    return problems
