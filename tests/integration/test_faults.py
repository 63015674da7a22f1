"""Issue 5: a run killed with SIGKILL at each of five points leaves the previous publication served
byte for byte and readable, and the next run completes without manual clean-up; one run at a time;
a BI reader holding the published file keeps a consistent view across a run; rollback restores the
previous publication byte for byte."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.faults import POINTS
from pipelines.runner import KILLED
from tests.helpers import BIN, REPO, alerts, kpo, tree_digest

pytestmark = pytest.mark.xdist_group("faults")

READER = """
import duckdb, json, sys, time, pathlib
con = duckdb.connect(sys.argv[1], read_only=True)
tables = [r[0] for r in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]
def snapshot():
    query = 'select count(*), sum(hash(t)) from "{}" as t'
    return {t: con.execute(query.format(t)).fetchall()[0] for t in tables}
before = snapshot()
pathlib.Path(sys.argv[2]).write_text("ready")
while not pathlib.Path(sys.argv[3]).exists():
    time.sleep(0.2)
print(json.dumps({"before": before, "after": snapshot()}))
"""


def start_run(home: Path, fault: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "KPO_HOME": str(home), **({"KPO_FAULT_POINT": fault} if fault else {})}
    return subprocess.Popen([str(BIN / "kpo"), "run"], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the run ended before reaching {path.name}:\n{process.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} not reached in {timeout} s")
        time.sleep(0.2)


def ended(pid: int, timeout: float = 30) -> bool:
    """Whether process `pid` has ended (gone, or a zombie nobody has reaped yet) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.2)
    return False


def finished_line(log: Path) -> str:
    return next(line for line in log.read_text().splitlines() if line.startswith("Finished running"))


def every_mart_reads(home: Path) -> None:
    with duckdb.connect(str(home / "published" / "kpo.duckdb"), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
        assert "mart_metric_monthly" in tables
        for table in tables:
            con.execute(f'select * from "{table}"').fetchall()


def test_killed_runs_never_reach_bi_users_and_the_next_run_recovers(tmp_path):
    home = tmp_path / "home"
    result = kpo(home, "demo", "--scale", "0.1")
    assert result.returncode == 0, result.stdout[-3000:]
    [demo_log] = (home / "logs").glob("run-*.log")
    first = tree_digest(home / "published")
    assert kpo(home, "generate", "--seed", "7", "--scale", "0.1").returncode == 0  # new extracts to load
    for point in POINTS:
        marker = home / "faults" / f"{point}.reached"
        marker.unlink(missing_ok=True)
        run = start_run(home, fault=point)
        wait_for(marker, run)
        if point == "ingest":  # while one run holds the lock, a second refuses at once, before importing Dagster
            started = time.monotonic()
            second = kpo(home, "run", timeout=120)
            assert second.returncode == 3 and "another kpo run is in progress" in second.stderr
            assert time.monotonic() - started < 10
        if point == "dbt_build":  # the run's own process alone (the OOM killer's way): dbt must not outlive it
            dbt = int(marker.read_text())  # the pause is in a dbt Python model: dbt's process wrote the marker
            os.kill(run.pid, signal.SIGKILL)
            run.wait()
            assert ended(dbt), "the killed run's dbt build went on, orphaned"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        assert tree_digest(home / "published") == first, f"published/ changed after a kill at {point}"
        every_mart_reads(home)

    ready, go = tmp_path / "reader.ready", tmp_path / "reader.go"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(home / "published" / "kpo.duckdb"), str(ready),
                               str(go)], stdout=subprocess.PIPE, text=True)
    wait_for(ready, reader, timeout=60)
    final = kpo(home, "run")
    go.write_text("go")
    views = reader.communicate(timeout=60)[0]
    assert final.returncode == 0, final.stdout[-3000:]
    assert '"before"' in views
    snapshot = json.loads(views)
    assert snapshot["before"] == snapshot["after"]  # the reader kept the complete previous publication
    # dbt unit tests ran with the first (full) build and are not repeated while the code is unchanged
    final_log = max((home / "logs").glob("run-*.log"), key=lambda log: log.stat().st_mtime)
    assert "unit tests" in finished_line(demo_log) and "unit tests" not in finished_line(final_log)
    second = tree_digest(home / "published")
    assert second != first
    every_mart_reads(home)
    assert not list((home / "publications").glob(".*.tmp"))
    # each killed run was marked failed, and alerted once, by the run after it; the runs that published were not
    assert [alert["message"] for alert in alerts(home)] == [KILLED] * len(POINTS)

    rollback = kpo(home, "publish", "rollback")
    assert rollback.returncode == 0, rollback.stdout
    assert tree_digest(home / "published") == first
    status = kpo(home, "publish", "status")
    served = [line for line in status.stdout.splitlines() if "│ *" in line]
    first_id = json.loads((home / "published" / "manifest.json").read_text())["publication_id"]
    assert len(served) == 1 and first_id in served[0]
