"""Named pause points for fault-injection tests: with KPO_FAULT_POINT=<point>, the process announces
it has reached the point (a marker file under <KPO_HOME>/faults/) and waits there to be killed.
Tests kill at an exact, known moment instead of relying on sleeps and luck."""

from __future__ import annotations

import os
import time

from pipelines.settings import load_settings

POINTS = ("ingest", "dbt_build", "checks", "publish_copy", "publish_before_rename")


def pause(point: str) -> None:
    settings = load_settings()
    if settings.fault_point != point:
        return
    marker = settings.root / "faults" / f"{point}.reached"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()))
    while True:  # until SIGKILL
        time.sleep(0.2)
