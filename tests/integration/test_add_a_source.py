"""Issue 6 end to end: in a clean copy of the repository, `kpo plugin new falls_log` then the demo
publishes falls_log's metrics with SPC while `git status` shows changes only under plugins/falls_log/;
and a plugin installed as its own package is discovered, checked and published the same way."""

import os
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
    return {"repo": repo, "home": home, "after_new": after_new, "check": check, "listing": listing,
            "after_demo": git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()}


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
