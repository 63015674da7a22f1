"""`make dev` (`kpo dev`): the Dagster UI serves kpo's schedule and sensors, and stops when asked, even when a
script started it in the background (which leaves SIGINT ignored in everything it starts)."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.helpers import BIN, REPO

QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name cronSchedule executionTimezone }
    sensors { name }
} } } }"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": QUERY}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def running(group: int) -> list[str]:
    return subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True).stdout.split()


def test_the_ui_serves_the_schedule_and_sensors_and_stops_on_sigterm_when_started_in_the_background(tmp_path: Path):
    port = free_port()
    environment = {**os.environ, "KPO_HOME": str(tmp_path / "home")}

    def as_a_background_job() -> None:  # what `kpo dev &` in a non-interactive shell does
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    with (tmp_path / "dev.log").open("w") as log:
        dev = subprocess.Popen([str(BIN / "kpo"), "dev", "--port", str(port)], cwd=REPO, env=environment,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=as_a_background_job)
    group = os.getpgid(dev.pid)
    try:
        deadline, answer = time.monotonic() + 180, None
        while answer is None and time.monotonic() < deadline and dev.poll() is None:
            try:
                answer = graphql(port)
            except OSError:
                time.sleep(1)
        assert answer is not None, (tmp_path / "dev.log").read_text()[-3000:]
        [repository] = answer["data"]["repositoriesOrError"]["nodes"]
        assert {"name": "kpo_nightly_0200", "cronSchedule": "0 2 * * *",
                "executionTimezone": "Europe/London"} in repository["schedules"]
        assert {"kpo_inbox", "kpo_run_failure_alert", "kpo_killed_runs"} <= {s["name"] for s in repository["sensors"]}
        # every process it started, whatever process group it put them in
        children = subprocess.run(["pgrep", "-P", str(dev.pid)], capture_output=True, text=True).stdout.split()
        groups = {group} | {os.getpgid(int(pid)) for pid in children}
        os.killpg(group, signal.SIGTERM)  # as a service manager stops it (and as Ctrl-C does, with SIGINT)
        assert dev.wait(timeout=60) == 0
        deadline = time.monotonic() + 30
        while any(running(g) for g in groups) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(running(g) for g in groups), (tmp_path / "dev.log").read_text()[-3000:]
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # the UI is gone
    finally:
        for g in locals().get("groups", {group}):
            if running(g):
                os.killpg(g, signal.SIGKILL)
