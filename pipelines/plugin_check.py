"""`kpo plugin check NAME [--file EXTRACT]`: the contract checks a KPO analyst can run without pytest,
and a dry run of a real extract that reports every schema mismatch with row and column. Nothing is
loaded: extracts are read into an in-memory DuckDB and the landing SQL runs there. What landing takes
with a warning (an undeclared column, an absent optional one) the dry run reports as a warning too.

The repo's contract test suite (tests/contract/) calls these same functions for every plugin.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.date_order import order_problem
from pipelines.landing import (
    DeclarationDrift,
    declaration_drift,
    error_summary,
    land_inbox,
    matches_pattern,
    picked_up,
    with_reference_values,
)
from pipelines.reference import Reference, load_reference
from pipelines.repeats import collapse_repeats
from pipelines.row_checks import LoadError, build_checked, match_headers, too_many_quarantined
from pipelines.settings import Settings, london_today
from plugins.contract import Column, Plugin, SyntheticRequest, Table
from plugins.readers import ExtractError, missing_columns_hint

# Landing loads an extract with these, noting them in its load record (row_checks.check_headers).
WARNING_KINDS = frozenset({"extra column", "absent optional column", "repeated record"})


@dataclass(frozen=True)
class Mismatch:
    # file name | missing column | extra column | absent optional column | rejected whole | bad value
    # | unreadable file | landing suite | repeated record
    kind: str
    column: str | None
    line: int | None
    detail: str

    @property
    def warning(self) -> bool:
        """The nightly run would load the extract anyway: the dry run must not fail where the run does not."""
        return self.kind in WARNING_KINDS

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"line {self.line}" if self.line else "",
                                      f"column {self.column!r}" if self.column else "") if p)
        return f"{self.kind}: {where}{': ' if where else ''}{self.detail}"


def _unknown(what: str, values: tuple[str, ...], known: Collection[str]) -> list[str]:
    return [f"unknown {what} {value!r} (known: {', '.join(sorted(known))})" for value in values if value not in known]


def reference_problems(plugin: Plugin, reference: Reference, metric_ids: Collection[str] = ()) -> list[str]:
    """Against the reference data, and `metric_ids` (every registered plugin's): a project is judged on one."""
    problems = []
    for metric in plugin.metrics:
        problems += [f"metric {metric.metric_id}: {p}"
                     for p in _unknown("commitment", metric.commitment_ids, reference.commitments)
                     + _unknown("project", (metric.project_id,) if metric.project_id else (), reference.projects)]
    for project in plugin.projects:
        problems += [f"project {project.project_id}: {p}"
                     for p in _unknown("CSU", (project.csu_code,), reference.csus)
                     + _unknown("commitment", project.commitment_ids, reference.commitments)
                     + (_unknown("metric", (project.metric_id,), metric_ids) if metric_ids else [])]
    return problems


def seed_problems(folder: Path | None = None) -> list[str]:
    """The KPO's seeds (`dbt_project/seeds/`) against what the night's build asks of them (`_seeds.yml`): a value
    in every column a not_null test guards, unique keys, and each cell readable as its column type. Any of these
    fails the build, and so that night's publication for every source: said here first, by file, line and column."""
    import yaml

    from pipelines.settings import REPO_ROOT

    folder = folder or REPO_ROOT / "dbt_project" / "seeds"
    seeds = (yaml.safe_load((folder / "_seeds.yml").read_text()) or {}).get("seeds") or []
    with duckdb.connect() as con:  # DuckDB's casts judge the types, as the seed's load does
        return [problem for seed in seeds if (folder / f"{seed['name']}.csv").exists()
                for problem in _seed_file_problems(folder / f"{seed['name']}.csv", seed, con)]


def _seed_file_problems(path: Path, seed: dict, con: duckdb.DuckDBPyConnection) -> list[str]:
    """One seed file's problems against its entry in `_seeds.yml` (see seed_problems)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:  # Excel's "CSV UTF-8" starts with a BOM
        reader = csv.DictReader(handle)
        rows = [(reader.line_num, row) for row in reader]
    problems = []
    for column in seed.get("columns") or []:
        tests = {test if isinstance(test, str) else next(iter(test)) for test in column.get("data_tests") or []}
        values = [(line, (row.get(column["name"]) or "").strip()) for line, row in rows]
        if "not_null" in tests:
            problems += [f"{path.name} line {line}: {column['name']} is blank" for line, value in values if not value]
        if "unique" in tests:
            lines: dict[str, list[int]] = {}
            for line, value in values:
                lines.setdefault(value, []).append(line)
            problems += [f"{path.name} lines {', '.join(map(str, at))}: {column['name']} {value!r} repeats"
                         for value, at in lines.items() if value and len(at) > 1]
    for name, sql_type in ((seed.get("config") or {}).get("column_types") or {}).items():
        problems += [f"{path.name} line {line}: {name} {value!r} is not a {sql_type}"
                     for line, row in rows if (value := (row.get(name) or "").strip())
                     and con.execute(f"select try_cast(? as {sql_type}) is null", [value]).fetchall()[0][0]]
    return problems


def landed_drift(settings: Settings, plugin: Plugin) -> list[DeclarationDrift]:
    """The plugin's tables whose loads, landed in this home under an earlier declaration, lack a column the
    table declares now (a column renamed or added since): each names the load dates to re-land."""
    return [drift for table in plugin.tables if (drift := declaration_drift(settings, plugin, table)) is not None]


EXPECTATION_COLUMNS = ("column", "column_A", "column_B")  # the kwargs naming one column; column_list names several


CONTRACT_FOLDERS = {"metric_rows", "metric_rows_daily"}  # dbt_project.yml enforces a contract on these


def _contract_columns(models_dir: Path) -> dict[str, set[str]]:
    """The columns of each model under an enforced contract (a metric-rows folder, or its own config): its .yml
    lists them all. Another model's .yml may list only some, and is not held to it."""
    import yaml

    declared: dict[str, set[str]] = {}
    for path in models_dir.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            enforced = ((model.get("config") or {}).get("contract") or {}).get("enforced")
            if path.parent.name in CONTRACT_FOLDERS or enforced:
                declared[model["name"]] = {column["name"] for column in model.get("columns") or []
                                           if "name" in column}
    return declared


def dbt_model_names(plugins: Collection[Plugin]) -> set[str]:
    """Every model of the assembled project: the core's and every registered plugin's."""
    from pipelines.settings import REPO_ROOT

    folders = [REPO_ROOT / "dbt_project" / "models", *(plugin.models_dir for plugin in plugins)]
    return {path.stem for folder in folders for path in folder.rglob("*.sql")}


def suite_problems(plugin: Plugin, models: Collection[str] = ()) -> list[str]:
    """What a run would stop on in the plugin's great-expectations suites, found without running them: a file
    that is not JSON, a landing suite for no table (`landing__<table>.json`), a suite for no model, and an
    expectation naming a column its table or model does not have (it fails every load as a data problem)."""
    import json

    from pipelines.gx_suites import plugin_suites
    from pipelines.landing import LINEAGE_COLUMNS
    from pipelines.typing_sql import landed_names

    tables = {table.name: table for table in plugin.tables}
    own = sorted(path.stem for path in plugin.models_dir.rglob("*.sql"))
    models = {*models, *own}  # a suite may check any model of the assembled project
    model_columns = _contract_columns(plugin.models_dir)
    problems = []
    for suite in plugin_suites(plugin):
        where = f"{suite.path.parent.name}/{suite.path.name}"
        try:
            definition = suite.definition()
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")
            continue
        expectations = definition.get("expectations") if isinstance(definition, dict) else None
        if not isinstance(expectations, list):
            problems.append(f"{where}: holds no list of \"expectations\"")
            continue
        if suite.kind == "landing":
            if suite.target not in tables:
                problems.append(f"{where}: a landing suite is named landing__<table>.json, and {plugin.name} has no "
                                f"table {suite.target!r} (its tables: {', '.join(tables)})")
                continue
            target, columns = f"table {suite.target}", {*landed_names(tables[suite.target]), *LINEAGE_COLUMNS}
        elif suite.target in models:
            target, columns = f"model {suite.target}", model_columns.get(suite.target)
        else:
            problems.append(f"{where}: a suite is named after the model it checks (or landing__<table>.json), and "
                            f"no model is named {suite.target!r} ({plugin.name}'s models: {', '.join(own)})")
            continue
        for number, expectation in enumerate(expectations, 1):
            kwargs = expectation.get("kwargs") or {} if isinstance(expectation, dict) else {}
            named = [kwargs[key] for key in EXPECTATION_COLUMNS if isinstance(kwargs.get(key), str)]
            named += [c for c in kwargs.get("column_list") or [] if isinstance(c, str)]
            unknown = [column for column in named if columns is not None and column not in columns]
            if unknown:
                problems.append(f"{where}: expectation {number} ({expectation.get('type')}) names column(s) "
                                f"{', '.join(repr(c) for c in unknown)}, which {target} does not have")
    return problems


def suite_mismatches(plugin: Plugin, path: Path, table: Table | None = None) -> list[Mismatch]:
    """The table's landing suite on the extract, judged as a run would judge it: the extract is landed in a
    temporary home (nothing is loaded here) and its landed rows validated. Only for an extract that otherwise
    matches: a suite judges a whole extract, so one with bad rows or headers is put right first."""
    import shutil

    from pipelines import gx_suites

    table = table or table_for(plugin, path)
    suite = next((s for s in gx_suites.plugin_suites(plugin) if s.kind == "landing" and s.target == table.name), None)
    if suite is None:
        return []
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), pseudonymisation_key="plugin-check")
        (settings.inbox / plugin.name).mkdir(parents=True)
        shutil.copy(path, settings.inbox / plugin.name / path.name)
        landed = [Path(load.landing_path) for load in land_inbox(settings, plugin, table, settings.today())
                  if load.status == "landed" and load.landing_path]
        if not landed:  # a name the table does not take: the file-name mismatch says so
            return []
        result = gx_suites.validate_batches(suite, gx_suites.parquet_batches(landed, settings.gx_batch_rows),
                                            settings.gx_project("plugin-check"))
    if result.success:
        return []
    return [Mismatch("landing suite", None, None, f"{suite.path.name}: {result.summary()}: a run would reject "
                                                  "this extract")]


def rule_problems(plugin: Plugin) -> list[str]:
    """Each row rule's SQL bound against its table's typed columns: a misspelt column otherwise fails every load
    with DuckDB's binder error, which names no rule."""
    from pipelines.typing_sql import SQL_TYPES, quote_ident

    problems = []
    with duckdb.connect() as con:
        for table in plugin.tables:
            columns = ", ".join(f"{quote_ident(c.name)} {SQL_TYPES[c.type]}" for c in table.columns)
            con.execute(f"create or replace temp table typed ({columns})")
            for rule in table.rules:
                try:
                    con.execute(f"select ({rule.invalid_when}) from typed").fetchall()
                except duckdb.Error as exc:
                    problems.append(f"table {table.name}: rule {rule.reason!r}: its SQL fails on the declared columns: "
                                    f"{str(exc).splitlines()[0]}")
    return problems


def scaffold_problems(commitment: str, csu: str, reference: Reference) -> list[str]:
    """`kpo plugin new` writes these into the new declaration: held to the reference data `kpo plugin check`
    holds every declaration to, before a file is written."""
    return _unknown("commitment", (commitment,), reference.commitments) + _unknown("CSU", (csu,), reference.csus)


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
            for load in land_inbox(settings, plugin, table, settings.today()):
                if load.status == "rejected":
                    problems.append(f"{table.name}: synthetic extract rejected: {load.problem}")
                elif load.rows_quarantined:
                    problems.append(f"{table.name}: {load.rows_quarantined} synthetic rows quarantined: "
                                    + _quarantined_sample(Path(load.quarantine_path)))
    return problems


def _quarantined_sample(path: Path, rows: int = 3) -> str:
    """The first quarantined rows' lines and reasons, read now: the quarantine file lives in the temporary
    home, deleted before the analyst reads the problem."""
    with path.open(newline="", encoding="utf-8") as handle:
        sample = list(itertools.islice(csv.DictReader(handle), rows))
    return "; ".join(f"line {row['line']}: {row['reason']}" for row in sample)


def table_for(plugin: Plugin, path: Path) -> Table:
    """The table an extract feeds: its file pattern decides (a one-table plugin's table is checked against
    any file; check_extract then says whether the inbox would pick the file up)."""
    matches = [t for t in plugin.tables if matches_pattern(t, path.name)]
    if len(matches) == 1:
        return matches[0]
    if len(plugin.tables) == 1:
        return plugin.tables[0]
    patterns = ", ".join(f"{t.name}: {t.file_pattern}" for t in plugin.tables)
    raise ValueError(f"{path.name} matches no single table of {plugin.name} ({patterns}); rename it to the "
                     "pattern of the table it feeds, or name the table with --table")


def _lenient(column: Column) -> Column:
    """A column missing from the extract is reported once, not as a bad value on every row."""
    return dataclasses.replace(column, type="string", required=False, allowed=(), allowed_reference=None,
                               minimum=None, maximum=None, formats=(), identifier=None)


def _file_name_mismatches(table: Table, path: Path) -> list[Mismatch]:
    # A failure, not a warning: the inbox leaves a file none of its patterns match where it is, without a
    # word, so an extract that passed every other check here would still never load.
    if picked_up(table, path):
        return []
    return [Mismatch("file name", None, None, f"{path.name!r} does not match {table.name}'s inbox pattern "
                     f"{table.file_pattern!r}: the nightly run would never pick it up; rename it")]


def _header_mismatches(table: Table, missing: list[str], extra: list[str]) -> list[Mismatch]:
    optional = {c.source_header for c in table.columns if c.optional}
    return ([Mismatch("missing column", h, 1, "declared but not in the extract's header")
             for h in missing if h not in optional]
            + [Mismatch("absent optional column", h, 1, "declared optional: it would land empty")
               for h in missing if h in optional]
            + [Mismatch("extra column", h, 1, "in the extract but not declared (it would be ignored)")
               for h in extra if not table.ignores(h)])


def check_extract(plugin: Plugin, path: Path, table: Table | None = None) -> list[Mismatch]:
    """Every schema mismatch of a real extract (a name the inbox would not pick up, missing/extra column,
    wrong type, value outside the declared set or range, a row rule broken), with column and row; nothing
    is written."""
    table = with_reference_values(table or table_for(plugin, path), load_reference(()))
    mismatches = _file_name_mismatches(table, path)
    with duckdb.connect() as con:
        con.execute("create macro quote_text(v) as '''' || left(cast(v as varchar), 80) || ''''")
        try:
            relation = table.reader(path, con)
            relation.create_view("raw_extract")
            mapping, missing, extra = match_headers(table, relation)
        except (ExtractError, duckdb.Error, OSError) as exc:
            return [*mismatches, Mismatch("unreadable file", None, None, error_summary(exc))]
        mismatches += _header_mismatches(table, missing, extra)
        required = [h for h in missing if h not in {c.source_header for c in table.columns if c.optional}]
        if required and (hint := missing_columns_hint(path, required)):  # as landing's refusal says it
            mismatches.append(Mismatch("missing column", None, 1, hint.removeprefix("; ")))
        absent = {c.name for c in table.columns if mapping[c.name] is None}
        checked = dataclasses.replace(table, columns=tuple(_lenient(c) if c.name in absent else c
                                                           for c in table.columns))
        try:
            received = london_today()
            build_checked(con, checked, mapping, path, numbered="_line" in relation.columns, received=received)
            rows = con.execute("select _line, _problem_columns, _problems from checked "
                               "where _problems is not null order by _line").fetchall()
            try:  # as landing does: a record written twice is kept once, two versions of one refuse the extract
                repeats = collapse_repeats(con, checked, path, [header for header in mapping.values() if header])
            except LoadError as exc:
                return [*mismatches, Mismatch("rejected whole", None, None, str(exc))]
            rejected = order_problem(con, checked, path, received) or too_many_quarantined(con, plugin.name, checked,
                                                                                           path)
        except (ExtractError, LoadError, duckdb.Error) as exc:  # a line no row can be made of
            return [*mismatches, Mismatch("unreadable file", None, None, error_summary(exc))]
        mismatches += [Mismatch("repeated record", None, None, text) for text in repeats]
    if rejected:  # what landing would do with it: first, then the rows behind it
        mismatches.append(Mismatch("rejected whole", None, None, rejected))
    mismatches += [Mismatch("bad value", columns, line, reasons) for line, columns, reasons in rows]
    return mismatches
