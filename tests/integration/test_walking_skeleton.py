"""Issue 2 end to end: the demo publishes recruitment lead time readable by a DuckDB 1.4 client; the
same extract twice changes nothing; a blocking check failure publishes nothing and says why."""

import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import REPO_ROOT
from plugins import registry
from tests.helpers import BIN, alerts, kpo, tree_digest

pytestmark = pytest.mark.xdist_group("demo")


def copy_home(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def test_demo_publishes_lead_time_readable_by_duckdb_1_4(demo_home, duckdb14_python):
    query = """
        select m.period_month < p.intervention_date as before, median(m.value) as median_days, count(*) as months
        from mart_metric_monthly m join dim_projects p on p.project_id = 'recruitment_lead_time'
        where m.metric_id = 'recruitment_lead_time_days' and m.series_key = 'trust'
        group by all order by before desc"""
    script = ("import duckdb, json, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
              f"print(json.dumps([duckdb.__version__, con.execute({query!r}).fetchall()]))")
    output = subprocess.run([str(duckdb14_python), "-c", script, str(demo_home / "published" / "kpo.duckdb")],
                            capture_output=True, text=True, check=True).stdout
    version, rows = json.loads(output)
    assert version == "1.4.4"
    (before, baseline, months_before), (after, sustained, months_after) = rows
    assert before and not after and months_before >= 12 and months_after >= 12
    # The project's own figures (docs/definitions.md, recruitment): 98 days at baseline, 42 sustained.
    assert abs(baseline - 98) <= 5 and abs(sustained - 42) <= 5


def test_published_warehouse_holds_marts_and_dimensions_only(demo_home):
    with duckdb.connect(str(demo_home / "published" / "kpo.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert "mart_metric_monthly" in tables
    assert all(t.startswith(("mart_", "dim_")) for t in tables), tables
    manifest = json.loads((demo_home / "published" / "manifest.json").read_text())
    assert set(manifest["tables"]) == tables and all(c["passed"] or c["severity"] == "WARN" for c in manifest["checks"])
    assert {"publication_id", "published_at", "code_version", "run_id"} <= set(manifest)


def test_definitions_validate_and_name_no_source(demo_home):
    result = subprocess.run([str(BIN / "dagster"), "definitions", "validate", "-m", "pipelines.definitions"],
                            capture_output=True, text=True, cwd=REPO_ROOT,
                            env={"KPO_HOME": str(demo_home), "PATH": str(BIN),
                                 "DAGSTER_HOME": str(demo_home / "dagster")})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    code = "\n".join(p.read_text() for p in (REPO_ROOT / "pipelines").rglob("*.py"))
    for plugin in registry.discover():
        names = {plugin.name, *(t.name for t in plugin.tables), *(m.metric_id for m in plugin.metrics)}
        assert not [n for n in names if n in code], plugin.name


def test_kpo_dbt_runs_dbt_commands_in_the_assembled_project(demo_home):
    # in the demo home itself: its project is parsed already (a copy's absolute paths would need a new parse),
    # and `dbt ls` writes nothing that a publication or a run reads (its target/ is dbt's own scratch)
    result = kpo(demo_home, "dbt", "--", "ls", "--resource-type", "seed", "--output", "name", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.stem for p in (REPO_ROOT / "dbt_project" / "seeds").glob("*.csv")} <= set(result.stdout.split())


def published_numbers(home: Path) -> dict[str, list]:
    with duckdb.connect(str(home / "published" / "kpo.duckdb"), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]
        return {t: sorted(map(repr, con.execute(f'select * from "{t}"').fetchall())) for t in tables}


def test_the_same_extracts_again_change_no_published_number(demo_home, tmp_path):
    """Every archived extract dropped again (same content: recognised, not loaded) and every CSV extract
    re-exported in another row order (new content: landed again, staging keeps one row per key)."""
    home = copy_home(demo_home, tmp_path / "home")
    before = published_numbers(home)
    reexported: set[str] = set()
    for archived in sorted((home / "archive").rglob("*.*")):
        plugin, name = archived.relative_to(home / "archive").parts[0], archived.name.split("__", 1)[1]
        shutil.copy(archived, home / "inbox" / plugin / name)
        if archived.suffix == ".csv" and plugin not in reexported:  # one re-export per source is the proof
            encoding = "utf-8-sig" if archived.read_bytes().startswith(b"\xef\xbb\xbf") else "utf-8"
            header, *rows = archived.read_text(encoding=encoding).splitlines()
            reexport = Path(name).stem + "_reexport" + Path(name).suffix
            (home / "inbox" / plugin / reexport).write_text("\n".join([header, *reversed(rows)]) + "\n",
                                                                       encoding=encoding)
            reexported.add(plugin)
    assert len(reexported) >= 3
    result = kpo(home, "run")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "published" in result.stdout
    assert published_numbers(home) == before
    assert not [p for p in (home / "inbox").rglob("*") if p.is_file()]
    # What a published run leaves behind is bounded: its validation results are in the publication, and its
    # Dagster databases are closed (checkpointed, no write-ahead log left beside them).
    assert not list((home / "gx").iterdir())
    assert (home / "published" / "quality" / "index.html").exists()
    assert not list((home / "dagster").rglob("*-wal"))
    # nor dbt's debug log file, unless KPO_DBT_FILE_LOG_LEVEL asks for it (dbt's events are in the run log)
    assert not (home / "dbt" / "target" / "dbt.log").exists()


def test_a_rollback_is_held_through_the_next_run_until_resumed(demo_home, tmp_path):
    """Served numbers found wrong are rolled back: the next night's run still builds, checks and keeps its
    publication, but the one rolled back to stays served, byte for byte, until `kpo publish resume`."""
    home = copy_home(demo_home, tmp_path / "home")
    [demo] = [p for p in (home / "publications").iterdir() if p.is_dir() and not p.name.startswith(".")]
    earlier = home / "publications" / "20200101T000000Z-earlier"  # kept from an earlier night
    shutil.copytree(demo, earlier)
    manifest = json.loads((earlier / "manifest.json").read_text())
    (earlier / "manifest.json").write_text(json.dumps({**manifest, "publication_id": earlier.name}))
    rolled = kpo(home, "publish", "rollback")
    assert rolled.returncode == 0 and f"now serving publication {earlier.name}, held" in rolled.stdout
    before = tree_digest(home / "published")
    result = kpo(home, "run")
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"not served: serving is held at {earlier.name} since " in result.stdout
    assert tree_digest(home / "published") == before
    [tonight] = [p.name for p in (home / "publications").iterdir() if p.is_dir() and p.name > demo.name]
    assert (home / "publications" / tonight / "manifest.json").exists()
    resumed = kpo(home, "publish", "resume")
    assert resumed.returncode == 0 and f"now serving publication {tonight}" in resumed.stdout
    assert json.loads((home / "published" / "manifest.json").read_text())["publication_id"] == tonight


def write_vacancies(path: Path, rows: list[dict]) -> None:
    headers = ["Vacancy Reference", "Job Title", "Staff Group", "Band", "CSU Code", "Site", "Status",
               "Date Authorised", "Advert Published", "Closing Date", "Shortlisting Complete", "Interview Date",
               "Conditional Offer", "Pre-Employment Checks Complete", "Unconditional Offer", "Start Date"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers)
        writer.writeheader()
        writer.writerows(rows)


def slow_vacancy(number: int, offer: dt.date, lead_days: int) -> dict:
    shortlisted = offer - dt.timedelta(days=lead_days)
    fmt = "%d/%m/%Y"
    return {"Vacancy Reference": f"{9000000 + number}", "Job Title": "Porter", "Staff Group": "Estates and Ancillary",
            "Band": "Band 2", "CSU Code": "EAF", "Site": "LGI", "Status": "Offer made",
            "Date Authorised": (shortlisted - dt.timedelta(days=40)).strftime(fmt),
            "Advert Published": (shortlisted - dt.timedelta(days=35)).strftime(fmt),
            "Closing Date": (shortlisted - dt.timedelta(days=5)).strftime(fmt),
            "Shortlisting Complete": shortlisted.strftime(fmt), "Interview Date": "", "Conditional Offer": "",
            "Pre-Employment Checks Complete": "", "Unconditional Offer": offer.strftime(fmt), "Start Date": ""}


def test_a_metric_out_of_range_blocks_publication_and_leaves_published_untouched(demo_home, tmp_path):
    home = copy_home(demo_home, tmp_path / "home")
    before = tree_digest(home / "published")
    # Five offers in a month with no other offers, 600 days after shortlisting: a monthly median of 600
    # days is outside the recruitment metric suite's 0-365 range (a broken stage date, not a slow process).
    rows = [slow_vacancy(i, dt.date(2024, 2, 10 + i), 600) for i in range(5)]
    write_vacancies(home / "inbox" / "hr_recruitment" / "trac_vacancies_bad.csv", rows)
    result = kpo(home, "run")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "gx_metric_rows_hr_recruitment" in result.stdout
    assert "expect_column_values_to_be_between(value)" in result.stdout
    assert "nothing was published" in result.stdout
    assert tree_digest(home / "published") == before
    [alert] = alerts(home)  # `kpo run` alerts as the daemon's failure sensor does
    assert "publication" in alert["failed_steps"] and "gx_metric_rows_hr_recruitment" in alert["message"]
    [project] = (home / "gx").iterdir()  # the failed run's validation results stay, for diagnosis
    assert list((project / "gx" / "uncommitted" / "validations" / "metric_rows_hr_recruitment").rglob("*.json"))


def test_a_load_failing_its_landing_suite_is_rejected_alone_and_nothing_published(demo_home, tmp_path):
    home = copy_home(demo_home, tmp_path / "home")
    before = tree_digest(home / "published")
    # 120 vacancies with eight-digit references, where Trac writes seven: a rule the suite judges over a whole extract
    # (`mostly`, 100 rows or more), which no row check of landing makes. (One vacancy twice with two versions is
    # refused by landing itself, before any suite: tests/unit/test_landing_rows.py.)
    rows = [{**slow_vacancy(i, dt.date(2023, 5, 2), 40), "Vacancy Reference": f"{90000000 + i}"} for i in range(120)]
    write_vacancies(home / "inbox" / "hr_recruitment" / "trac_vacancies_long_ids.csv", rows)
    # Two valid corrections of the landed extract, sharing vacancies with each other and with it: the suite's
    # "one row per vacancy" holds in each extract, and the latest landed version of a vacancy wins in dbt.
    [extract] = (home / "archive" / "hr_recruitment").rglob("*trac_vacancies*.csv")
    with extract.open(newline="", encoding="utf-8-sig") as handle:
        header, *vacancies = list(csv.reader(handle))
    shortlisted = [row for row in vacancies if row[header.index("Shortlisting Complete")]]  # as most in an extract
    waiting = [row for row in vacancies if not row[header.index("Shortlisting Complete")]]
    # fix_b: 3 of its 5 vacancies are not shortlisted yet, under the suite's "mostly 0.5 shortlisted" for a whole
    # extract; on 5 rows that proportion proves nothing, and the correction is not rejected for it
    for name, rows in (("trac_vacancies_fix_a.csv", shortlisted[:10]),
                       ("trac_vacancies_fix_b.csv", shortlisted[:2] + waiting[:3])):
        with (home / "inbox" / "hr_recruitment" / name).open("w", newline="") as handle:
            csv.writer(handle).writerows([header, *rows])
    (home / "inbox" / "hr_recruitment" / "trac_vacancies_notes.txt").write_text("not an extract")
    result = kpo(home, "run", "--date", "2026-01-05")  # a date of its own, for the backfill below
    assert result.returncode == 1
    assert "gx_vacancies" in result.stdout and "expect_column_values_to_match_regex(vacancy_id)" in result.stdout
    assert "1 file(s) in the inbox that no run will load" in result.stdout
    assert "hr_recruitment/trac_vacancies_notes.txt" in result.stdout
    # Dagster's own error lines (each step not executed, stack traces) are in the run log, not the terminal
    [log] = [line.split("run log:")[1].strip() for line in result.stdout.splitlines() if "run log:" in line]
    assert "dagster - ERROR" in Path(log).read_text() and "dagster - ERROR" not in result.stdout + result.stderr
    # and the summary the terminal showed (landing counts, the failed check), and dbt's lines without colour codes
    assert "kpo run " in Path(log).read_text() and "rows landed" in Path(log).read_text()
    assert "gx_vacancies" in Path(log).read_text() and "\x1b[32m" not in Path(log).read_text()
    assert tree_digest(home / "published") == before
    [alert] = alerts(home)
    assert "blocking check landing/hr_recruitment/vacancies gx_vacancies failed: " in alert["message"]
    assert "trac_vacancies_long_ids.csv: expect_column_values_to_match_regex(vacancy_id) failed" in alert["message"]
    assert "DagsterAssetCheckFailedError" not in alert["message"] + result.stdout + result.stderr
    assert "if the suite, not the extract, was wrong, put the suite right and land it again with `kpo backfill " \
           "--start " in alert["message"]
    assert "the rejected load is out of landing, so the next run (`kpo run` now, or tonight's) publishes everything " \
           "else without it" in alert["message"]
    rejected = list((home / "quarantine" / "hr_recruitment" / "vacancies" / "rejected-loads").rglob("*.parquet"))
    assert len(rejected) == 1
    reason = rejected[0].with_suffix(".reason.txt").read_text()
    assert "expect_column_values_to_match_regex(vacancy_id) failed: 120 unexpected rows, e.g. " \
           "trac_vacancies_long_ids.csv lines 2, 3" in reason
    landed = {p.name: json.loads(p.with_suffix(".load.json").read_text())
              for p in (home / "landing" / "hr_recruitment" / "vacancies").rglob("load_date=*/*.parquet")}
    assert rejected[0].name not in landed
    fixes = {record["source_file"]: record for record in landed.values() if "_fix_" in record["source_file"]}
    assert sorted(fixes) == ["trac_vacancies_fix_a.csv", "trac_vacancies_fix_b.csv"]
    assert all(record["audited"] for record in fixes.values())  # fix_b too, though 3 of its 5 wait shortlisting
    # the run's summary counts the rejected load as rejected, not landed: two files and 15 rows landed
    [line] = [line for line in result.stdout.splitlines() if line.startswith("│ hr_recruitment/vacancies ")]
    assert [cell.strip() for cell in line.split("│")[2:7]] == ["2", "0", "1", "15", "0"]

    # A backfill of the date re-lands the rejected extract with the others (the suite may have been put right).
    # Rejected again, its rejection stands: a warning, not a failure, or every backfill of the date would fail.
    backfill = kpo(home, "backfill", "--start", "2026-01-05", "--end", "2026-01-05")
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert "WARN landing/hr_recruitment/vacancies gx_vacancies: " in backfill.stdout
    assert "trac_vacancies_long_ids.csv: still rejected, as before: expect_column_values_to_match_regex(vacancy_id) " \
           "failed" in backfill.stdout
    assert "published " in backfill.stdout and tree_digest(home / "published") != before
    assert not (home / "landing" / ".relanded").exists()  # the backfill's full rebuild spent it
    assert len(alerts(home)) == 1  # no new alert
    quarantined = home / "quarantine" / "hr_recruitment" / "vacancies" / "rejected-loads"
    assert [p.name for p in quarantined.rglob("*.parquet")] == [rejected[0].name]
    first, again = reason.splitlines()[0], rejected[0].with_suffix(".reason.txt").read_text().splitlines()
    assert again[0] == first and again[1].startswith("rejected again by run ") and "vacancy_id" in again[1]
    day = home / "landing" / "hr_recruitment" / "vacancies" / "load_date=2026-01-05"
    relanded = {p.name for p in day.glob("*.parquet")}
    assert relanded == {name for name, record in landed.items() if "_fix_" in record["source_file"]}


def dagster_script(home: Path, script: str, *args: str) -> dict:
    """Run `script` (Dagster driven as the UI or daemon would, printing a JSON line last) on `home`."""
    result = subprocess.run([str(BIN / "python"), "-c", script, *args], capture_output=True, text=True,
                            cwd=REPO_ROOT, env={**os.environ, "KPO_HOME": str(home)})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


PUBLICATION_ALONE = """
import json
import os
import dagster as dg
from pipelines.definitions import build_definitions
from pipelines.runner import prepare_instance
from pipelines.settings import load_settings

settings = load_settings()
with prepare_instance(settings) as instance:
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("publication")],
                                    partition_key=settings.today().isoformat(), raise_on_error=False)
    failures = [event.step_failure_data.error.to_string() for event in result.all_events if event.is_step_failure]
print(json.dumps({"success": result.success, "failures": failures}))
"""


def test_the_publication_run_alone_refuses_what_no_check_of_its_run_judged(demo_home, tmp_path):
    """The UI's Materialize on the publication asset (or on part of the graph, or a retry resuming from a failed
    step) plans few or no checks: the gate holds it to every check defined, so nothing unjudged reaches BI."""
    home = copy_home(demo_home, tmp_path / "home")
    before = tree_digest(home / "published")
    outcome = dagster_script(home, PUBLICATION_ALONE)
    assert outcome["success"] is False
    [failure] = outcome["failures"]
    assert "publication refused: " in failure
    assert re.search(r"publication refused: (\d+) of \1 checks not evaluated in this run \(e\.g\. ", failure)
    assert "so run or backfill the whole kpo_nightly job (all its assets), not part of it" in failure
    assert tree_digest(home / "published") == before


# Dagster has no public API to plan an asset backfill without its daemon: this uses the daemon's own planner
# (dagster 1.13 internals, pinned in uv.lock), then runs the run it plans as the daemon's run launcher would.
UI_BACKFILL = """
import datetime as dt
import json
import logging
import sys
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
from dagster._core.execution.asset_backfill import AssetBackfillData, execute_asset_backfill_iteration_inner
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from pipelines.definitions import build_definitions
from pipelines.runner import prepare_instance, summarise
from pipelines.settings import load_settings

settings, day, now = load_settings(), sys.argv[1], dt.datetime.now(dt.UTC)
origin = InProcessCodeLocationOrigin(LoadableTargetOrigin(executable_path=sys.executable,
                                                          module_name="pipelines.definitions", attribute="defs"))
with prepare_instance(settings) as instance:
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process:
        graph = process.create_request_context().asset_graph
        everything = list(graph.materializable_asset_keys)
        backfill = AssetBackfillData.from_asset_partitions(
            asset_graph=graph, partition_names=[day], asset_selection=everything, dynamic_partitions_store=instance,
            all_partitions=False, backfill_start_timestamp=now.timestamp())
        view = AssetGraphView(temporal_context=TemporalContext(effective_dt=now, last_event_id=None),
                              instance=instance, asset_graph=graph)
        planned = execute_asset_backfill_iteration_inner("uibackfl", backfill, view, now.timestamp(),
                                                         logging.getLogger("kpo"), None).run_requests
    request = planned[0]
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, asset_selection=list(request.asset_selection),
                                    tags={**request.tags, "dagster/backfill": "uibackfl"}, raise_on_error=False)
    materialised = {"/".join(event.asset_key.path): {key: getattr(value, "value", value) for key, value in
                                                     event.materialization.metadata.items()}
                    for event in result.get_asset_materialization_events()}
    published = summarise(instance, result.run_id, day).publication_id
print(json.dumps({"runs": len(planned), "assets": sorted(key.to_user_string() for key in request.asset_selection),
                  "everything": sorted(key.to_user_string() for key in everything),
                  "checks": len(request.asset_check_keys or []), "success": result.success,
                  "materialised": materialised, "published": published}, default=str))
"""


def test_a_ui_backfill_runs_each_date_whole_and_a_date_with_nothing_archived_publishes_nothing(demo_home, tmp_path):
    """The UI backfills an asset job's partitions as a Dagster asset backfill, which plans its own runs. Each date
    must be one run of every asset and check (publication refuses a run that did not judge them all: unpartitioned,
    the build and publication were planned into runs of their own, and every UI backfill failed). A date with no
    archived extract has nothing to re-land: every step runs, so each asset has its status, and no new publication
    pushes a rollback target out of those kept (that its build is not rebuilt in full is a unit test)."""
    home = copy_home(demo_home, tmp_path / "home")
    assert not list((home / "archive").glob("*/load_date=2021-01-04"))
    before = tree_digest(home / "published")
    outcome = dagster_script(home, UI_BACKFILL, "2021-01-04")
    assert outcome["runs"] == 1 and outcome["assets"] == outcome["everything"] and outcome["checks"] > 100
    assert outcome["success"] is True
    landings = {key: value for key, value in outcome["materialised"].items() if key.startswith("landing/")}
    assert {key.split("/", 1)[1] for key in landings} == {f"{p.name}/{t.name}" for p in registry.discover()
                                                           for t in p.tables}
    assert all(value["files_landed"] == 0 for value in landings.values())
    publication = outcome["materialised"]["publication"]
    served = json.loads((home / "published" / "manifest.json").read_text())["publication_id"]
    assert publication["republished"] is False and publication["served"] is False
    assert publication["serving"] == served
    assert "load date 2021-01-04: nothing was archived that day" in publication["reason"]
    assert outcome["published"] is None  # what `kpo run`'s summary and alerts read
    assert tree_digest(home / "published") == before
