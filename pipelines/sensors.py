"""The inbox sensor (a run for new extracts, once their sizes have stopped changing), the run-failure
sensor (alerts), and the sensor that marks killed `kpo run`s failed so that they do not block the run
queue. Files are recognised by content hash, the same identity landing uses, so a file is never run twice
and a re-dropped extract starts nothing. A run lands every extract waiting in the inbox, so the extracts
found ready in one tick start one run (a month's 40 files dropped together used to queue 40 runs, each
but the first landing nothing and publishing again), and none while a queued run will land them anyway."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from pipelines.alerts import Alert, raise_alert, raise_unclaimed, unclaimed_text
from pipelines.ingest import reprocessing, run_load_date
from pipelines.landing import content_sha256, inbox_files, landed_hashes, unclaimed_inbox_files
from pipelines.runner import recover_killed_runs_unless_one_is_live, summarise
from pipelines.settings import LONDON, Settings
from plugins.contract import Plugin

UNCLAIMED = "unclaimed"  # the cursor's one key that is not a waiting file's path (those are absolute)


def _waiting_files(settings: Settings, plugins: tuple[Plugin, ...]) -> dict[Path, tuple[Plugin, object]]:
    return {path: (plugin, table) for plugin in plugins for table in plugin.tables
            for path in inbox_files(settings, plugin, table)}


def inbox_sensor(settings: Settings, plugins: tuple[Plugin, ...], job: dg.JobDefinition | object,
                 clock=time.time) -> dg.SensorDefinition:
    @dg.sensor(name="kpo_inbox", job=job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Starts a run for the new extracts in the inbox once each one's size has been stable for "
                           "KPO_SENSOR_STABLE_SECONDS and it has rested KPO_INBOX_MIN_AGE_SECONDS, unless a queued "
                           "run will land them; run key = the content hash (of each, for several).")
    def _inbox(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        seen: dict[str, list] = json.loads(context.cursor) if context.cursor else {}
        now, requests, still, ready = clock(), [], {}, []
        waiting = _waiting_files(settings, plugins)
        for path, (plugin, table) in sorted(waiting.items()):
            try:
                stat = path.stat()
            except FileNotFoundError:  # landed and archived by a run since it was listed: nothing to start
                continue
            first_size, since = seen.get(str(path), (None, now))
            if first_size != stat.st_size:  # new, or still growing: start the stability clock again
                still[str(path)] = [stat.st_size, now]
                continue
            still[str(path)] = [stat.st_size, since]
            # Stable in size, and rested as long as a run asks (else the run would leave it waiting, and its run
            # key, spent, would start nothing more: it would wait for the nightly run).
            if now - since < settings.sensor_stable_seconds or now - stat.st_mtime < settings.inbox_min_age_seconds:
                continue
            try:
                sha = content_sha256(path)
            except FileNotFoundError:
                continue
            if sha in landed_hashes(settings, plugin, table):
                context.log.info(f"{path.name}: already loaded (same content), not run again")
                continue
            ready.append((path, sha))
        if ready and (queued := _queued_nightly_run(context.instance, job.name)):
            context.log.info(f"{len(ready)} new extract(s): the queued run {queued[:8]} will land them")
        elif ready:
            hashes = sorted(sha for _, sha in ready)
            key = hashes[0] if len(hashes) == 1 else hashlib.sha256("\n".join(hashes).encode()).hexdigest()
            names = sorted(path.name for path, _ in ready)
            files = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"
            load_date = dt.datetime.fromtimestamp(now, LONDON).date().isoformat()
            requests.append(dg.RunRequest(run_key=key, partition_key=load_date,
                                          tags={"kpo/trigger": "inbox", "kpo/file": files}))
        # Files no run will load are named once in the daemon's log (and again whenever that list changes).
        unclaimed = unclaimed_inbox_files(settings, plugins, claimed=set(waiting))
        if unclaimed and unclaimed != seen.get(UNCLAIMED):  # an alert too: no run will ever say more of them
            context.log.warning(unclaimed_text(unclaimed))
            raise_unclaimed(settings, job.name, unclaimed, dt.datetime.fromtimestamp(now, LONDON).date().isoformat())
        still[UNCLAIMED] = unclaimed
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(still))

    return _inbox


def _queued_nightly_run(instance: dg.DagsterInstance, job_name: str) -> str | None:
    """A nightly run waiting to start, which will land what is in the inbox then: not a backfill, which re-lands
    archived extracts instead."""
    waiting = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING]
    for record in instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=waiting), limit=20):
        if not reprocessing(record.dagster_run.tags):
            return record.dagster_run.run_id
    return None


def failure_sensor(settings: Settings) -> dg.SensorDefinition:
    # Every job of the code location, not only the nightly one: a run launched from the UI on part of the asset
    # graph, or an asset backfill, runs as Dagster's implicit asset job, and its failures alert too.
    @dg.run_failure_sensor(name="kpo_run_failure_alert", default_status=dg.DefaultSensorStatus.RUNNING,
                           description="Writes an alert (log, published/alerts.jsonl, optional webhook) for each "
                                       "failed run.")
    def _alert(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        failed = [event.step_key for event in context.get_step_failure_events() if event.step_key]
        load_date = run_load_date(run.tags)
        # what failed, as `kpo run` says it (the check, the file and lines, the refused publication's reasons);
        # Dagster's own message only lists the failed steps
        causes = summarise(context.instance, run.run_id, load_date or "").failures
        raise_alert(settings, Alert(run_id=run.run_id, job=run.job_name, load_date=load_date, failed_steps=failed,
                                    message="; ".join(causes) or context.failure_event.message or "run failed"))

    return _alert


def killed_run_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(name="kpo_killed_runs", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Marks failed the `kpo run`s that were killed (still 'in progress', no process holds "
                           "the run lock), so that scheduled and sensor runs do not queue behind them for ever.")
    def _killed_runs(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        recovered = recover_killed_runs_unless_one_is_live(settings, context.instance)
        if recovered:
            context.log.warning(f"marked failed {len(recovered)} killed kpo run(s): {', '.join(recovered)}")
            return dg.SkipReason(f"marked failed the killed kpo run(s) {', '.join(r[:8] for r in recovered)}")
        return dg.SkipReason("no killed kpo run")

    return _killed_runs
