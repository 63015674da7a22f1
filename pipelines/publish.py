"""The `publication` asset: the gate and the atomic publication, as its own step.

Blocking checks stop downstream steps only inside the same run, and the checked tables are already
written; so this step re-verifies, from the run's own event log, that every check defined was evaluated
in this run (whatever the run selected) and that none at error severity failed — and only then publishes.
A backfill of a load date that archived nothing re-landed nothing, and publishes nothing new.
"""


import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipelines import gx_suites, publication
from pipelines.catalogue import write_catalogue
from pipelines.ingest import LOAD_DATES, NIGHTLY_JOB, ONE_LOAD_DATE_A_RUN, relanding_nothing, run_load_date
from pipelines.report import build_report
from pipelines.settings import Settings
from plugins.contract import Plugin


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    severity: str
    description: str | None

    @property
    def blocking_failure(self) -> bool:
        return not self.passed and self.severity == "ERROR"

    def as_json(self) -> dict:
        return {"asset": self.asset, "check": self.check, "passed": self.passed, "severity": self.severity,
                "description": self.description}


def run_check_outcomes(instance: dg.DagsterInstance, run_id: str) -> list[CheckOutcome]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    outcomes = []
    for record in records:
        data = record.event_log_entry.dagster_event.event_specific_data
        outcomes.append(CheckOutcome(
            asset="/".join(data.asset_key.path), check=data.check_name, passed=data.passed,
            severity=data.severity.value, description=data.description))
    return outcomes


def check_names(keys: Iterable[dg.AssetCheckKey]) -> set[tuple[str, str]]:
    return {("/".join(key.asset_key.path), key.name) for key in keys}


def docs_from_manifest(manifest: dict, models: list[str]) -> dict[str, dict]:
    docs = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] in models:
            docs[node["name"]] = {"description": node.get("description", ""),
                                  "columns": {c: v.get("description", "") for c, v in node["columns"].items()}}
    return docs


def build_publish_asset(settings: Settings, plugins: tuple[Plugin, ...], manifest_path: Path, models: list[str],
                        share_models: list[str], required_checks: Iterable[dg.AssetCheckKey]) -> dg.AssetsDefinition:
    """The publication step. It publishes only when every one of `required_checks` (every check defined) has
    passed in its own run: not only those the run selected. A run of the publication alone (the UI's
    Materialize on that asset), of part of the graph, or a retry resuming from a failed step selects fewer
    checks, and would otherwise publish what no check of its run has judged."""
    required = check_names(required_checks)

    @dg.asset(key="publication", deps=[dg.AssetKey([m]) for m in [*models, *share_models]], group_name="publication",
              pool="warehouse", kinds={"duckdb", "parquet"}, partitions_def=LOAD_DATES,
              backfill_policy=ONE_LOAD_DATE_A_RUN,
              description="Atomically publishes the marts and dimensions that passed every blocking check.")
    def _publication(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        run_id = context.run.run_id
        outcomes = run_check_outcomes(context.instance, run_id)
        failed = [o for o in outcomes if o.blocking_failure]
        missing = required - {(o.asset, o.check) for o in outcomes}
        if failed or missing:
            reasons = [f"{o.asset} {o.check}: {o.description or 'failed'}" for o in failed]
            if missing:  # a run of part of the graph: say what to run, not each of ~200 checks
                named = "; ".join(f"{asset} {check}" for asset, check in sorted(missing)[:3])
                reasons.append(f"{len(missing)} of {len(required)} checks not evaluated in this run (e.g. {named}): "
                               f"publication needs every check passed in its own run, so run or backfill the whole "
                               f"{NIGHTLY_JOB} job (all its assets), not part of it")
            raise dg.Failure(description="publication refused: " + "; ".join(reasons), allow_retries=False)
        if relanding_nothing(settings, context.run.tags):
            # Published again, it would be what is served, and push a real rollback target out of those kept.
            served = publication.current_id(settings)
            reason = (f"load date {run_load_date(context.run.tags)}: nothing was archived that day, so this "
                      f"backfill re-landed nothing; publication {served} stays served")
            context.log.info(reason)
            return dg.MaterializeResult(metadata={"republished": False, "served": False, "serving": str(served),
                                                  "reason": reason})
        dbt_manifest = json.loads(manifest_path.read_text())
        publication_id = publication.new_publication_id(run_id)
        notes = publication.metric_notes(settings)
        for note in notes:
            context.log.warning(note)
        manifest = {
            "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "run_id": run_id,
            "load_date": run_load_date(context.run.tags),
            "code_version": publication.code_version(),
            "checks": [o.as_json() for o in outcomes],
            "notes": notes,
        }
        extras = [lambda staging, _: write_catalogue(settings, plugins, run_id, staging),
                  lambda staging, manifest: build_report(staging / "kpo.duckdb", manifest, staging / "report.html")]
        result = publication.publish(settings, publication_id, models, docs_from_manifest(dbt_manifest, models),
                                     manifest, share_models=share_models, extras=extras)
        hold = result.hold  # what publish found when it chose whether to serve: not read again
        if hold is None:
            context.log.info(f"published {publication_id} to {settings.published}")
        else:
            context.log.warning(f"published {publication_id} to {result.path}, not served: {hold}")
        kept = publication.list_publications(settings)  # this run's publication among them
        gx_suites.prune_projects(settings, {p.manifest.get("run_id") for p in kept} | {run_id})
        return dg.MaterializeResult(metadata={
            "publication_id": publication_id, "path": str(settings.published if hold is None else result.path),
            "served": hold is None, "serving": publication_id if hold is None else hold.publication_id,
            **({"held": str(hold)} if hold else {}),
            "tables": dg.MetadataValue.json(result.manifest["tables"]),
            **dict(zip(("checks_passed", "checks_warned", "checks_failed"),  # as the run summary counts them
                       publication.check_counts([o.as_json() for o in outcomes]), strict=True)),
            "notes": dg.MetadataValue.json(notes)})

    return _publication
