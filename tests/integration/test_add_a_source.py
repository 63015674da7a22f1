"""Issue 6 end to end: in a clean copy of the repository, `kpo plugin new falls_log` then the demo
publishes falls_log's metrics with SPC while `git status` shows changes only under plugins/falls_log/;
and a plugin installed as its own package is discovered, checked and published the same way. Then a
third plugin is added before its first extract arrives: the next nightly run still publishes."""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.contract.conftest import install_fixture_package
from tests.helpers import REPO

pytestmark = pytest.mark.xdist_group("plugins")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def clean_copy(target: Path) -> Path:
    """What a clean clone holds: every tracked (or new, not ignored) file, committed in a fresh repository."""
    files = git(REPO, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "clean copy")
    return target


def kpo_in(repo: Path, home: Path, *args: str, extra_path: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "KPO_HOME": str(home), "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join(p for p in (str(repo), extra_path) if p)}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=1200)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict:
    repo = clean_copy(tmp_path_factory.mktemp("repo"))
    home = tmp_path_factory.mktemp("home")
    site = install_fixture_package(tmp_path_factory.mktemp("site"))
    new = kpo_in(repo, home, "plugin", "new", "falls_log", "--title", "Inpatient falls")
    assert new.returncode == 0, new.stdout + new.stderr
    after_new = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    check = kpo_in(repo, home, "plugin", "check", "falls_log")
    listing = kpo_in(repo, home, "plugin", "list", extra_path=str(site))
    demo = kpo_in(repo, home, "demo", "--scale", "0.1", extra_path=str(site))
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
    after_demo = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    demo_publication = publication_id(home)
    # deployed before its source sends anything: the nightly run lands nothing for it
    late = kpo_in(repo, home, "plugin", "new", "pressure_ulcers", "--title", "Pressure ulcers")
    assert late.returncode == 0, late.stdout + late.stderr
    return {"repo": repo, "home": home, "after_new": after_new, "check": check, "listing": listing,
            "after_demo": after_demo, "demo_publication": demo_publication,
            "late_run": kpo_in(repo, home, "run", extra_path=str(site))}


def publication_id(home: Path) -> str:
    return json.loads((home / "published" / "manifest.json").read_text())["publication_id"]


def rows(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "published" / "kpo.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_scaffold_changes_nothing_outside_its_folder(published):
    changed = [line[3:] for line in published["after_new"] + published["after_demo"]]
    assert changed and all(path.startswith("plugins/falls_log/") for path in changed), changed


def test_the_scaffold_passes_its_checks_as_generated(published):
    assert published["check"].returncode == 0, published["check"].stdout


@pytest.mark.parametrize("metric_id", ["falls_log_events", "outpatient_dna_rate_pct"])
def test_scaffolded_and_installed_metrics_are_published_with_spc(published, metric_id):
    monthly = rows(published["home"], f"select count(*) from mart_metric_monthly where metric_id = '{metric_id}'")
    spc = rows(published["home"], f"select count(*), count(distinct point_type) from mart_metric_spc "
                                  f"where metric_id = '{metric_id}' and series_key = 'trust'")
    assert monthly[0][0] > 12 and spc[0][0] > 12


def test_the_installed_plugin_is_listed_as_a_package(published):
    listing = published["listing"].stdout
    assert "outpatient_dna" in listing and "package kpo-outpatient-dna" in listing and "built-in" in listing


def test_the_installed_plugin_passes_the_same_gate(published):
    manifest = (published["home"] / "published" / "manifest.json").read_text()
    assert "landing/outpatient_dna/appointments" in manifest and "gx_metric_rows_outpatient_dna" in manifest


def test_a_source_added_before_its_first_extract_warns_and_every_other_source_is_published(published):
    """Its project's metric has no measurements yet: a warning naming the check, not a failure that would stop
    the trust's publication until the first extract arrives."""
    run = published["late_run"]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "WARN dim_projects assert_every_project_metric_has_data" in run.stdout
    assert publication_id(published["home"]) != published["demo_publication"]
    assert rows(published["home"], "select metric_id, series_key from dim_projects "
                                   "where project_id = 'pressure_ulcers_improvement'") == [("pressure_ulcers_events",
                                                                                            "trust")]
    assert rows(published["home"], "select count(*) from mart_metric_monthly "
                                   "where metric_id like 'pressure_ulcers_%'") == [(0,)]


def test_reference_rows_naming_what_no_plugin_declares_are_named(published):
    """The warning is for a metric measured nowhere yet. A measured metric without the project's series is a
    misconfigured project (a wrong series key), and a project on a metric no plugin declares (its plugin
    retired) is an error; an override or an approved rebase of such a metric would change nothing, silently,
    and is a warning. (Rows written into the built tables stand for rows in the seeds and plugin declarations.)"""
    build = published["home"] / "warehouse" / "build.duckdb"
    falls = "from dim_projects where project_id = 'falls_log_improvement'"
    stale = [f"insert into dim_projects by name select * replace ('misconfigured' as project_id, "
             f"'csu:NONE' as series_key) {falls}",
             f"insert into dim_projects by name select * replace ('retired' as project_id, "
             f"'course_retired_pct' as metric_id) {falls}",
             "insert into metric_settings (metric_id, target) values ('falls_log_event', 3)",  # a typo
             "insert into spc_rebase_events by name select 'course_retired_pct' as metric_id, 'trust' as series_key, "
             "date '2024-01-01' as rebase_date, 'new process' as reason, 'KPO' as approved_by",
             # a measured metric, but no series of it is called so (the key's value is case-sensitive)
             "insert into spc_rebase_events by name select 'course_participants' as metric_id, "
             "'course:foundation day' as series_key, date '2023-01-01' as rebase_date, 'new process' as reason, "
             "'KPO' as approved_by",
             # no approver: not an approved rebase, so not applied
             "insert into spc_rebase_events by name select 'course_participants' as metric_id, 'trust' as series_key, "
             "date '2023-01-01' as rebase_date, 'new process' as reason, null as approved_by"]
    with duckdb.connect(str(build)) as con:
        for statement in stale:
            con.execute(statement)
    try:
        tests = kpo_in(published["repo"], published["home"], "dbt", "--", "test", "--select",
                       "assert_every_project_series_is_measured", "assert_every_project_metric_has_data",
                       "every_project_metric_is_declared_by_a_plugin", "every_metric_setting_names_a_declared_metric",
                       "every_rebase_names_a_declared_metric", "every_rebase_names_a_measured_series",
                       "every_rebase_row_is_complete")
    finally:
        with duckdb.connect(str(build)) as con:
            con.execute("delete from dim_projects where project_id in ('misconfigured', 'retired')")
            con.execute("delete from metric_settings where metric_id = 'falls_log_event'")
            con.execute("delete from spc_rebase_events where metric_id = 'course_retired_pct' "
                        "or series_key = 'course:foundation day' or approved_by is null")
    assert tests.returncode != 0
    assert "FAIL 1 assert_every_project_series_is_measured" in tests.stdout
    assert "FAIL 1 every_project_metric_is_declared_by_a_plugin" in tests.stdout
    # pressure_ulcers, still without data, and the retired metric's project
    assert "WARN 2 assert_every_project_metric_has_data" in tests.stdout
    assert "WARN 1 every_metric_setting_names_a_declared_metric" in tests.stdout
    assert "WARN 1 every_rebase_names_a_declared_metric" in tests.stdout
    assert "WARN 1 every_rebase_names_a_measured_series" in tests.stdout
    assert "WARN 1 every_rebase_row_is_complete" in tests.stdout


def test_a_project_row_in_the_kpo_seed_replaces_the_plugins_declaration(published):
    """The KPO edits projects.csv: a row with a plugin project's id replaces the plugin's declaration, so a project's
    target (which holds for its series before the metric's) can move without touching plugin code."""
    repo, home = published["repo"], published["home"]
    seed, build = repo / "dbt_project" / "seeds" / "projects.csv", home / "warehouse" / "build.duckdb"
    original = seed.read_text()
    with duckdb.connect(str(build), read_only=True) as con:
        cursor = con.execute("select * exclude (declared_by) from dim_projects "
                             "where project_id = 'falls_log_improvement'")
        declared = dict(zip([c[0] for c in cursor.description], cursor.fetchall()[0], strict=True))
    assert declared["target"] != 7
    row = io.StringIO()
    csv.writer(row, lineterminator="\n").writerow([7 if c == "target" else "" if declared[c] is None else declared[c]
                                                   for c in original.splitlines()[0].split(",")])
    build_models = ("dbt", "--", "build", "--select", "projects", "dim_projects", "int_series_targets")
    try:
        seed.write_text(original + row.getvalue())
        result = kpo_in(repo, home, *build_models)
        assert result.returncode == 0, result.stdout[-3000:]
        with duckdb.connect(str(build), read_only=True) as con:
            assert con.execute("select target, declared_by from dim_projects where project_id = "
                               "'falls_log_improvement'").fetchall() == [(7.0, "reference seed, in place of plugin "
                                                                                "falls_log")]
            assert con.execute("select target from int_series_targets where metric_id = ? and series_key = ?",
                               [declared["metric_id"], declared["series_key"]]).fetchall() == [(7.0,)]
    finally:
        seed.write_text(original)
        assert kpo_in(repo, home, *build_models).returncode == 0


def test_the_scaffolds_own_tests_run_with_the_suite_and_pass_as_generated(published):
    """`make test` collects plugins/NAME/tests/ (testpaths): a plugin's own tests cannot go stale unseen."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-k", "test_falls_log"],
                            cwd=published["repo"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    ran = re.findall(r"^plugins/falls_log/tests/test_falls_log\.py::(\w+) PASSED", result.stdout, re.MULTILINE)
    assert len(ran) >= 2, result.stdout[-3000:]
