"""`kpo plugin check NAME [--file EXTRACT]`: the contract checks a KPO analyst can run without pytest,
and a dry run of a real extract that reports every schema mismatch with row and column. Nothing is
loaded: extracts are read into an in-memory DuckDB and the landing SQL runs there.

The repo's contract test suite (tests/contract/) calls these same functions for every plugin.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import duckdb

from pipelines.landing import land_inbox, with_reference_values
from pipelines.reference import Reference, load_reference
from pipelines.row_checks import build_checked, match_headers
from pipelines.settings import Settings
from plugins.contract import Column, Plugin, SyntheticRequest, Table
from plugins.readers import ExtractError


@dataclass(frozen=True)
class Mismatch:
    kind: str  # missing column | extra column | bad value | unreadable file
    column: str | None
    line: int | None
    detail: str

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"line {self.line}" if self.line else "",
                                      f"column {self.column!r}" if self.column else "") if p)
        return f"{self.kind}: {where}{': ' if where else ''}{self.detail}"


def reference_problems(plugin: Plugin, reference: Reference) -> list[str]:
    problems = []
    for metric in plugin.metrics:
        problems += [f"metric {metric.metric_id}: unknown commitment {c!r}"
                     for c in metric.commitment_ids if c not in reference.commitments]
        if metric.project_id and metric.project_id not in reference.projects:
            problems.append(f"metric {metric.metric_id}: unknown project {metric.project_id!r}")
    for project in plugin.projects:
        if project.csu_code not in reference.csus:
            problems.append(f"project {project.project_id}: unknown CSU {project.csu_code!r}")
        problems += [f"project {project.project_id}: unknown commitment {c!r}"
                     for c in project.commitment_ids if c not in reference.commitments]
    return problems


def synthetic_problems(plugin: Plugin, reference: Reference, scale: float = 0.05) -> list[str]:
    """The generator's output must land with zero quarantined and zero rejected rows."""
    problems = []
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), pseudonymisation_key="plugin-check")
        written = plugin.generate(SyntheticRequest(settings.inbox / plugin.name, seed=1, projects=reference.projects,
                                                   scale=scale))
        if not written:
            problems.append("the generator wrote no extract")
        for table in plugin.tables:
            for load in land_inbox(settings, plugin, table, dt.date.today()):
                if load.status == "rejected":
                    problems.append(f"{table.name}: synthetic extract rejected: {load.problem}")
                elif load.rows_quarantined:
                    problems.append(f"{table.name}: {load.rows_quarantined} synthetic rows quarantined "
                                    f"(see {load.quarantine_path})")
    return problems


def table_for(plugin: Plugin, path: Path) -> Table:
    """The table an extract feeds: its file pattern decides (a one-table plugin takes any file)."""
    matches = [t for t in plugin.tables if fnmatch(path.name, t.file_pattern)]
    if len(matches) == 1:
        return matches[0]
    if len(plugin.tables) == 1:
        return plugin.tables[0]
    patterns = ", ".join(f"{t.name}: {t.file_pattern}" for t in plugin.tables)
    raise ValueError(f"{path.name} matches no single table of {plugin.name} ({patterns}); rename it or use --table")


def _lenient(column: Column) -> Column:
    """A column missing from the extract is reported once, not as a bad value on every row."""
    return dataclasses.replace(column, type="string", required=False, allowed=(), allowed_reference=None,
                               minimum=None, maximum=None, formats=(), identifier=None)


def check_extract(plugin: Plugin, path: Path, table: Table | None = None) -> list[Mismatch]:
    """Every schema mismatch of a real extract (missing/extra column, wrong type, value outside the
    declared set or range, a row rule broken), with column and row; nothing is written."""
    table = with_reference_values(table or table_for(plugin, path), load_reference(()))
    with duckdb.connect() as con:
        con.execute("create macro quote_text(v) as '''' || left(cast(v as varchar), 80) || ''''")
        try:
            relation = table.reader(path, con)
            relation.create_view("raw_extract")
            mapping, missing, extra = match_headers(table, relation)
        except (ExtractError, duckdb.Error) as exc:
            return [Mismatch("unreadable file", None, None, str(exc).splitlines()[0])]
        optional = {c.source_header for c in table.columns if c.optional}
        mismatches = [Mismatch("missing column", h, 1, "declared but not in the extract's header")
                      for h in missing if h not in optional]
        mismatches += [Mismatch("extra column", h, 1, "in the extract but not declared (it would be ignored)")
                       for h in extra]
        absent = {c.name for c in table.columns if mapping[c.name] is None}
        checked = dataclasses.replace(table, columns=tuple(_lenient(c) if c.name in absent else c
                                                           for c in table.columns))
        try:
            build_checked(con, checked, mapping, numbered="_line" in relation.columns)
            rows = con.execute("select _line, _problem_columns, _problems from checked "
                               "where _problems is not null order by _line").fetchall()
        except duckdb.Error as exc:
            return [*mismatches, Mismatch("unreadable file", None, None, str(exc).splitlines()[0])]
    mismatches += [Mismatch("bad value", columns, line, reasons) for line, columns, reasons in rows]
    return mismatches
