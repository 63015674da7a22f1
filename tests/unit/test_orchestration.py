"""Issue 5 with Dagster's own testing helpers: the schedule's partition and job, the inbox sensor's
stability rule and run keys, the run-failure alert (log, alerts.jsonl, webhook on 127.0.0.1), the retry
policy and instance settings, and the sensor that marks killed `kpo run`s failed."""

import datetime as dt
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipelines.definitions import nightly_job
from pipelines.ingest import LOAD_DATES
from pipelines.landing import content_sha256, land_inbox
from pipelines.schedules import nightly_schedule
from pipelines.sensors import UNCLAIMED, failure_sensor, inbox_sensor, killed_run_sensor
from pipelines.settings import LONDON, Settings
from plugins.hr_recruitment import PLUGIN as HR
from tests.helpers import alerts

JOB = dg.define_asset_job("kpo_nightly", selection="*")
EXTRACT = "Vacancy Reference,Job Title\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", sensor_stable_seconds=60, pseudonymisation_key="k")
    settings.ensure_folders()
    return settings


def test_the_schedule_runs_at_two_in_london_for_that_days_partition():
    schedule = nightly_schedule(JOB)
    assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone == "Europe/London"
    assert schedule.job_name == "kpo_nightly"
    # 02:00 BST on 1 July is 01:00 UTC: the load date is still 1 July in London. The days the clocks change
    # (23 and 25 hours long; 02:00 exists once on both) have their own load date, which the partitions hold.
    for (month, day), load_date in (((7, 1), "2024-07-01"), ((1, 15), "2024-01-15"), ((3, 31), "2024-03-31"),
                                    ((10, 27), "2024-10-27")):
        when = dt.datetime(2024, month, day, 2, 0, tzinfo=LONDON)
        request = schedule(dg.build_schedule_context(scheduled_execution_time=when))
        assert request.partition_key == load_date
        assert load_date in LOAD_DATES.get_partition_keys(current_time=when)


def test_a_launched_nightly_run_executes_in_one_process_as_kpo_run_does():
    # The daemon's run worker executes the job with the job's own executor; a process per step re-imports
    # Dagster, dagster-dbt and great-expectations for every step (~6 min a night, see pipelines/definitions.py).
    assert nightly_job().executor_def is dg.in_process_executor


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2024, 3, 1, 9, 0, tzinfo=LONDON).timestamp()

    def __call__(self) -> float:
        return self.now


def drop(path: Path, text: str, clock: Clock) -> Path:
    """Write an extract as of the test's clock (the sensor reads a file's age from its modification time)."""
    path.write_text(text)
    os.utime(path, (clock.now, clock.now))
    return path


def tick(sensor: dg.SensorDefinition, cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(cursor=cursor, instance=instance))
    return list(result.run_requests or []), result.cursor


def test_the_sensor_waits_for_a_stable_size_then_runs_once_per_content(settings):
    clock = Clock()
    sensor = inbox_sensor(settings, (HR,), JOB, clock=clock)
    inbox = settings.inbox / "hr_recruitment"
    inbox.mkdir(parents=True)
    extract = drop(inbox / "trac_vacancies_1.csv", EXTRACT, clock)
    requests, cursor = tick(sensor, None)
    assert requests == []  # first sight: the clock starts
    clock.now += 30
    drop(extract, EXTRACT + "0000001,Porter\n", clock)  # still being written
    requests, cursor = tick(sensor, cursor)
    assert requests == []
    clock.now += 59
    requests, cursor = tick(sensor, cursor)
    assert requests == []  # stable for 59 s only
    clock.now += 1
    [request], cursor = tick(sensor, cursor)
    assert request.run_key == content_sha256(extract) and request.partition_key == "2024-03-01"
    assert request.tags["kpo/file"] == "trac_vacancies_1.csv"
    clock.now += 600
    [again], cursor = tick(sensor, cursor)
    assert again.run_key == request.run_key  # same key: Dagster never starts a second run for it


def test_extracts_ready_together_start_one_run_and_none_while_a_queued_run_will_land_them(settings):
    """A run lands every extract in the inbox: a month's files dropped together start one run (one each queued
    runs that landed nothing and published again), keyed by their contents; a queued nightly run takes them."""
    import hashlib

    from dagster._core.storage.dagster_run import DagsterRun

    clock = Clock()
    sensor = inbox_sensor(settings, (HR,), JOB, clock=clock)
    inbox = settings.inbox / "hr_recruitment"
    inbox.mkdir(parents=True)
    extracts = [drop(inbox / f"trac_vacancies_{n}.csv", EXTRACT + f"000000{n},Porter\n", clock) for n in (1, 2, 3)]
    with dg.instance_for_test() as instance:
        def tick_on(cursor):
            result = sensor(dg.build_sensor_context(cursor=cursor, instance=instance))
            return list(result.run_requests or []), result.cursor

        _, cursor = tick_on(None)
        clock.now += 60
        # a nightly run waiting to start (the scheduled one, say); a backfill's would re-land the archive instead
        instance.add_run(DagsterRun(job_name="kpo_nightly", run_id="backfill", status=dg.DagsterRunStatus.NOT_STARTED,
                                    tags={"dagster/backfill": "b1"}))
        assert len(tick_on(cursor)[0]) == 1
        instance.add_run(DagsterRun(job_name="kpo_nightly", run_id="waiting", status=dg.DagsterRunStatus.NOT_STARTED))
        requests, cursor = tick_on(cursor)
        assert requests == []  # the waiting run will land all three
        instance.delete_run("waiting")  # it started (and took the inbox as it then was), or was cancelled
        clock.now += 30
        [request], cursor = tick_on(cursor)
    hashes = sorted(content_sha256(path) for path in extracts)
    assert request.run_key == hashlib.sha256("\n".join(hashes).encode()).hexdigest()
    assert request.tags["kpo/file"] == "trac_vacancies_1.csv and 2 more"


def test_the_sensor_passes_over_a_file_a_run_archived_while_it_was_listing_the_inbox(settings, monkeypatch):
    """The daemon's sensor lists the inbox while a run may be landing it: a file gone between the listing and its
    stat (or its hash) is no reason for the tick to fail."""
    from pipelines import sensors

    clock = Clock()
    inbox = settings.inbox / "hr_recruitment"
    inbox.mkdir(parents=True)
    gone = inbox / "trac_vacancies_landed.csv"
    monkeypatch.setattr(sensors, "_waiting_files", lambda settings, plugins: {gone: (HR, HR.table("vacancies"))})
    requests, cursor = tick(inbox_sensor(settings, (HR,), JOB, clock=clock), None)
    assert requests == [] and str(gone) not in json.loads(cursor)


def test_the_sensor_skips_a_re_dropped_file(settings, tmp_path):
    clock = Clock()
    sensor = inbox_sensor(settings, (HR,), JOB, clock=clock)
    inbox = settings.inbox / "hr_recruitment"
    inbox.mkdir(parents=True)
    source = Path(__file__).parent / "fixtures_vacancies.csv"
    shutil.copy(source, inbox / "trac_vacancies_a.csv")
    land_inbox(settings, HR, HR.table("vacancies"), dt.date(2024, 3, 1))
    drop(inbox / "trac_vacancies_again.csv", source.read_text(), clock)  # the same content dropped again
    _, cursor = tick(sensor, None)
    clock.now += 61
    requests, _ = tick(sensor, cursor)
    assert requests == []


def test_the_sensor_waits_until_a_run_would_take_the_file(settings):
    """A run leaves in the inbox a file modified within KPO_INBOX_MIN_AGE_SECONDS: were the sensor to start
    one sooner, the file would wait, and its run key, spent, would start nothing more until the nightly run."""
    rested = settings.model_copy(update={"sensor_stable_seconds": 10, "inbox_min_age_seconds": 120})
    clock = Clock()
    sensor = inbox_sensor(rested, (HR,), JOB, clock=clock)
    (rested.inbox / "hr_recruitment").mkdir(parents=True)
    extract = drop(rested.inbox / "hr_recruitment" / "trac_vacancies_1.csv", EXTRACT, clock)
    _, cursor = tick(sensor, None)
    clock.now += 60
    requests, cursor = tick(sensor, cursor)
    assert requests == []  # stable for 60 s, but modified 60 s ago: a run would leave it waiting
    clock.now += 60
    [request], _ = tick(sensor, cursor)
    assert request.run_key == content_sha256(extract)


def test_the_sensor_keeps_the_files_no_run_will_load_to_name_them_once(settings):
    sensor = inbox_sensor(settings, (HR,), JOB, clock=Clock())
    (settings.inbox / "hr_recruitment").mkdir(parents=True)
    (settings.inbox / "hr_recruitment" / "vacancy notes.txt").write_text("x")
    requests, cursor = tick(sensor, None)
    assert requests == [] and json.loads(cursor)[UNCLAIMED] == ["hr_recruitment/vacancy notes.txt"]


class Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_failed_run_raises_an_alert_everywhere(tmp_path, caplog):
    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = Settings(home=tmp_path / "home", alert_webhook_url=f"http://127.0.0.1:{server.server_port}/alert")

    @dg.op
    def breaks() -> None:
        raise RuntimeError("the warehouse is on fire")

    @dg.job(name="kpo_nightly")
    def nightly() -> None:
        breaks()

    sensor = failure_sensor(settings)
    with dg.instance_for_test() as instance:
        result = nightly.execute_in_process(instance=instance, raise_on_error=False,
                                            tags={"dagster/partition": "2024-03-01"})
        failure = [e for e in result.all_events if e.event_type == dg.DagsterEventType.PIPELINE_FAILURE][0]
        context = dg.build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=failure,
                                                     dagster_instance=instance, dagster_run=result.dagster_run)
        sensor(context.for_run_failure())
        sensor(context.for_run_failure())  # the same failure seen again (by `kpo run` too, say): alerted once
    server.shutdown()
    [alert] = alerts(settings.root)
    assert alert["run_id"] == result.run_id and alert["load_date"] == "2024-03-01"
    assert alert["failed_steps"] == ["breaks"]
    assert "the warehouse is on fire" in alert["message"]  # the cause, as `kpo run` says it, not only the step
    assert Hook.received == [alert]
    assert any("failed" in r.message for r in caplog.records if r.name == "kpo.alerts")


@pytest.mark.parametrize(("asked", "built", "relanded", "full"), [
    (False, "same", False, False),   # the usual night, and a backfill that re-landed nothing: incremental
    (False, "same", True, True),     # a backfill re-landed archived extracts since the last full build
    (False, "older", False, True),   # the dbt project or a plugin changed
    (False, None, False, True),      # the first build
    (True, "same", False, True),     # `kpo run --full-refresh`
])
def test_incremental_models_are_rebuilt_when_the_project_changed_or_a_backfill_re_landed(asked, built, relanded, full):
    from pipelines.transform import build_arguments

    args, reasons = build_arguments(asked, built, "same", relanded=relanded)
    assert args[0] == "build" and reasons
    assert ("--full-refresh" in args) == full
    # dbt unit tests (model logic) run with every full build, and only then
    assert ("unit_test" not in args) == full
    # dbt's debug log file only when asked for (KPO_DBT_FILE_LOG_LEVEL): its events reach the run log anyway
    assert args[-3:-1] == ["--log-level-file", "none"]
    assert build_arguments(asked, built, "same", file_log_level="debug")[0][-3:-1] == ["--log-level-file", "debug"]
    assert args[-1] == "--no-use-colors"  # the run log is a file: no terminal colour codes in it


def test_a_transient_landing_failure_is_retried_and_a_rejected_extract_is_not(settings, monkeypatch):
    """The landing step's retry policy: an OS error (a share that hiccups mid-read) is retried once and the
    run goes on; a rejected extract fails at once, since reading it again cannot mend it."""
    from pipelines import ingest

    inbox = settings.inbox / "hr_recruitment"
    inbox.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "fixtures_vacancies.csv", inbox / "trac_vacancies_a.csv")
    attempts = []

    def flaky(*args, **kwargs):
        attempts.append(args[2].name)
        if len(attempts) == 1:
            raise OSError(11, "Resource temporarily unavailable")
        return land_inbox(*args, **kwargs)

    monkeypatch.setattr(ingest, "land_inbox", flaky)
    asset = ingest.landing_asset(settings, HR, HR.table("vacancies"))
    with dg.instance_for_test() as instance:
        result = dg.materialize([asset], partition_key="2024-03-01", instance=instance)
        retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert result.success and attempts == ["vacancies", "vacancies"] and len(retried) == 1
    assert list((settings.landing / "hr_recruitment" / "vacancies" / "load_date=2024-03-01").glob("*.parquet"))

    (inbox / "trac_vacancies_b.csv").write_text("not,the,header\n1,2,3\n")
    attempts.clear()
    monkeypatch.setattr(ingest, "land_inbox", lambda *args, **kwargs: attempts.append(1) or land_inbox(*args, **kwargs))
    with dg.instance_for_test() as instance:
        result = dg.materialize([asset], partition_key="2024-03-02", instance=instance, raise_on_error=False)
        retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert not result.success and attempts == [1] and retried == []
    assert list((settings.quarantine / "hr_recruitment" / "rejected").iterdir())


def test_a_damaged_landed_load_fails_at_once_naming_the_file_and_a_backfill_of_its_date_mends_it(settings):
    """A landed Parquet file cut short (a disk fault): every later run reads the table's landed columns, so it
    fails; not retried (reading again cannot mend it), naming the file and the load date to re-land."""
    from pipelines import ingest

    inbox = settings.inbox / "hr_recruitment"
    inbox.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "fixtures_vacancies.csv", inbox / "trac_vacancies_a.csv")
    asset = ingest.landing_asset(settings, HR, HR.table("vacancies"))
    with dg.instance_for_test() as instance:
        assert dg.materialize([asset], partition_key="2024-03-01", instance=instance).success
    [landed] = (settings.landing / "hr_recruitment" / "vacancies" / "load_date=2024-03-01").glob("*.parquet")
    (settings.landing / "hr_recruitment" / "vacancies" / "_landed_columns.json").unlink()  # as if never indexed
    landed.write_bytes(landed.read_bytes()[: landed.stat().st_size // 2])
    with dg.instance_for_test() as instance:
        result = dg.materialize([asset], partition_key="2024-03-02", instance=instance, raise_on_error=False)
        retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
        [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert not result.success and retried == []
    description = failure.step_failure_data.user_failure_data.description
    assert f"{landed}: a landed load that cannot be read" in description
    assert "re-land that load date with `kpo backfill --start 2024-03-01 --end 2024-03-01`" in description
    with dg.instance_for_test() as instance:  # what that backfill's landing step does
        result = dg.materialize([asset], partition_key="2024-03-01", instance=instance,
                                tags={"dagster/backfill": "abcdefgh"})
    assert result.success and pq.read_schema(landed).names


def test_a_run_under_another_pseudonymisation_key_fails_at_once_and_lands_nothing(settings):
    from pipelines import ingest

    inbox = settings.inbox / "hr_recruitment"
    inbox.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "fixtures_vacancies.csv", inbox / "trac_vacancies_a.csv")
    with dg.instance_for_test() as instance:
        assert dg.materialize([ingest.landing_asset(settings, HR, HR.table("vacancies"))], partition_key="2024-03-01",
                              instance=instance).success
    fixture = (Path(__file__).parent / "fixtures_vacancies.csv").read_bytes()
    (inbox / "trac_vacancies_b.csv").write_bytes(fixture.replace(b"\n", b"\r\n"))  # another extract (content)
    rotated = settings.model_copy(update={"pseudonymisation_key": "not the key the history was landed under"})
    with dg.instance_for_test() as instance:
        result = dg.materialize([ingest.landing_asset(rotated, HR, HR.table("vacancies"))],
                                partition_key="2024-03-02", instance=instance, raise_on_error=False)
        retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
        [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert not result.success and retried == []
    assert "is not the one the landed history was pseudonymised with" in \
        failure.step_failure_data.user_failure_data.description
    assert (inbox / "trac_vacancies_b.csv").exists()


def test_a_backfill_of_a_date_that_archived_nothing_relands_nothing(settings):
    """A UI backfill over a range runs every date, archived extracts or none. A date with none has nothing to
    re-land: its build need not be rebuilt in full, nor its publication made again. A date with another source's
    extracts re-lands those; a nightly run of any date loads the inbox."""
    from pipelines.ingest import relanding_nothing

    (settings.archive / "ed_attendances" / "load_date=2024-03-02").mkdir(parents=True)
    backfill = {"dagster/backfill": "abcdefgh"}
    assert relanding_nothing(settings, {**backfill, "dagster/partition": "2024-03-01"})
    assert not relanding_nothing(settings, {**backfill, "dagster/partition": "2024-03-02"})
    assert not relanding_nothing(settings, {"kpo/reprocess": "false", "dagster/partition": "2024-03-01"})
    assert not relanding_nothing(settings, backfill)  # no date to judge by: re-land and rebuild as a backfill does
    # a Dagster asset backfill (the UI's) tags its runs with a range of one date instead of a partition
    one_date = {"dagster/asset_partition_range_start": "2024-03-01", "dagster/asset_partition_range_end": "2024-03-01"}
    assert relanding_nothing(settings, {**backfill, **one_date})


def test_a_runs_load_date_is_its_partition_or_the_one_date_of_its_range():
    from pipelines.ingest import run_load_date

    assert run_load_date({"dagster/partition": "2024-03-01"}) == "2024-03-01"
    assert run_load_date({"dagster/asset_partition_range_start": "2024-03-02",
                          "dagster/asset_partition_range_end": "2024-03-02"}) == "2024-03-02"
    assert run_load_date({"dagster/asset_partition_range_start": "2024-03-02",
                          "dagster/asset_partition_range_end": "2024-03-04"}) is None  # several dates: none of them
    assert run_load_date({}) is None


def test_the_instance_kpo_prepares_retries_a_crashed_run_once_and_runs_one_at_a_time(settings, monkeypatch):
    """dagster.yaml as the daemon reads it: a run whose process died is re-executed once, a run that failed (a
    check, a rejected extract) is not, launched runs queue one at a time, every warehouse writer shares one
    slot, and a run stuck 'started' is failed in the end. A mistyped key would switch these off silently."""
    from pipelines.runner import prepare_instance

    for name, value in settings.child_environment().items():  # what prepare_instance exports, undone after
        monkeypatch.setenv(name, value)
    with prepare_instance(settings) as instance:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert not instance.run_retries_retry_on_asset_or_op_failure
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 1
        assert concurrency.pool_config.default_pool_limit == 1
        # a run stuck 'started' (its process died with the machine) is failed after 3 hours, not waited on
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_runtime_seconds == 3 * 3600
        # a run whose process died frees its `warehouse` slot, or its retry and every later run queue for ever
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 30
    # and the retry runs every step again: resumed from the failed step, it would skip the landing checks that
    # publication requires
    from pipelines.definitions import nightly_job

    assert nightly_job().tags["dagster/retry_strategy"] == "ALL_STEPS"


@dg.op
def noop() -> None:
    pass


@dg.job
def tiny() -> None:
    noop()


def test_the_daemon_marks_a_killed_kpo_run_failed_once_no_kpo_run_holds_the_lock(settings):
    """A `kpo run` killed outside the daemon stays 'started' in the instance; the run queue (one at a time)
    would keep every scheduled run waiting behind it. The sensor marks it failed, but never while a `kpo run`
    holds the lock (its run is alive), and never a run the daemon launched (Dagster's code server watches those)."""
    from pipelines.locking import run_lock

    sensor = killed_run_sensor(settings)
    with dg.instance_for_test() as instance:
        killed = instance.create_run_for_job(tiny, status=dg.DagsterRunStatus.STARTED, tags={"kpo/trigger": "cli"})
        scheduled = instance.create_run_for_job(tiny, status=dg.DagsterRunStatus.STARTED,
                                                tags={"kpo/trigger": "schedule"})
        with run_lock(settings):  # a live `kpo run`
            held = sensor(dg.build_sensor_context(instance=instance))
            assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.STARTED
        freed = sensor(dg.build_sensor_context(instance=instance))
        statuses = {name: instance.get_run_by_id(run.run_id).status
                    for name, run in (("killed", killed), ("scheduled", scheduled))}
        again = sensor(dg.build_sensor_context(instance=instance))
    assert held.skip_message == "no killed kpo run" and again.skip_message == "no killed kpo run"
    assert killed.run_id[:8] in freed.skip_message
    [alert] = alerts(settings.root)
    assert alert["run_id"] == killed.run_id and "died" in alert["message"]  # as for any failed run
    assert statuses == {"killed": dg.DagsterRunStatus.FAILURE, "scheduled": dg.DagsterRunStatus.STARTED}


def test_kpo_run_refuses_while_the_daemon_has_a_run_saying_whether_it_is_going_or_queued():
    """One nightly run at a time: `kpo run` refuses while a run the daemon launched is going, and says so; one only
    waiting in the queue is called queued, not in progress (it may wait for hours behind the queue's limit)."""
    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.runner import daemon_busy_message, daemon_runs_in_progress

    with dg.instance_for_test() as instance:
        instance.create_run_for_job(tiny, status=dg.DagsterRunStatus.STARTED, tags={"kpo/trigger": "cli"})
        assert daemon_runs_in_progress(instance) == []  # a `kpo run`'s own: the run lock decides those
        # waiting in the queue (QUEUED needs a code location behind it; NOT_STARTED waits alike)
        instance.add_run(DagsterRun(job_name="kpo_nightly", run_id="a1b2c3d4-queued",
                                    status=dg.DagsterRunStatus.NOT_STARTED,
                                    tags={"dagster/partition": "2024-03-01"}))
        message = daemon_busy_message(daemon_runs_in_progress(instance))
        assert message == ("the Dagster daemon's kpo_nightly run a1b2c3d4 (load date 2024-03-01) is queued and will "
                           "start when the run queue allows; wait for it to finish, or cancel it in the Dagster UI")
        going = instance.create_run_for_job(tiny, status=dg.DagsterRunStatus.STARTED,
                                            tags={"kpo/trigger": "sensor"})
        message = daemon_busy_message(daemon_runs_in_progress(instance))
    assert message == (f"the Dagster daemon's tiny run {going.run_id[:8]} (load date unknown) is in progress; wait "
                       "for it to finish")


def test_a_failed_blocking_check_is_reported_by_its_result_not_by_dagsters_error():
    from types import SimpleNamespace

    from pipelines.runner import RunSummary, _step_failed

    summary = RunSummary(run_id="r", load_date="2024-03-01")
    summary.checks = [{"asset": "landing/hr_recruitment/vacancies", "check": "gx_vacancies", "passed": False,
                       "severity": "ERROR", "description": "trac_vacancies_dup.csv: vacancy_id repeated at line 3"}]
    error = SimpleNamespace(cls_name="DagsterAssetCheckFailedError",
                            message="dagster._core.errors.DagsterAssetCheckFailedError: 1 blocking asset check failed "
                                    "with ERROR severity:\nlanding/hr_recruitment/vacancies: gx_vacancies\n")
    _step_failed(summary, "landing_hr_recruitment_vacancies", SimpleNamespace(error=error, user_failure_data=None))
    assert summary.failures == ["landing_hr_recruitment_vacancies: blocking check landing/hr_recruitment/vacancies "
                                "gx_vacancies failed: trac_vacancies_dup.csv: vacancy_id repeated at line 3"]
    assert summary.failed_steps == summary.stopped_by_checks == ["landing_hr_recruitment_vacancies"]


def test_a_run_stops_when_landed_loads_lack_a_column_now_required_and_a_backfill_only_warns(settings, tmp_path):
    """Loads landed under an earlier declaration read a column declared since as blank: the nightly run stops
    when the declaration requires it, naming the load dates to re-land; the backfill that re-lands them warns."""
    from pipelines import ingest
    from tests.helpers import falls_declaration

    def declared(harm: str, required: bool):
        return falls_declaration(harm, required, tmp_path)

    inbox = settings.inbox / "falls"
    inbox.mkdir(parents=True)
    (inbox / "falls_1.csv").write_text("Event ID,Occurred,Harm\nE1,2024-02-01,severe\n")
    land_inbox(settings, *declared("harm_level", True), dt.date(2024, 2, 1))

    def materialise(required: bool, **tags: str) -> tuple[bool, str]:
        (inbox / f"falls_{len(tags)}{required}.csv").write_text(f"Event ID,Occurred,Harm\nE{required},2024-02-27,x\n")
        with dg.instance_for_test() as instance:
            result = dg.materialize([ingest.landing_asset(settings, *declared("harm", required))],
                                    partition_key="2024-03-01", instance=instance, raise_on_error=False, tags=tags)
        if not result.success:
            [failure] = result.get_step_failure_events()
            return False, failure.step_failure_data.user_failure_data.description
        [materialisation] = result.get_asset_materialization_events()
        return True, materialisation.materialization.metadata["warnings"].value[0]

    success, message = materialise(required=True)
    assert not success and "lack column(s) harm" in message and "nothing is published" in message
    assert "kpo backfill --start 2024-02-01 --end 2024-02-01;" in message
    success, message = materialise(required=True, **{"kpo/reprocess": "true"})
    assert success and "lack column(s) harm" in message
    success, message = materialise(required=False)
    assert success and "lack column(s) harm" in message and "nothing is published" not in message


def test_a_plugin_that_stops_the_job_being_built_fails_the_run_in_one_line_and_alerts(settings, monkeypatch):
    """A misspelt direction, a misnamed suite or a ref typo stops the nightly job being built: the run says why in
    one line (not a traceback), keeps the traceback in its log, and alerts once per reason."""
    from pipelines import definitions, runner
    from plugins.registry import PluginError

    def broken(_settings):
        raise PluginError("plugin 'falls_log' has an invalid declaration: metric falls_log_events: direction "
                          "'Decrease' is not increase/decrease/neutral")

    monkeypatch.setattr(definitions, "build_definitions", broken)
    for _ in range(2):
        with pytest.raises(runner.CannotStart) as refused:
            runner.run_nightly(settings, dt.date(2024, 3, 1))
    message = str(refused.value)
    assert message.startswith("the run could not start: plugin 'falls_log' has an invalid declaration: metric "
                              "falls_log_events: direction 'Decrease'") and "publication is unchanged" in message
    log = Path(message.rsplit("details in ", 1)[1].rstrip(")"))
    assert "Traceback" in log.read_text() and "PluginError" in log.read_text()
    [alert] = alerts(settings.root)  # the second run met the same reason: alerted once
    assert alert["job"] == "kpo_nightly" and alert["load_date"] == "2024-03-01"
    assert alert["message"].startswith("the nightly job could not start: plugin 'falls_log'")


def test_a_dbt_error_is_cut_to_what_dbt_says_with_the_plugins_own_path():
    from pipelines.alerts import start_failure_reason

    output = ("dbt parse failed:\n\x1b[0m02:10:09  Running with dbt=1.11.16\n02:10:10  Encountered an error:\n"
              "Compilation Error\n  Model 'model.kpo.fct_falls_log_events' (plugin_models/falls_log/marts/"
              "fct_falls_log_events.sql) depends on a node named 'stg_falls_log_events' which was not found\n")
    assert start_failure_reason(RuntimeError(output)) == (
        "Compilation Error Model 'model.kpo.fct_falls_log_events' (plugins/falls_log/models/marts/"
        "fct_falls_log_events.sql) depends on a node named 'stg_falls_log_events' which was not found")


def test_a_failed_dbt_test_is_summarised_with_its_rows_not_none():
    from pipelines.runner import _dbt_test_text

    failed = dg.AssetCheckEvaluation(asset_key=dg.AssetKey("dim_projects"),
                                     check_name="assert_every_project_series_is_measured", passed=False,
                                     metadata={"dagster_dbt/failed_row_count": 2})
    assert _dbt_test_text(failed) == ("dbt test found 2 row(s) that break it; `kpo dbt show --select "
                                      "assert_every_project_series_is_measured` lists them")
    passed = dg.AssetCheckEvaluation(asset_key=dg.AssetKey("dim_projects"), check_name="x", passed=True,
                                     metadata={"dagster_dbt/failed_row_count": 0})
    assert _dbt_test_text(passed) is None


def test_a_dbt_test_that_errored_is_not_said_to_have_found_rows_and_the_database_error_is_kept(tmp_path):
    """A test DuckDB could not run (a landed file it cannot read) found nothing: it says so, and the dbt step's
    failure keeps DuckDB's own error line, not only dbt's line naming the node."""
    from pipelines.runner import _dbt_test_text
    from pipelines.transform import failed_nodes

    errored = dg.AssetCheckEvaluation(asset_key=dg.AssetKey("stg_ed_attendances__attendances"),
                                      check_name="not_null_stg_ed_attendances__attendances_arrived_at", passed=False,
                                      metadata={"dagster_dbt/failed_row_count": 0, "status": "error"})
    assert "found" not in _dbt_test_text(errored) and "could not run the test (error)" in _dbt_test_text(errored)
    message = ("Runtime Error in test not_null_stg_ed_attendances__attendances_arrived_at (models/x.yml)\n"
               "  IO Error: Failed to read file \"/home/landing/a.parquet\": Snappy decompression failure\n\n"
               "  compiled code at target/run/x.sql")
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "test.kpo.not_null_stg_ed_attendances__attendances_arrived_at.1a2b", "status": "error",
         "message": message},
        {"unique_id": "model.kpo.fct_ed_attendances", "status": "success", "message": "OK"}]}))
    assert failed_nodes(tmp_path) == [
        "not_null_stg_ed_attendances__attendances_arrived_at.1a2b error: Runtime Error in test "
        "not_null_stg_ed_attendances__attendances_arrived_at (models/x.yml); IO Error: Failed to read file "
        "\"/home/landing/a.parquet\": Snappy decompression failure"]


def test_a_failed_dbt_unit_test_shows_its_diff_without_colour_codes(tmp_path):
    """dbt writes a unit test's diff with terminal colours, even in run_results.json; the summary showed the codes and
    cut the message at its first line, so the diff was only in the run log."""
    from pipelines.transform import failed_nodes

    red, yellow, bold, reset = "\x1b[31;1m", "\x1b[33m", "\x1b[0;1m", "\x1b[0m"
    diff = [f"{bold}@@{reset} {yellow},{reset}{bold}response_key{reset}   {yellow},{reset}{bold}course{reset}",
            f"{red}---{reset}{yellow},{reset}{red}1 completed 10:00{reset}{yellow},{reset}{red}Foundation day{reset}",
            f"   {yellow},{reset}1 completed 09:30{yellow},{reset}Foundation day"]
    rows = [f"   ,{n} completed 09:30,Foundation day" for n in range(2, 10)]
    message = ("\n\n\x1b[32mactual\x1b[0m differs from \x1b[31mexpected\x1b[0m:\n\n" + "\r\n".join(diff + rows)
               + "\r\n\n")
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "unit_test.kpo.stg_feedback.a_response_is_its_id", "status": "fail", "message": message}]}))
    [node] = failed_nodes(tmp_path)
    assert "\x1b" not in node
    assert node.splitlines() == ["stg_feedback.a_response_is_its_id fail: actual differs from expected:",
                                 "    @@ ,response_key   ,course", "    ---,1 completed 10:00,Foundation day",
                                 "       ,1 completed 09:30,Foundation day",
                                 *[f"       ,{n} completed 09:30,Foundation day" for n in range(2, 7)],
                                 "    ... 3 more line(s) in the run log"]


def test_a_dbt_failure_shows_its_first_nodes_and_the_backfill_for_a_landed_load_duckdb_could_not_read():
    """A landed file damaged in place (its size and time kept, so landing trusted its footer) fails every test that
    reads it: the alert shows the first few and says which load date to re-land, once."""
    from pipelines.transform import build_failure

    damaged = "/home/landing/ed_attendances/attendances/load_date=2024-03-01/" + "ab" * 32 + ".parquet"
    nodes = [f"not_null_stg_ed_{n}.1a2b error: Runtime Error in test x; IO Error: Failed to read file "
             f"\"{damaged}\": Snappy decompression failure" for n in range(7)]
    nodes.append(f"unique_stg_ed_7.1a2b error: Runtime Error in test y; Invalid Input Error: No magic bytes found at "
                 f"end of file '{damaged}'")
    described = build_failure(nodes)
    assert described.startswith("dbt build failed: not_null_stg_ed_0.1a2b error: ")
    assert "not_null_stg_ed_4.1a2b" in described and "not_null_stg_ed_5.1a2b" not in described
    assert "; and 3 more (the run log lists them); " in described
    assert described.endswith(f"landed load {damaged} cannot be read: re-land its load date from the archive with "
                              "`kpo backfill --start 2024-03-01 --end 2024-03-01`")
    assert described.count("kpo backfill") == 1
    assert build_failure(["fct_x error: Compilation Error"]) == "dbt build failed: fct_x error: Compilation Error"


def test_a_failed_dbt_step_names_a_plugin_model_by_its_path_under_plugins():
    from types import SimpleNamespace

    from pipelines.runner import RunSummary, _step_failed

    summary = RunSummary(run_id="r", load_date="2024-03-01")
    error = SimpleNamespace(cls_name="DagsterDbtCliRuntimeError", message=(
        "Compilation Error in model metric_rows_falls_log (plugin_models/falls_log/metric_rows/metric_rows_falls_log."
        "sql)\n  This model has an enforced contract that failed."))
    _step_failed(summary, "dbt_build", SimpleNamespace(error=error, user_failure_data=None))
    assert summary.failures == ["dbt_build: Compilation Error in model metric_rows_falls_log "
                                "(plugins/falls_log/models/metric_rows/metric_rows_falls_log.sql)"]
