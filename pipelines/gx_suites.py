"""great-expectations suites: where they live, what they target, and validating bounded batches.

Suites are JSON files in GX 1.x's own format ({"name", "expectations": [{"type", "kwargs"}]}):
`expectations/<model>.json` for the core marts, and `<plugin>/expectations/` for a plugin's own:
`landing__<table>.json` targets the landed table, `<dbt model>.json` a model of that plugin.
GX 1.24 has no DuckDB datasource, so rows are handed over as pandas batches of at most
`gx_batch_rows` rows; structural checks over whole tables (uniqueness, relationships) stay in dbt.
great_expectations is imported here only when a suite actually runs (~14 s of import).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.settings import Settings
from pipelines.typing_sql import quote_ident, quote_literal
from plugins.contract import Plugin

LANDING_PREFIX = "landing__"
# A `mostly` rule states a proportion of a whole extract (nearly every record has an NHS number). On a
# handful of rows (a correction of five records) the proportion says nothing: one blank in five is 80 %.
# Such a rule is enforced only over at least this many rows (an expectation's `meta.min_rows` sets its own),
# and on fewer it is reported as not judged. Every normal extract holds thousands of rows.
MIN_ROWS_FOR_PROPORTION = 100


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    kind: str  # "landing" or "model"
    target: str  # table name (landing) or dbt model name
    plugin: str | None = None

    def definition(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int = 0
    observed: str | None = None
    condition: str | None = None  # its row condition, if any: it judges only the rows that meet it
    rows_checked: int | None = None  # rows it judged, over every batch (None: a table-level expectation)
    # a `mostly` rule: its proportion, the rows the proportion is over (non-null ones, but every row for
    # not-null rules), and the fewest rows it is enforced over; judged over every batch together
    mostly: float | None = None
    considered: int = 0
    min_rows: int = MIN_ROWS_FOR_PROPORTION
    # where some unexpected rows are, (file, line), for rows that carry their lineage (landed loads)
    located: tuple[tuple[str, int], ...] = ()

    @property
    def unjudged(self) -> bool:
        """A `mostly` rule over too few rows to enforce its proportion."""
        return self.mostly is not None and self.considered < self.min_rows

    def judged(self) -> ExpectationOutcome:
        """A `mostly` rule's success from its counts (as GX does it, but over every batch and the least rows)."""
        if self.mostly is None:
            return self
        meets = self.considered == 0 or (self.considered - self.unexpected_count) / self.considered >= self.mostly
        return dataclasses.replace(self, success=self.unjudged or meets)


@dataclass
class SuiteResult:
    suite: str
    rows: int = 0
    batches: int = 0
    outcomes: dict[str, ExpectationOutcome] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes.values())

    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes.values() if not o.success]

    def unmatched(self) -> list[ExpectationOutcome]:
        """Conditional expectations whose condition no row met: they passed without judging anything."""
        return [o for o in self.outcomes.values() if o.condition is not None and o.rows_checked == 0]

    def unjudged(self) -> list[ExpectationOutcome]:
        """`mostly` rules over too few rows to enforce (their condition's unmet ones are named as such)."""
        return [o for o in self.outcomes.values() if o.unjudged and o not in self.unmatched()]

    def absorb(self, other: SuiteResult) -> None:
        """Add another validation of the same suite (other rows) to this one."""
        self.rows += other.rows
        self.batches += other.batches
        for key, outcome in other.outcomes.items():
            self.outcomes[key] = _merged(self.outcomes.get(key), outcome)

    def summary(self) -> str:
        if self.success:
            text = f"{len(self.outcomes)} expectations passed on {self.rows} rows"
        else:
            text = "; ".join(
                f"{o.expectation}({o.column or ''}) failed"
                + (f": {o.unexpected_count} unexpected rows" if o.unexpected_count else "")
                + (f", e.g. {_where(o.located)}" if o.located else "")
                + (f" (observed {o.observed})" if o.observed else "")
                for o in self.failures())
        unmatched = ", ".join(f"{o.expectation}({o.column or ''}) [{o.condition}]" for o in self.unmatched())
        # named when the suite passed: a failed suite's summary is the reason a load is rejected, and says why
        unjudged = ", ".join(f"{o.expectation}({o.column or ''}) on {o.considered} of the {o.min_rows} rows it needs"
                             for o in self.unjudged()) if self.success else ""
        return (text + (f"; no row met the condition of {unmatched}" if unmatched else "")
                + (f"; too few rows to judge the proportion of {unjudged}" if unjudged else ""))


def discover_suites(settings: Settings, plugins: tuple[Plugin, ...]) -> list[Suite]:
    suites = [Suite(p.stem, p, "model", p.stem) for p in sorted(settings.expectations_dir.glob("*.json"))]
    return suites + [suite for plugin in plugins for suite in plugin_suites(plugin)]


def plugin_suites(plugin: Plugin) -> list[Suite]:
    """A plugin's suites: `landing__<table>.json` judges a table's loads, any other file the model it is named after."""
    suites = []
    for path in sorted(plugin.expectations_dir.glob("*.json")):
        if path.stem.startswith(LANDING_PREFIX):
            suites.append(Suite(f"{plugin.name}__{path.stem}", path, "landing", path.stem.removeprefix(LANDING_PREFIX),
                                plugin.name))
        else:
            suites.append(Suite(path.stem, path, "model", path.stem, plugin.name))
    return suites


SHOWN_LOCATIONS = 5
LINEAGE = ["_source_file", "_source_line"]


def _where(located: tuple[tuple[str, int], ...]) -> str:
    """'a.csv lines 3, 22; b.csv line 7' for the first few unexpected rows (lines, never values: summaries reach
    run logs and alerts, which hold no identifiers)."""
    by_file: dict[str, list[int]] = {}
    for file, line in located[:SHOWN_LOCATIONS]:
        by_file.setdefault(file, []).append(line)
    return "; ".join(f"{file} line{'s' if len(lines) > 1 else ''} {', '.join(map(str, sorted(lines)))}"
                     for file, lines in by_file.items())


def _located(frame: pd.DataFrame, indices: list | None) -> tuple[tuple[str, int], ...]:
    """The file and line of the first unexpected rows, from the frame's index labels GX reports."""
    labels = [i for i in (indices or []) if not isinstance(i, dict) and i in frame.index][:SHOWN_LOCATIONS]
    rows = frame.loc[labels, LINEAGE]
    return tuple((str(file), int(line)) for file, line in rows.itertuples(index=False))


def _merged(previous: ExpectationOutcome | None, outcome: ExpectationOutcome) -> ExpectationOutcome:
    """One expectation's outcome over the rows of two validations: it passes only if it passed on both, except
    a `mostly` rule, whose proportion is over the rows of both (a small last batch is not judged alone)."""
    if previous is None:
        return outcome.judged()
    checked = outcome.rows_checked
    if previous.rows_checked is not None:
        checked = (checked or 0) + previous.rows_checked
    return dataclasses.replace(
        outcome, success=outcome.success and previous.success,
        unexpected_count=outcome.unexpected_count + previous.unexpected_count,
        observed=outcome.observed or previous.observed, rows_checked=checked,
        considered=outcome.considered + previous.considered,
        located=(previous.located + outcome.located)[:SHOWN_LOCATIONS],
        # a batch on which the rule raised has no proportion: the rule then fails, as it did on that batch
        mostly=outcome.mostly if outcome.mostly == previous.mostly else None).judged()


@cache
def _context(project_dir: Path):  # noqa: ANN202 - the GX type would force the import at module load
    """A file-backed GX project per run, so the run's validation results become data docs."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_pandas("kpo")
    asset = next((a for a in source.assets if a.name == "batch"), None) or source.add_dataframe_asset("batch")
    definition = next((b for b in asset.batch_definitions if b.name == "whole"), None)
    return context, definition or asset.add_batch_definition_whole_dataframe("whole")


@cache
def _validation(project_dir: Path, suite_path: Path, mtime: float):  # noqa: ANN202
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    context, batch_definition = _context(project_dir)
    definition = json.loads(suite_path.read_text())
    suite = context.suites.add_or_update(ExpectationSuite(**definition))
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=definition["name"], data=batch_definition, suite=suite))


def build_data_docs(project_dir: Path, target: Path) -> bool:
    """Render the run's validation results as GX data docs into `target` (False when none ran)."""
    if not (project_dir / "gx").is_dir():
        return False
    context, _ = _context(project_dir)
    context.build_data_docs()
    site = project_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    if not site.is_dir():
        return False
    shutil.copytree(site, target)
    return True


def prune_projects(settings: Settings, published_run_ids: Iterable[str]) -> list[str]:
    """Housekeeping once a run has published: the GX projects of runs that published go (each publication holds
    its data docs), and of the runs that published nothing (a failed check, a killed run) the latest
    `keep_unpublished_validations` stay, for diagnosis. Otherwise every nightly run would leave ~5 MB behind
    for good. `published_run_ids` names the runs behind the kept publications: one killed after publishing,
    before this housekeeping, is not mistaken for a run that published nothing. Returns the run ids removed."""
    root = settings.gx_projects
    projects = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    published = set(published_run_ids)
    others = sorted((p for p in projects if p.name not in published), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = [p for p in projects if p.name in published] + others[settings.keep_unpublished_validations:]
    for project in removed:
        shutil.rmtree(project, ignore_errors=True)
    _context.cache_clear()  # no cached context may point at a removed project
    _validation.cache_clear()
    return [p.name for p in removed]


def _condition_text(condition: Any) -> str | None:
    """A row condition as GX writes it (`unit == days`), from the structured form the suites use."""
    from great_expectations.expectations.row_conditions import deserialize_row_condition

    return None if condition is None else repr(deserialize_row_condition(condition))


def _column_of(kwargs: dict) -> str | None:
    return kwargs.get("column") or ",".join(kwargs.get("column_list", [])) or (
        f"{kwargs['column_A']},{kwargs['column_B']}" if "column_A" in kwargs else None)


def _exception_message(info: dict | None) -> str | None:
    """What an expectation raised, if it did. GX reports it on the expectation, or per metric it computed
    (a missing column: {"MetricConfigurationID(...)": {"raised_exception": True, "exception_message": ...}})."""
    if not info:
        return None
    for entry in (info, *(v for v in info.values() if isinstance(v, dict))):
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "raised an exception").splitlines()[0]
    return None


def validate_batches(suite: Suite, batches: Iterable[pd.DataFrame], project_dir: Path) -> SuiteResult:
    """Validate each batch; an expectation passes only if it passes on every batch, except a `mostly` rule, which
    is judged over every batch's rows together, and only over `min_rows` or more. Results are kept in the GX
    project at `project_dir` (one per run) for data docs (which show GX's own verdict on each batch)."""
    result = SuiteResult(suite.name)
    try:
        validation = _validation(project_dir, suite.path, suite.path.stat().st_mtime)
    except Exception as exc:  # a malformed suite must fail its check with the reason, not crash the run
        result.outcomes["suite"] = ExpectationOutcome("suite could not be loaded", None, False,
                                                      observed=str(exc).splitlines()[0][:200])
        return result
    for frame in batches:
        result.rows += len(frame)
        result.batches += 1
        # rows that carry their lineage (a landed load's) are located by file and line from the frame, at the
        # index GX reports for the first unexpected rows; asking GX for the lineage columns instead
        # (`unexpected_index_column_names`) made it list every unexpected row: 96 s, not 4 s, on 700k ED rows
        lineage = set(LINEAGE) <= set(frame.columns)
        run = validation.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
        for item in run.results:
            config = item.expectation_config
            # GX does not keep the suite's order in its results (one that raised may come first): an expectation
            # is known by its id in the suite, not by its place
            key = config.id or f"{config.type}:{json.dumps(config.kwargs, sort_keys=True, default=str)}"
            observed = item.result.get("observed_value")
            error = _exception_message(item.exception_info)
            raised = error is not None
            if raised:
                observed = f"error: {error}"
            mostly = config.kwargs.get("mostly")
            element_count = item.result.get("element_count")
            outcome = ExpectationOutcome(
                expectation=config.type, column=_column_of(config.kwargs), success=bool(item.success),
                unexpected_count=int(item.result.get("unexpected_count") or 0),
                observed=None if item.success or observed is None else str(observed)[:200],
                condition=_condition_text(config.kwargs.get("row_condition")),
                rows_checked=element_count,
                # an expectation that raised fails as it is: it has no proportion to judge
                mostly=None if raised or mostly is None or element_count is None else float(mostly),
                considered=(element_count or 0) - int(item.result.get("missing_count") or 0),
                min_rows=int((config.meta or {}).get("min_rows", MIN_ROWS_FOR_PROPORTION)),
                located=_located(frame, item.result.get("partial_unexpected_index_list")) if lineage else (),
            )
            result.outcomes[key] = _merged(result.outcomes.get(key), outcome)
    return result


def _query_batches(database: Path | None, sql: str, batch_rows: int) -> Iterator[pd.DataFrame]:
    """`sql` as pandas batches of up to `batch_rows` rows (in-memory DuckDB when `database` is None, else
    that file read-only). An empty result still yields one empty, typed batch: table-level expectations
    (row counts) need a batch to judge."""
    import duckdb

    with duckdb.connect(str(database) if database else ":memory:", read_only=database is not None) as con:
        reader = con.execute(sql).to_arrow_reader(batch_rows)
        empty = True
        for batch in reader:
            empty = False
            yield batch.to_pandas()
        if empty:
            yield reader.schema.empty_table().to_pandas()


def parquet_batches(files: list[Path], batch_rows: int) -> Iterator[pd.DataFrame]:
    """The landed files as batches of up to `batch_rows` rows across file boundaries: a month of daily
    extracts is a few batches, not one GX validation (~0.25-0.5 s of fixed cost each) per file."""
    if not files:
        return
    paths = ", ".join(quote_literal(str(f)) for f in files)
    yield from _query_batches(None, f"select * from read_parquet([{paths}], union_by_name = true)", batch_rows)


def warehouse_batches(settings: Settings, relation: str, batch_rows: int) -> Iterator[pd.DataFrame]:
    yield from _query_batches(settings.warehouse, f"select * from {quote_ident(relation)}", batch_rows)
