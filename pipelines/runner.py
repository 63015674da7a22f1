"""Run the nightly job in-process, one at a time, and summarise what happened from its event log.

`kpo run` and `kpo demo` both come here, so the CLI executes exactly the job the Dagster UI and
schedules run. A second `kpo run` while one holds the lock exits at once (pipelines.locking), as does one while
the Dagster daemon has a run queued or going.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.alerts import (
    Alert,
    plugin_model_paths,
    raise_alert,
    raise_start_failure,
    raise_unclaimed,
    unclaimed_text,
)
from pipelines.ingest import run_load_date
from pipelines.locking import AlreadyRunning, no_run_holding, run_lock
from pipelines.settings import REPO_ROOT, Settings


class CannotStart(RuntimeError):
    """The nightly job could not be built (a plugin, its suites or its models): nothing ran, an alert was raised."""


def prepare_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent Dagster instance under KPO_HOME, configured by the repository's dagster.yaml. Dispose of
    it when done (`with prepare_instance(settings) as instance:`): that closes the event log's pooled SQLite
    connections, and the last connection to close checkpoints its database and deletes its write-ahead log
    (otherwise ~4 MB left beside every run's event database)."""
    settings.ensure_folders()
    config = settings.dagster_home / "dagster.yaml"
    source = REPO_ROOT / "dagster.yaml"
    if not config.exists() or config.read_text() != source.read_text():
        shutil.copyfile(source, config)
    settings.export_environment()
    return dg.DagsterInstance.get()


@dataclass
class SourceSummary:
    asset: str
    files_landed: int = 0
    files_duplicate: int = 0
    files_rejected: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    waiting: list[str] = field(default_factory=list)  # files still being written: left in the inbox
    quarantine_files: list[str] = field(default_factory=list)  # this run's quarantined rows, one CSV a load
    warnings: list[str] = field(default_factory=list)  # landed, with something to say (an absent optional column)
    problems: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    run_id: str
    load_date: str
    success: bool = False
    sources: dict[str, SourceSummary] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)
    publication_id: str | None = None
    failures: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    stopped_by_checks: list[str] = field(default_factory=list)  # steps whose failure is their blocking checks'
    log_path: str | None = None
    unclaimed: list[str] = field(default_factory=list)  # inbox files no plugin table will ever load
    notes: list[str] = field(default_factory=list)  # what the publication says of its metrics (none without rows)
    held: str | None = None  # why the publication was kept and not served (a rollback's hold)

    @property
    def checks_failed(self) -> list[dict]:
        return [c for c in self.checks if not c["passed"]]


def _metadata_value(value: object) -> object:
    return getattr(value, "value", value)


def summarise(instance: dg.DagsterInstance, run_id: str, load_date: str) -> RunSummary:
    summary = RunSummary(run_id=run_id, load_date=load_date)
    run = instance.get_run_by_id(run_id)
    summary.success = run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    for record in instance.get_records_for_run(run_id).records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            _materialized(summary, data.materialization)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            summary.checks.append({"asset": "/".join(data.asset_key.path), "check": data.check_name,
                                   "passed": data.passed, "severity": data.severity.value,
                                   "description": data.description or _dbt_test_text(data)})
            _loads_rejected(summary, data)
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            _step_failed(summary, event.step_key or "", data)
    return summary


def _dbt_test_text(evaluation: dg.AssetCheckEvaluation) -> str | None:
    """A dbt test's check has no description: say how many rows it found, and how to see them."""
    metadata = evaluation.metadata or {}
    if evaluation.passed:
        return None
    if _metadata_value(metadata.get("status")) == "error":  # it found nothing: it did not run to a result
        return "dbt could not run the test (error): the dbt build's failure below says why"
    failures = _metadata_value(metadata.get("dagster_dbt/failed_row_count"))
    if failures is None:
        return None
    return (f"dbt test found {failures} row(s) that break it; `kpo dbt show --select {evaluation.check_name}` "
            "lists them")


def _materialized(summary: RunSummary, materialization: dg.AssetMaterialization) -> None:
    path = materialization.asset_key.path
    metadata = {k: _metadata_value(v) for k, v in materialization.metadata.items()}
    if path[0] == "landing":
        key = "/".join(path[1:])
        summary.sources[key] = SourceSummary(key)  # a landing step materialises once: its loads say it all
        _add_loads(summary, metadata.get("loads") or [])
        summary.sources[key].warnings += metadata.get("warnings") or []  # the table's own (its landed loads')
    elif path == ["publication"] and metadata.get("republished", True):
        summary.publication_id = str(metadata.get("publication_id"))
        summary.notes = list(metadata.get("notes") or [])
        summary.held = metadata.get("held")


def _loads_rejected(summary: RunSummary, evaluation: dg.AssetCheckEvaluation) -> None:
    """A landing suite moved the loads it failed out of landing: they count as rejected, not landed."""
    rejected = _metadata_value((evaluation.metadata or {}).get("rejected_loads")) or []
    if not rejected:
        return
    key = "/".join(evaluation.asset_key.path[1:])
    source = summary.sources.setdefault(key, SourceSummary(key))
    for load in rejected:
        source.files_rejected += 1
        if load["run_id"] == summary.run_id:  # an earlier run's unaudited load was never counted as landed here
            source.files_landed -= 1
            source.rows_landed -= load["rows_landed"]


def _step_failed(summary: RunSummary, step_key: str, data: object) -> None:
    error = getattr(data, "error", None)
    user = getattr(data, "user_failure_data", None)
    if user and user.description:
        message = user.description
    elif error is not None and error.cls_name == "DagsterExecutionStepExecutionError" and error.cause is not None:
        message = error.cause.message  # Dagster's wrapper says only "Error occurred while executing op": its cause
    else:
        message = error.message if error else "failed"
    if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
        # Dagster names the failed blocking checks on the lines after its own ("N blocking asset check(s) failed
        # with ERROR severity:"), one asset a line: `asset: check,check`. Each is said with its own result.
        message = "; ".join(_failed_check_text(summary, line) for line in message.splitlines()[1:] if ": " in line)
        summary.stopped_by_checks.append(step_key)
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    summary.failures.append(f"{step_key}: {plugin_model_paths(first)}")
    summary.failed_steps.append(step_key)
    if user and user.metadata and "loads" in user.metadata:
        _add_loads(summary, _metadata_value(user.metadata["loads"]))


def _add_loads(summary: RunSummary, loads: list[dict]) -> None:
    """Count a landing step's loads (FileLoad records) under their source, from a materialisation or a failure."""
    for load in loads:
        key = f"{load['plugin']}/{load['table']}"
        source = summary.sources.setdefault(key, SourceSummary(key))
        source.files_landed += load["status"] == "landed"
        source.files_duplicate += load["status"] == "duplicate"
        source.files_rejected += load["status"] == "rejected"
        source.rows_landed += load["rows_landed"]
        source.rows_quarantined += load["rows_quarantined"]
        source.warnings += load.get("warnings") or []
        if load.get("quarantine_path") and load["rows_quarantined"]:
            source.quarantine_files.append(load["quarantine_path"])
        if load["status"] == "waiting":
            source.waiting.append(load["source_file"])
        elif load.get("problem"):
            source.problems.append(load["problem"])


QUOTED_VALUE = "'[^']*'"  # how a row problem quotes the value it found (typing_sql)


def quarantine_reasons(files: list[str], top: int = 3) -> list[tuple[str, int]]:
    """The commonest reasons rows were quarantined, with their counts. The value a reason quotes is left out, so
    that one kind of problem counts as one ('unreadable date … in column X'), whatever each row wrote."""
    present = [name for name in files if Path(name).exists()]  # a quarantine file goes with a rejected load
    if not present:
        return []
    with duckdb.connect() as con:
        return con.execute(
            "select regexp_replace(reason, ?, ?, 'g') as kind, count(*) as rows "
            "from read_csv(?, header = true, all_varchar = true) group by kind order by rows desc, kind limit ?",
            [QUOTED_VALUE, "'…'", present, top]).fetchall()


def _failed_check_text(summary: RunSummary, line: str) -> str:
    asset, names = line.strip().split(": ", 1)
    texts = []
    for name in names.split(","):
        described = [c["description"] for c in summary.checks
                     if c["asset"] == asset and c["check"] == name and not c["passed"] and c["description"]]
        texts.append(f"blocking check {asset} {name} failed" + (f": {described[0]}" if described else ""))
    return "; ".join(texts)


IN_PROGRESS = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.QUEUED,
               dg.DagsterRunStatus.NOT_STARTED]


KILLED = "kpo: this run's process died (killed or crashed)"


def _cli_runs_in_progress(instance: dg.DagsterInstance, limit: int | None = None) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS, tags={"kpo/trigger": "cli"}),
                                  limit=limit))


def recover_killed_runs(settings: Settings, instance: dg.DagsterInstance) -> list[str]:
    """Runs started by `kpo run` that are still 'in progress' while we hold the run lock were killed
    (every live CLI run holds the lock): mark them failed, free the `warehouse` pool slot they held (or the
    next run would wait for that slot for ever), and raise the alert a failed run raises."""
    recovered = []
    for run in _cli_runs_in_progress(instance):
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        instance.report_run_failed(run, message=KILLED)
        raise_alert(settings, Alert(run_id=run.run_id, job=run.job_name, load_date=run_load_date(run.tags),
                                    failed_steps=[], message=KILLED))
        recovered.append(run.run_id)
    return recovered


def recover_killed_runs_unless_one_is_live(settings: Settings, instance: dg.DagsterInstance) -> list[str]:
    """For the Dagster daemon: a `kpo run` killed outside it stays 'in progress' in the instance, and the run
    queue (one run at a time) would hold every scheduled or sensor run behind it until the next `kpo run`.
    When such runs exist and no `kpo run` holds the lock, mark them failed. The lock is held shared meanwhile,
    so a `kpo run` starting in that instant is refused (with the usual message) rather than taken for dead."""
    if not _cli_runs_in_progress(instance, limit=1):
        return []
    with no_run_holding(settings) as free:
        return recover_killed_runs(settings, instance) if free else []  # a live `kpo run`'s run is not dead


def daemon_runs_in_progress(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Runs the Dagster daemon launched (schedule, sensor, UI) that are queued or still going."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS))
    return [run for run in runs if run.tags.get("kpo/trigger") != "cli"]


def daemon_busy_message(runs: list[dg.DagsterRun]) -> str:
    """Why `kpo run` refuses while the daemon has `runs`: going, or only waiting in its queue."""
    going = [run for run in runs if run.status in (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING)]
    run = (going or runs)[0]
    what = f"{run.job_name} run {run.run_id[:8]} (load date {run_load_date(run.tags) or 'unknown'})"
    if going:
        return f"the Dagster daemon's {what} is in progress; wait for it to finish"
    return (f"the Dagster daemon's {what} is queued and will start when the run queue allows; wait for it to "
            "finish, or cancel it in the Dagster UI")


def run_nightly(settings: Settings, load_date: dt.date | None = None, full_refresh: bool = False,
                on_step: Callable[[str, str], None] | None = None, reprocess: bool = False,
                locked: bool = False) -> RunSummary:
    """Load the inbox for `load_date` (default today, London), build, check, publish. With `reprocess`,
    re-land that date's archived extracts instead of the inbox (a backfill). The run lock is taken here, unless
    the caller holds it already (`locked`: `kpo run` takes it before importing Dagster, to refuse at once)."""
    from pipelines.definitions import NIGHTLY_JOB, build_definitions
    from pipelines.landing import unclaimed_inbox_files
    from plugins import registry

    load_date = load_date or settings.today()
    with contextlib.nullcontext() if locked else run_lock(settings), prepare_instance(settings) as instance:
        recover_killed_runs(settings, instance)
        if busy := daemon_runs_in_progress(instance):
            raise AlreadyRunning(daemon_busy_message(busy))
        run_id = str(uuid.uuid4())
        log_path = settings.root / "logs" / f"run-{run_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
        except Exception as exc:  # noqa: BLE001 - whatever stops the job being built, the run cannot start
            log_path.write_text(traceback.format_exc())
            reason = raise_start_failure(settings, NIGHTLY_JOB, exc, load_date.isoformat())
            raise CannotStart(f"the run could not start: {reason} (nothing ran, the publication is unchanged, an "
                              f"alert was raised; details in {log_path})") from exc
        # The terminal shows progress and a summary; the full event log stays in the Dagster instance.
        run_config = {"ops": {"dbt_build": {"config": {"full_refresh": full_refresh}}},
                      "loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        watcher = _StepWatcher(instance, run_id, on_step) if on_step else None
        if watcher:
            watcher.start()
        try:
            # dagster-dbt re-emits dbt's own log on stdout (for Dagster's compute logs), and Dagster's console
            # logger writes each failed or skipped step, with its stack trace, on stderr: in a terminal both
            # bury the progress display and the summary, which names every failure. They go to a per-run log
            # file instead, which the summary points to.
            with log_path.open("w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                job.execute_in_process(instance=instance, partition_key=load_date.isoformat(), run_id=run_id,
                                       raise_on_error=False, run_config=run_config,
                                       tags={"kpo/trigger": "cli", "kpo/full_refresh": str(full_refresh).lower(),
                                             "kpo/reprocess": str(reprocess).lower()})
        finally:
            if watcher:
                watcher.stop()
        summary = summarise(instance, run_id, load_date.isoformat())
        summary.log_path = str(log_path)
        summary.unclaimed = unclaimed_inbox_files(settings, registry.discover())
        if not summary.success:  # as the daemon's failure sensor does for the runs it launches
            failures = summary.failures + ([unclaimed_text(summary.unclaimed)] if summary.unclaimed else [])
            raise_alert(settings, Alert(run_id=run_id, job=job.name, load_date=load_date.isoformat(),
                                        failed_steps=summary.failed_steps,
                                        message="; ".join(failures) or "run failed"))
        elif summary.unclaimed and not reprocess:  # a backfill reads the archive, not the inbox
            raise_unclaimed(settings, job.name, summary.unclaimed, load_date.isoformat())
        return summary


class _StepWatcher(threading.Thread):
    """Reports step starts and ends from the event log while the job runs (for the progress display)."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, on_step: Callable[[str, str], None]):
        super().__init__(daemon=True)
        self.instance, self.run_id, self.on_step = instance, run_id, on_step
        self._halt = threading.Event()
        self._cursor: str | None = None

    def run(self) -> None:
        types = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
                 dg.DagsterEventType.STEP_SKIPPED}
        while not self._halt.wait(0.5):
            self._poll(types)
        self._poll(types)

    def _poll(self, types: set) -> None:
        try:
            connection = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=types)
        except Exception:  # the run may not exist yet in the first polls
            return
        self._cursor = connection.cursor
        for record in connection.records:
            event = record.event_log_entry.dagster_event
            self.on_step(event.step_key or "", event.event_type.value)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
