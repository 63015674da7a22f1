"""The Dagster code location: everything merged from the plugin registry, the dbt project, the
suites and the publication step. No source is named here; a plugin adds its own assets and checks."""

from __future__ import annotations

import json

import dagster as dg

from pipelines.alerts import raise_start_failure
from pipelines.dbt_assembly import ensure_manifest
from pipelines.ingest import NIGHTLY_JOB, build_landing_assets
from pipelines.publish import build_publish_asset
from pipelines.quality import build_checks
from pipelines.schedules import nightly_schedule
from pipelines.sensors import failure_sensor, inbox_sensor, killed_run_sensor
from pipelines.settings import Settings, load_settings
from pipelines.transform import build_dbt_assets, dbt_resource, published_models
from plugins import registry


def nightly_job() -> dg.JobDefinition | object:  # an unresolved asset job (no public type)
    """Every asset, for one load date's partition."""
    # In one process, as `kpo run` executes it: Dagster's default executor starts a process per step, and each
    # imports Dagster, dagster-dbt and the definitions again (great-expectations too, for each of ~13 checks).
    # Measured on a demo home with nothing new: 5 min 56 s launched that way against about 1 min in process.
    # The steps run one at a time in either case (the `warehouse` pool). A crashed run is retried whole
    # (ALL_STEPS): Dagster's default retry resumes from the failed step, which skips the landing checks, and
    # publication then refuses a run that did not evaluate every check.
    return dg.define_asset_job(
        NIGHTLY_JOB, selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor,
        description="Load the inbox for a load date, build, check and publish.",
        tags={"dagster/retry_strategy": "ALL_STEPS"},
    )


def build_definitions(settings: Settings) -> dg.Definitions:
    settings.export_environment()
    plugins = registry.discover()
    manifest_path = ensure_manifest(settings, plugins)
    manifest = json.loads(manifest_path.read_text())
    model_names = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    models = published_models(manifest)
    nightly = nightly_job()
    built = [*build_landing_assets(settings, plugins), build_dbt_assets(settings, manifest_path, plugins)]
    checks = build_checks(settings, plugins, model_names)
    # publication requires every check defined here to have passed in its own run, whatever the run selected
    required = {key for definition in [*built, *checks] for key in definition.check_keys}
    return dg.Definitions(
        assets=[*built, build_publish_asset(settings, plugins, manifest_path, models,
                                            published_models(manifest, "share"), required)],
        asset_checks=checks,
        jobs=[nightly],
        schedules=[nightly_schedule(nightly)],
        sensors=[inbox_sensor(settings, plugins, nightly), failure_sensor(settings),
                 killed_run_sensor(settings)],
        resources={"dbt": dbt_resource(settings)},
        # Runs of part of the graph (the UI's Materialize, an asset backfill) go through Dagster's implicit asset
        # job: in one process too, for the reason given in nightly_job.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_settings()
    try:
        return build_definitions(settings)
    except Exception as exc:  # the code location fails to load, and no schedule or sensor runs: say so
        raise_start_failure(settings, NIGHTLY_JOB, exc)
        raise
