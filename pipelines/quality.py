"""The audit step: great-expectations suites as blocking Dagster asset checks.

Landing checks validate the loads of the run's load date (bounded batches straight from the landed
Parquet) before dbt may read them; when one fails, those loads are rejected — moved out of landing
into quarantine — so a bad load cannot reach a later publication either. Model checks validate the
built tables in the warehouse before `publication` may copy them. dbt's own tests run inside
`dbt build` and reach Dagster as checks through dagster-dbt. Identifier quality (missing or invalid
NHS numbers) is a warning-level check: those rows still count, with a null pseudonym.
"""


import json
import shutil
from pathlib import Path

import dagster as dg

from pipelines import gx_suites
from pipelines.ingest import landing_key
from pipelines.landing import table_dir
from pipelines.settings import Settings
from plugins.contract import Plugin, Table


def load_date_of(context: dg.AssetCheckExecutionContext) -> str:
    """The run's load date. Checks stay unpartitioned (partitioned checks are a Dagster preview)."""
    return context.run.tags["dagster/partition"]


def loads_of_run(settings: Settings, plugin: Plugin, table: Table,
                 context: dg.AssetCheckExecutionContext) -> list[Path]:
    """The Parquet files this run landed: a check judges the new loads, never ones already published."""
    folder = table_dir(settings, plugin, table) / f"load_date={load_date_of(context)}"
    return sorted(p for p in folder.glob("*.parquet")
                  if json.loads(p.with_suffix(".load.json").read_text()).get("run_id") == context.run.run_id)


def reject_loads(settings: Settings, plugin: Plugin, table: Table, files: list[Path], reason: str) -> list[str]:
    """Move failed loads out of landing (Parquet and load record), with the reason beside them."""
    moved = []
    for parquet in files:
        rejected = settings.quarantine / plugin.name / table.name / "rejected-loads" / parquet.parent.name
        rejected.mkdir(parents=True, exist_ok=True)
        for companion in (parquet, parquet.with_suffix(".load.json")):
            shutil.move(companion, rejected / companion.name)
        (rejected / f"{parquet.stem}.reason.txt").write_text(reason + "\n")
        moved.append(parquet.name)
    return moved


def landing_check(settings: Settings, plugin: Plugin, table: Table, suite: gx_suites.Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=landing_key(plugin, table), name=f"gx_{suite.target}", blocking=True,
                    description=f"great-expectations suite {suite.path.name}")
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        files = loads_of_run(settings, plugin, table, context)
        result = gx_suites.validate_batches(suite, gx_suites.parquet_batches(files, settings.gx_batch_rows))
        metadata = {"suite": suite.path.name, "load_date": load_date_of(context), "files": len(files),
                    "rows": result.rows, "summary": result.summary()}
        if not result.success:
            moved = reject_loads(settings, plugin, table, files, f"{suite.name}: {result.summary()}")
            metadata["rejected_loads"] = dg.MetadataValue.json(moved)
        return dg.AssetCheckResult(passed=result.success, metadata=metadata,
                                   description=f"{suite.name}: {result.summary()}")

    return _check


def identifier_check(settings: Settings, plugin: Plugin, table: Table) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=landing_key(plugin, table), name="identifiers_valid", blocking=False,
                    description="Rows whose NHS number is missing or fails the mod-11 check (kept, pseudonym null).")
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        day = load_date_of(context)
        records = [json.loads(p.with_suffix(".load.json").read_text())
                   for p in loads_of_run(settings, plugin, table, context)]
        flagged = sum(r["identifier_flags"] for r in records)
        rows = sum(r["rows_landed"] for r in records)
        return dg.AssetCheckResult(passed=flagged == 0, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"rows_flagged": flagged, "rows_landed": rows, "load_date": day},
                                   description=f"{flagged} of {rows} rows have a missing or invalid NHS number")

    return _check


def model_check(settings: Settings, suite: gx_suites.Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey([suite.target]), name=f"gx_{suite.name}", blocking=True, pool="warehouse",
                    description=f"great-expectations suite {suite.path.name}")
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        batches = gx_suites.warehouse_batches(settings, suite.target, settings.gx_batch_rows)
        result = gx_suites.validate_batches(suite, batches)
        return dg.AssetCheckResult(passed=result.success, description=f"{suite.name}: {result.summary()}",
                                   metadata={"suite": suite.path.name, "rows": result.rows,
                                             "summary": result.summary()})

    return _check


def build_checks(settings: Settings, plugins: tuple[Plugin, ...], model_names: set[str]) -> list:
    checks = []
    suites = gx_suites.discover_suites(settings, plugins)
    by_plugin = {p.name: p for p in plugins}
    for suite in suites:
        if suite.kind == "landing":
            plugin = by_plugin[suite.plugin]
            checks.append(landing_check(settings, plugin, plugin.table(suite.target), suite))
        elif suite.target in model_names:
            checks.append(model_check(settings, suite))
        else:
            raise ValueError(f"suite {suite.path} targets {suite.target!r}, which is no dbt model")
    for plugin in plugins:
        for table in plugin.tables:
            if any(c.identifier for c in table.columns):
                checks.append(identifier_check(settings, plugin, table))
    return checks
