"""The Dagster instance kpo configures (dagster.yaml) stores runs' events through pipelines.dagster_storage:
one engine and pooled connection per database instead of one per event, with Dagster's own files, so the
stock storage (the webserver of an older install, say) reads what it wrote, and what it wrote reads back."""

import logging
import shutil
import time

import dagster as dg
import pytest
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines import dagster_storage
from pipelines.dagster_storage import KpoSqliteEventLogStorage
from pipelines.settings import REPO_ROOT


@dg.op
def count_to_three() -> int:
    return 3


@dg.job
def tiny():
    count_to_three()


@pytest.fixture
def instance(tmp_path, monkeypatch):
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


def entry(run_id: str, message: str) -> EventLogEntry:
    return EventLogEntry(error_info=None, level=logging.INFO, user_message=message, run_id=run_id,
                         timestamp=time.time())


def test_the_configured_instance_stores_a_runs_events_in_dagsters_own_files(instance, tmp_path):
    storage = instance.event_log_storage
    assert isinstance(storage, KpoSqliteEventLogStorage)
    result = tiny.execute_in_process(instance=instance)
    assert result.success and result.output_for_node("count_to_three") == 3
    events = {record.dagster_event.event_type for record in instance.all_logs(result.run_id) if record.dagster_event}
    assert {dg.DagsterEventType.RUN_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.RUN_SUCCESS} <= events
    assert instance.get_run_by_id(result.run_id).is_success
    assert set(storage._engines) == {result.run_id, "index"}  # one engine per database, not per event
    # Dagster's stock storage, opened on the same folder, reads the same events.
    stock = SqliteEventLogStorage(str(tmp_path / "dagster" / "history" / "runs"))
    assert [e.message for e in stock.get_logs_for_run(result.run_id)] == \
        [e.message for e in instance.all_logs(result.run_id)]


def test_engines_are_bounded_and_a_wipe_leaves_no_connection_to_a_deleted_file(tmp_path, monkeypatch):
    monkeypatch.setattr(dagster_storage, "MAX_ENGINES", 4)
    storage = KpoSqliteEventLogStorage(str(tmp_path / "runs"))
    runs = [f"run{n}" for n in range(10)]
    for run_id in runs:
        storage.store_event(entry(run_id, f"hello from {run_id}"))
    assert len(storage._engines) == 4
    # an evicted run's database is opened again on demand, and nothing was lost
    for run_id in runs:
        assert [e.user_message for e in storage.get_logs_for_run(run_id)] == [f"hello from {run_id}"]
    storage.wipe()
    assert set(storage._engines) <= {"index"} and not list((tmp_path / "runs").glob("run*.db"))  # index kept
    storage.store_event(entry("run0", "after the wipe"))
    assert [e.user_message for e in storage.get_logs_for_run("run0")] == ["after the wipe"]
    assert [e.user_message for e in SqliteEventLogStorage(str(tmp_path / "runs")).get_logs_for_run("run0")] == \
        ["after the wipe"]
    storage.dispose()
    assert not storage._engines
