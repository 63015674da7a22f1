"""The atomic publication: complete or nothing, served by one rename, kept for rollback."""

import json
import os
from pathlib import Path

import duckdb
import pytest

from pipelines import gx_suites, publication
from pipelines.settings import Settings
from tests.helpers import kpo, tree_digest


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", keep_publications=3)
    settings.ensure_folders()
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create table mart_a as select range as id, range * 2 as value from range(10)")
        con.execute("create table fct_secret as select 'row-level' as x")
    return settings


def publish(settings: Settings, pid: str, value: int = 2) -> publication.Publication:
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(f"create or replace table mart_a as select range as id, range * {value} as value from range(10)")
    docs = {"mart_a": {"description": "A mart.", "columns": {"value": "The value."}}}
    return publication.publish(settings, pid, ["mart_a"], docs, {"checks": []})


def test_a_publication_holds_only_the_named_models_with_their_descriptions(settings):
    publish(settings, "20240101T000000Z-aaaa")
    served = settings.published
    assert (served / "kpo.duckdb").is_symlink() and (served / "parquet" / "mart_a.parquet").exists()
    manifest = json.loads((served / "manifest.json").read_text())
    assert manifest["publication_id"] == "20240101T000000Z-aaaa" and manifest["tables"] == {"mart_a": 10}
    with duckdb.connect(str(served / "kpo.duckdb"), read_only=True) as con:
        assert [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()] == ["mart_a"]
        assert con.execute("select comment from duckdb_tables()").fetchall() == [("A mart.",)]
        assert con.execute("select comment from duckdb_columns() where column_name = 'value'").fetchall() == [
            ("The value.",)]
        version = con.execute("select tags from duckdb_databases() where not internal and database_name = 'kpo'"
                              ).fetchall()
    assert "v1.4" in str(version)


def test_serving_switches_every_file_at_once_and_rollback_restores_bytes(settings):
    publish(settings, "20240101T000000Z-aaaa", value=2)
    before = tree_digest(settings.published)
    publish(settings, "20240102T000000Z-bbbb", value=3)
    assert tree_digest(settings.published) != before
    assert publication.rollback(settings) == "20240101T000000Z-aaaa"
    assert tree_digest(settings.published) == before
    assert publication.current_id(settings) == "20240101T000000Z-aaaa"


def test_only_the_last_publications_are_kept_and_never_the_served_one(settings):
    for day in range(1, 6):
        publish(settings, f"2024010{day}T000000Z-x")
    kept = [p.publication_id for p in publication.list_publications(settings)]
    assert kept == ["20240105T000000Z-x", "20240104T000000Z-x", "20240103T000000Z-x"]


def test_a_crash_before_the_rename_leaves_the_previous_publication_served(settings, monkeypatch):
    publish(settings, "20240101T000000Z-aaaa")
    before = tree_digest(settings.published)

    def crash(point: str) -> None:
        if point == "publish_before_rename":
            raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(publication.faults, "pause", crash)
    with pytest.raises(KeyboardInterrupt):
        publish(settings, "20240102T000000Z-bbbb", value=5)
    assert tree_digest(settings.published) == before
    assert any(p.name.endswith(".tmp") for p in settings.publications.iterdir())
    monkeypatch.undo()
    publish(settings, "20240103T000000Z-cccc", value=7)
    assert not any(p.name.endswith(".tmp") for p in settings.publications.iterdir())
    assert publication.current_id(settings) == "20240103T000000Z-cccc"


def test_a_rollback_holds_until_resumed_so_the_next_run_does_not_serve_again_what_was_rolled_back(settings):
    publish(settings, "20240101T000000Z-aaaa", value=2)
    rolled_back_to = tree_digest(settings.published)
    publish(settings, "20240102T000000Z-bbbb", value=3)  # the publication found wrong
    assert publication.rollback(settings) == "20240101T000000Z-aaaa"
    hold = publication.held(settings)
    assert (hold.publication_id, hold.replaced) == ("20240101T000000Z-aaaa", "20240102T000000Z-bbbb")
    for day in range(3, 7):  # nights go on: each writes its publication, none is served
        night = publish(settings, f"2024010{day}T000000Z-night", value=day)
        assert tree_digest(settings.published) == rolled_back_to and night.hold == hold
    kept = [p.publication_id for p in publication.list_publications(settings)]
    # the newest three (keep_publications) and the held one, served
    assert kept == ["20240106T000000Z-night", "20240105T000000Z-night", "20240104T000000Z-night",
                    "20240101T000000Z-aaaa"]
    assert publication.resume(settings) == "20240106T000000Z-night"
    assert publication.held(settings) is None
    with duckdb.connect(str(settings.published / "kpo.duckdb"), read_only=True) as con:
        assert con.execute("select sum(value) from mart_a").fetchall() == [(6 * 45,)]
    assert publish(settings, "20240107T000000Z-next", value=7).hold is None
    assert publication.current_id(settings) == "20240107T000000Z-next"


def test_publish_status_names_the_hold_and_resume_ends_it(settings):
    publish(settings, "20240101T000000Z-aaaa")
    publish(settings, "20240102T000000Z-bbbb")
    env = {"KPO_KEEP_PUBLICATIONS": "3"}
    rolled = kpo(settings.home, "publish", "rollback", env=env)
    assert rolled.returncode == 0 and "held" in rolled.stdout and "kpo publish resume" in rolled.stdout
    publish(settings, "20240103T000000Z-cccc")
    status = kpo(settings.home, "publish", "status", env=env)
    assert "serving is held at 20240101T000000Z-aaaa since " in status.stdout
    assert "2 newer publication(s) kept, not served" in status.stdout
    resumed = kpo(settings.home, "publish", "resume", env=env)
    assert resumed.returncode == 0 and "now serving publication 20240103T000000Z-cccc" in resumed.stdout
    assert "held" not in kpo(settings.home, "publish", "status", env=env).stdout
    missing = kpo(settings.home, "publish", "resume", "nope", env=env)
    assert missing.returncode == 1 and "no publication 'nope'" in missing.stderr


def test_rollback_to_an_unknown_publication_is_refused(settings):
    publish(settings, "20240101T000000Z-aaaa")
    with pytest.raises(ValueError, match="no publication 'nope'"):
        publication.rollback(settings, "nope")
    with pytest.raises(ValueError, match="no earlier publication"):
        publication.rollback(settings)


def test_a_reader_holding_the_old_file_keeps_its_view(settings):
    publish(settings, "20240101T000000Z-aaaa", value=2)
    with duckdb.connect(str(settings.published / "kpo.duckdb"), read_only=True) as reader:
        publish(settings, "20240102T000000Z-bbbb", value=3)
        assert reader.execute("select sum(value) from mart_a").fetchall() == [(90,)]
    with duckdb.connect(str(settings.published / "kpo.duckdb"), read_only=True) as fresh:
        assert fresh.execute("select sum(value) from mart_a").fetchall() == [(135,)]
    assert os.readlink(settings.published / "kpo.duckdb") == ".current/kpo.duckdb"


def test_once_a_run_publishes_its_validation_results_go_and_the_latest_unpublished_runs_stay(tmp_path):
    settings = Settings(home=tmp_path / "home", keep_unpublished_validations=2)
    # newest first; the newest run published, then was killed before its housekeeping
    runs = ["killed-after-publishing", *(f"failed-{n}" for n in range(4))]
    for age, run_id in enumerate([*reversed(runs), "published"]):
        project = settings.gx_project(run_id)
        (project / "gx" / "validations").mkdir(parents=True)
        os.utime(project, (1_700_000_000 + age * 86_400,) * 2)
    removed = gx_suites.prune_projects(settings, {"published", "killed-after-publishing", "published-long-ago"})
    assert sorted(removed) == ["failed-2", "failed-3", "killed-after-publishing", "published"]
    assert sorted(p.name for p in settings.gx_projects.iterdir()) == ["failed-0", "failed-1"]
    assert gx_suites.prune_projects(settings, {"never-validated"}) == []  # a run whose checks ran no suite


def test_publish_status_counts_warnings_apart_from_failures(settings):
    def check(passed: bool, severity: str) -> dict:
        return {"asset": "mart_a", "check": f"c{passed}{severity}", "passed": passed, "severity": severity,
                "description": None}

    # 2 passed (one of them a WARN-severity check), 2 WARN checks not passed, 1 ERROR check not passed
    checks = [check(True, "ERROR"), check(True, "WARN"), check(False, "WARN"), check(False, "WARN"),
              check(False, "ERROR")]
    publication.publish(settings, "20240101T000000Z-aaaa", ["mart_a"], {}, {"checks": checks})
    result = kpo(settings.root, "publish", "status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks: passed / warnings / failed" in result.stdout
    [row] = [line for line in result.stdout.splitlines() if "20240101T000000Z-aaaa" in line]
    assert "2/2/1" in row


def test_publish_status_fits_80_columns_with_every_id_whole(settings):
    for number, pid in enumerate(("20240101T000000Z-aaaa", "20240102T000000Z-bbbb"), start=1):
        publish(settings, pid, value=number)
    result = kpo(settings.root, "publish", "status", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    [served] = [line for line in lines if "│ * │" in line]
    assert "20240102T000000Z-bbbb" in served  # the id whole: `kpo publish rollback ID` takes it
    assert any("20240101T000000Z-aaaa" in line for line in lines)
    [mart] = [line for line in lines if line.startswith("│ mart_a ")]
    assert [cell.strip() for cell in mart.split("│")[1:-1]] == ["mart_a", "10", "10"]


def test_publish_status_names_the_runs_that_failed_since_the_newest_publication(settings):
    """A failed run publishes nothing, so the publications alone would hide it: the status says that the served
    publication is older than the last night, and why, from the alerts every failed run raises."""
    from pipelines.alerts import Alert, raise_alert

    def alert(run_id: str, raised_at: str, message: str) -> None:
        raise_alert(settings, Alert(run_id=run_id, job="kpo_nightly", load_date="2024-01-02", failed_steps=[],
                                    message=message, raised_at=raised_at))

    alert("before00-run", "2024-01-01T23:59:00+00:00", "an older failure, published over since")
    first = kpo(settings.root, "publish", "status")
    assert first.returncode == 0 and "nothing is published yet" in first.stdout
    assert "1 run(s) failed (none has published yet); the latest, at 2024-01-01 23:59 UTC" in first.stdout
    publish(settings, "20240102T010000Z-aaaa")
    quiet = kpo(settings.root, "publish", "status")
    assert quiet.returncode == 0 and "failed since" not in quiet.stdout
    alert("after001-run", "2024-01-02T02:00:00.5+00:00", "gx_vacancies: a bad extract")
    alert("after002-run", "2024-01-03T02:00:00+00:00", "landing: " + "x" * 400)
    status = kpo(settings.root, "publish", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert ("2 run(s) failed since the newest publication, so published nothing; the latest, at 2024-01-03 02:00 "
            "UTC (run after002, load date 2024-01-02): landing: xxx") in status.stdout
    assert "x" * 300 not in status.stdout and "…" in status.stdout  # a long message is cut
    assert str(settings.alerts_file) in status.stdout


def test_a_publication_names_metrics_without_rows_and_metrics_that_leave_it(settings):
    """A declared metric no model gives rows to, and a removed plugin's metrics, published without a word."""
    def build(metrics: list[tuple[str, str]], measured: list[str]) -> None:
        with duckdb.connect(str(settings.warehouse)) as con:
            con.execute("create or replace table dim_metrics (metric_id varchar, plugin varchar)")
            con.executemany("insert into dim_metrics values (?, ?)", metrics)
            con.execute("create or replace table mart_metric_monthly (metric_id varchar)")
            con.executemany("insert into mart_metric_monthly values (?)", [(m,) for m in measured])

    build([("falls_harm_pct", "falls_log"), ("falls_injury_pct", "falls_log"), ("ed_p95", "ed")],
          ["falls_harm_pct", "ed_p95", "ed_p95"])
    assert publication.metric_notes(settings) == [
        "metric falls_injury_pct (plugin falls_log) has no rows yet: it is published without data"]
    publication.publish(settings, "p1", ["dim_metrics", "mart_metric_monthly"], {}, {"checks": []})
    build([("ed_p95", "ed")], ["ed_p95"])  # plugins/falls_log/ removed
    assert publication.metric_notes(settings) == [
        "2 metric(s) of the last publication are no longer declared and leave this one (their plugin was removed, "
        "or dropped them): falls_harm_pct (plugin falls_log), falls_injury_pct (plugin falls_log)"]
