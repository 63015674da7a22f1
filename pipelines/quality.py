"""The audit step: great-expectations suites as blocking Dagster asset checks.

Landing checks validate every load not yet audited — this run's, and any a killed run left behind —
in bounded batches straight from the landed Parquet, before dbt may read them: together, and when that
fails, each on its own. Passing loads are marked audited in their load record; a load that fails the suite
on its own is rejected — moved out of landing into quarantine — so it cannot reach a later publication
either, and the check fails. A backfill re-lands a rejected extract too (the suite may have been put right);
rejected again, its rejection stands and is a warning, so the date's other extracts still publish.
Model checks validate the built tables in the warehouse before `publication` may copy them. dbt's own
tests run inside `dbt build` and reach Dagster as checks through dagster-dbt. Identifier quality (missing or invalid
NHS numbers) is a warning-level check: those rows still count, with a null pseudonym.
"""


import json
import shutil
from pathlib import Path

import dagster as dg

from pipelines import faults, gx_suites
from pipelines.files import replace_text
from pipelines.ingest import landing_key, run_load_date
from pipelines.landing import landed_files, landed_load_date, rejected_loads_dir
from pipelines.settings import Settings
from plugins.contract import Plugin, Table


def load_date_of(context: dg.AssetCheckExecutionContext) -> str:
    """The run's load date. Checks stay unpartitioned (partitioned checks are a Dagster preview)."""
    return run_load_date(context.run.tags) or "unknown"


def _record(parquet: Path) -> dict:
    return json.loads(parquet.with_suffix(".load.json").read_text())


def loads_awaiting_audit(settings: Settings, plugin: Plugin, table: Table) -> list[Path]:
    """Every landed load its suite has not passed yet: this run's, and any a killed run left behind."""
    return [p for p in landed_files(settings, plugin, table) if not _record(p).get("audited")]


def loads_of_run(settings: Settings, plugin: Plugin, table: Table, run_id: str) -> list[Path]:
    return [p for p in landed_files(settings, plugin, table) if _record(p).get("run_id") == run_id]


def mark_audited(files: list[Path], run_id: str) -> None:
    for parquet in files:
        record_path = parquet.with_suffix(".load.json")
        record = {**_record(parquet), "audited": True, "audited_by_run": run_id}
        replace_text(record_path, json.dumps(record, indent=2))


def rejection_reason(settings: Settings, plugin: Plugin, table: Table, parquet: Path) -> Path:
    """Where the reason a landed load (`load_date=D/<sha256>.parquet`) was rejected is kept, beside the load."""
    return rejected_loads_dir(settings, plugin, table, parquet) / f"{parquet.stem}.reason.txt"


def clear_rejections(settings: Settings, plugin: Plugin, table: Table, files: list[Path]) -> None:
    """Loads that passed their suite now, once rejected (a backfill re-landed them after the suite was put
    right): their rejection no longer stands, so a later rejection of the same load is news again."""
    for parquet in files:
        reason_file = rejection_reason(settings, plugin, table, parquet)
        if reason_file.exists():
            for companion in (parquet.name, parquet.with_suffix(".load.json").name, reason_file.name):
                (reason_file.parent / companion).unlink(missing_ok=True)


def reject_loads(settings: Settings, plugin: Plugin, table: Table, files: list[Path], reason: str) -> list[str]:
    """Move failed loads out of landing (Parquet and load record), with the reason beside them. A load rejected
    before (a backfill re-landed it) keeps its first reason, with this one added under it."""
    moved = []
    for parquet in files:
        reason_file = rejection_reason(settings, plugin, table, parquet)
        reason_file.parent.mkdir(parents=True, exist_ok=True)
        for companion in (parquet, parquet.with_suffix(".load.json")):
            shutil.move(companion, reason_file.parent / companion.name)
        with reason_file.open("a") as handle:
            handle.write(reason + "\n")
        moved.append(parquet.name)
    return moved


def landing_check(settings: Settings, plugin: Plugin, table: Table, suite: gx_suites.Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=landing_key(plugin, table), name=f"gx_{suite.target}", blocking=True,
                    description=f"great-expectations suite {suite.path.name}")
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        files = loads_awaiting_audit(settings, plugin, table)
        project = settings.gx_project(context.run.run_id)
        # The loads are judged together first: one GX validation (~0.5 s of fixed cost each) instead of one per
        # file, and a first load or a backfill brings dozens. When that fails, each is judged on its own and only
        # the loads that fail alone are rejected: a suite states what one extract must hold (one row per record in
        # an extract), and two extracts may rightly hold the same record (a correction; a backfill re-landing a
        # date's original and its correction). A load that passes only in company (a `mostly` rule met thanks to
        # the others) is accepted; a night brings one file a table, which is judged alone either way. (A small load
        # judged alone, a correction, is not judged on a `mostly` rule's proportion: see gx_suites.)
        def judged(loads: list[Path]) -> gx_suites.SuiteResult:
            return gx_suites.validate_batches(suite, gx_suites.parquet_batches(loads, settings.gx_batch_rows),
                                              project)

        overall, failed, alone = judged(files), {}, False
        if not overall.success and len(files) > 1:
            results = {parquet: judged([parquet]) for parquet in files}
            failed = {parquet: result for parquet, result in results.items() if not result.success}
            overall, alone = gx_suites.SuiteResult(suite.name), True
            for result in results.values():
                overall.absorb(result)
        elif not overall.success:
            failed = {files[0]: overall}
        passed = [parquet for parquet in files if parquet not in failed]
        mark_audited(passed, context.run.run_id)
        clear_rejections(settings, plugin, table, passed)
        summary = overall.summary()
        if alone and not failed:
            summary += " by each load on its own (together they failed: a record in two extracts, say)"
        metadata = {"suite": suite.path.name, "load_date": load_date_of(context), "files": len(files),
                    "rows": overall.rows, "summary": summary}
        # A load rejected before, re-landed by a backfill of its date and failing again, is no news: its rejection
        # stands, and is a warning. Were it an error, every backfill of that date would fail on it for ever, and the
        # date's other extracts (the reason to backfill) could never be published.
        standing = {parquet for parquet in failed if rejection_reason(settings, plugin, table, parquet).exists()}
        if failed:
            rejected = []
            for parquet, result in failed.items():
                record = _record(parquet)
                reason = f"{suite.name}: {result.summary()}"
                if parquet in standing:
                    reason = f"rejected again by run {context.run.run_id} on {settings.today()}: {reason}"
                reject_loads(settings, plugin, table, [parquet], reason)
                rejected.append({"source_file": record["source_file"], "content_sha256": record["content_sha256"],
                                 "run_id": record.get("run_id", ""), "rows_landed": record["rows_landed"],
                                 "summary": result.summary(), "rejected_before": parquet in standing})
            metadata["rejected_loads"] = dg.MetadataValue.json(rejected)
            summary = "; ".join(f"{load['source_file']}: "
                                f"{'still rejected, as before: ' if load['rejected_before'] else ''}{load['summary']}"
                                for load in rejected)
            if len(files) > len(failed):
                summary += f" ({len(files) - len(failed)} other load(s) passed and stay landed)"
            dates = sorted(landed_load_date(parquet) for parquet in failed)
            summary += (f". A rejected extract stays archived: if the suite, not the extract, was wrong, put the suite "
                        f"right and land it again with `kpo backfill --start {dates[0]} --end {dates[-1]}`")
            if set(failed) == standing:
                summary += " (a rejection that stands does not block the publication)"
            else:  # this run publishes nothing, but what it rejected no longer stands in the way
                summary += (". This run publishes nothing; the rejected load is out of landing, so the next run "
                            "(`kpo run` now, or tonight's) publishes everything else without it")
            metadata["summary"] = summary
        severity = dg.AssetCheckSeverity.WARN if failed and set(failed) == standing else dg.AssetCheckSeverity.ERROR
        return dg.AssetCheckResult(passed=not failed, severity=severity, metadata=metadata,
                                   description=f"{suite.name}: {summary}")

    return _check


def identifier_words(table: Table) -> str:
    """The table's identifiers as the warning names them, by kind: an NHS number is missing or fails its check,
    a staff identifier (an e-mail, an assignment number) is only ever missing or unreadable (an Excel error)."""
    kinds = {"nhs_number": "NHS number", "staff": "staff identifier"}
    words = [kinds[c.identifier] if c.source_header.casefold() == kinds[c.identifier].casefold()
             else f"{kinds[c.identifier]} ({c.source_header})" for c in table.columns if c.identifier]
    return " or ".join(words)


def identifier_check(settings: Settings, plugin: Plugin, table: Table) -> dg.AssetChecksDefinition:
    what = identifier_words(table)
    nhs = any(c.identifier == "nhs_number" for c in table.columns)
    rule = "is missing or fails the mod-11 check" if nhs else "is missing or unreadable"

    @dg.asset_check(asset=landing_key(plugin, table), name="identifiers_valid", blocking=False,
                    description=f"Rows whose {what} {rule} (kept, pseudonym null).")
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        day = load_date_of(context)
        records = [_record(p) for p in loads_of_run(settings, plugin, table, context.run.run_id)]
        flagged = sum(r["identifier_flags"] for r in records)
        rows = sum(r["rows_landed"] for r in records)
        return dg.AssetCheckResult(passed=flagged == 0, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"rows_flagged": flagged, "rows_landed": rows, "load_date": day},
                                   description=f"{flagged} of {rows} rows have a missing or invalid {what}")

    return _check


def model_check(settings: Settings, suite: gx_suites.Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey([suite.target]), name=f"gx_{suite.name}", blocking=True, pool="warehouse",
                    description=f"great-expectations suite {suite.path.name}")
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        faults.pause("checks")
        batches = gx_suites.warehouse_batches(settings, suite.target, settings.gx_batch_rows)
        result = gx_suites.validate_batches(suite, batches, settings.gx_project(context.run.run_id))
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
