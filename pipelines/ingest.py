"""One landing asset per plugin table, generated from the registry; partitioned by load date.

Landing never touches the warehouse, so these assets run in parallel and sit outside the
`warehouse` pool. A file that cannot be loaded at all is moved to quarantine/<plugin>/rejected with
its reason and fails the asset (so the run fails and nothing is published); its good siblings stay
landed for the next run. A backfill of a date re-lands that date's archived extracts instead.
"""


import datetime as dt
import warnings
from collections.abc import Mapping

import dagster as dg

from pipelines.files import replace_text
from pipelines.landing import (
    DamagedLoad,
    DeclarationDrift,
    FileLoad,
    KeyMismatch,
    archived_on,
    declaration_drift,
    land_inbox,
    reland_archive,
    table_dir,
)
from pipelines.settings import LONDON, Settings
from plugins.contract import Plugin, Table

NIGHTLY_JOB = "kpo_nightly"  # the job every run of kpo is (pipelines/definitions.py)

# Load dates, not event dates: a partition is "what arrived that day". end_offset=1 makes today a
# partition, so tonight's run loads into tonight's date.
LOAD_DATES = dg.DailyPartitionsDefinition(start_date="2020-01-01", timezone=str(LONDON), end_offset=1)
# A load date a run, in a Dagster asset backfill too: every asset of the nightly job (landing, the dbt build,
# publication) is partitioned by load date with this one policy, so the backfill runs each date's assets together
# in one run, as the nightly job does (assets whose policies differ are never put in one run).
ONE_LOAD_DATE_A_RUN = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)
# `@asset(backfill_policy=...)` is a beta parameter in dagster 1.13 (pinned): its warning, once per asset at every
# start, would reach every `kpo run`'s stderr and cron's mail. The behaviour is tested (test_walking_skeleton).
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)


def reprocessing(tags: dict[str, str]) -> bool:
    """A backfill (from the UI, or `kpo backfill`) re-lands that date's archived extracts; a normal run
    loads the inbox."""
    return "dagster/backfill" in tags or tags.get("kpo/reprocess") == "true"


def run_load_date(tags: Mapping[str, str]) -> str | None:
    """The load date a run is for: its partition, as the nightly job, the schedule and a job backfill tag it; or
    the one date of the range a Dagster asset backfill tags its runs with (ONE_LOAD_DATE_A_RUN)."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return start if start is not None and start == end else None


def relanding_nothing(settings: Settings, tags: dict[str, str]) -> bool:
    """A backfill of a load date that archived nothing (a UI backfill over a range holds such dates): there is
    nothing to re-land, so nothing to rebuild in full and nothing new to publish. The run still goes through
    every step, so every asset of the date has its status, as a Dagster asset backfill expects."""
    day = run_load_date(tags)
    return reprocessing(tags) and day is not None and not archived_on(settings, dt.date.fromisoformat(day))


def landing_key(plugin: Plugin, table: Table) -> dg.AssetKey:
    return dg.AssetKey(["landing", plugin.name, table.name])


def load_metadata(loads: list[FileLoad]) -> dict:
    return {
        "files_landed": sum(load.status == "landed" for load in loads),
        "files_duplicate": sum(load.status == "duplicate" for load in loads),
        "files_rejected": sum(load.status == "rejected" for load in loads),
        "files_waiting": sum(load.status == "waiting" for load in loads),
        "rows_landed": sum(load.rows_landed for load in loads),
        "rows_quarantined": sum(load.rows_quarantined for load in loads),
        "identifier_flags": sum(load.identifier_flags for load in loads),
        "loads": dg.MetadataValue.json([load.as_json() for load in loads]),
    }


def landing_asset(settings: Settings, plugin: Plugin, table: Table) -> dg.AssetsDefinition:
    @dg.asset(
        key=landing_key(plugin, table), group_name=plugin.name, partitions_def=LOAD_DATES,
        description=f"{table.description} (landed Parquet, plugin {plugin.name} {plugin.version})",
        kinds={"parquet", "python"}, tags={"kpo/plugin": plugin.name},
        metadata={"plugin": plugin.name, "origin": plugin.origin, "file_pattern": table.file_pattern,
                  "primary_key": list(table.primary_key)},
        retry_policy=dg.RetryPolicy(max_retries=1, delay=5), backfill_policy=ONE_LOAD_DATE_A_RUN,
    )
    def _landing(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        load_date = dt.date.fromisoformat(context.partition_key)
        try:
            if reprocessing(context.run.tags):
                loads = reland_archive(settings, plugin, table, load_date, context.run.run_id)
            else:
                loads = land_inbox(settings, plugin, table, load_date, context.run.run_id,
                                   min_age_seconds=settings.inbox_min_age_seconds)
        except KeyMismatch as exc:  # nothing landed, the extracts stay where they were; a retry cannot mend it
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        for load in loads:
            if load.status == "waiting":
                context.log.warning(load.problem)
                continue
            judged = " (its landing suite judges the load next)" if load.status == "landed" else ""
            context.log.info(f"{load.source_file}: {load.status}, {load.rows_landed} rows landed, "
                             f"{load.rows_quarantined} quarantined{judged}")
            for warning in load.warnings:
                context.log.warning(warning)
        metadata = load_metadata(loads)
        rejected = [load for load in loads if load.status == "rejected"]
        if rejected:
            raise dg.Failure(description="; ".join(load.problem or "" for load in rejected),
                             metadata=metadata, allow_retries=False)
        # Loads landed under an earlier declaration read a column declared since as blank. Where the declaration
        # requires it, the run stops (a backfill, which re-lands them day by day, only warns: it is the remedy).
        try:
            drift = declaration_drift(settings, plugin, table)
        except DamagedLoad as exc:  # a retry cannot mend a damaged file: say which, and how to mend it
            raise dg.Failure(description=str(exc), metadata=metadata, allow_retries=False) from None
        if drift is not None and drift.required and not reprocessing(context.run.tags):
            raise dg.Failure(description=str(drift), metadata=metadata, allow_retries=False)
        if drift is not None and drift_is_news(settings, plugin, table, drift):
            context.log.warning(str(drift))
            metadata["warnings"] = dg.MetadataValue.json([str(drift)])
        elif drift is not None:
            context.log.info(str(drift))
        return dg.MaterializeResult(metadata=metadata)

    return _landing


def drift_is_news(settings: Settings, plugin: Plugin, table: Table, drift: DeclarationDrift) -> bool:
    """Whether a run warns of `drift`. Loads that lack only columns declared optional since (new to the extract,
    most likely) need nothing done, and would be warned of every night for good: a run says so once, again
    only when the drift changes (`kpo plugin check` lists it any time); any other drift, every night."""
    if not drift.optional or drift.required:
        return True
    said = table_dir(settings, plugin, table) / "_optional_drift_said.txt"
    try:
        if said.read_text() == str(drift):
            return False
    except OSError:
        pass
    replace_text(said, str(drift))
    return True


def build_landing_assets(settings: Settings, plugins: tuple[Plugin, ...]) -> list[dg.AssetsDefinition]:
    return [landing_asset(settings, plugin, table) for plugin in plugins for table in plugin.tables]
