"""Run-failure alerts: a log line, a JSON line appended to published/alerts.jsonl, and — when
KPO_ALERT_WEBHOOK_URL is set — the same JSON POSTed to it (Teams/Slack-style incoming webhook).
Standard library only: an alert must not depend on anything that might itself be broken."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from pipelines.settings import Settings

log = logging.getLogger("kpo.alerts")


@dataclass(frozen=True)
class Alert:
    run_id: str
    job: str
    load_date: str | None
    failed_steps: list[str]
    message: str
    raised_at: str = ""

    def as_json(self) -> dict:
        return asdict(self)


def read_alerts(settings: Settings) -> list[Alert]:
    """Every alert raised, oldest first."""
    path = settings.alerts_file
    lines = path.read_text().splitlines() if path.exists() else []
    return [Alert(**json.loads(line)) for line in lines if line.strip()]


def already_raised(settings: Settings, run_id: str) -> bool:
    return any(alert.run_id == run_id for alert in read_alerts(settings))


def raise_alert(settings: Settings, alert: Alert, timeout: float = 10) -> str | None:
    """Write the alert everywhere it is configured to go, once per run (`kpo run` and the daemon's sensors may
    both see a failure); return the webhook error, if any."""
    if already_raised(settings, alert.run_id):
        log.info("kpo run %s: its failure was already alerted", alert.run_id)
        return None
    alert = Alert(**{**alert.as_json(), "raised_at": alert.raised_at or dt.datetime.now(dt.UTC).isoformat()})
    payload = json.dumps(alert.as_json())
    log.error("kpo run %s failed: %s", alert.run_id, alert.message)
    settings.alerts_file.parent.mkdir(parents=True, exist_ok=True)
    with settings.alerts_file.open("a") as handle:
        handle.write(payload + "\n")
    if not settings.alert_webhook_url:
        return None
    request = urllib.request.Request(settings.alert_webhook_url, data=payload.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, TimeoutError) as exc:
        log.error("alert webhook %s failed: %s", settings.alert_webhook_url, exc)
        return str(exc)
    return None


def start_failure_reason(exc: BaseException) -> str:
    """One line saying why the job could not even be built: a plugin's declaration, its suites, or dbt's parse
    of its models. dbt's output is cut to the error it reports, with a plugin model's path as the analyst knows it
    (plugins/<name>/models/..., not the assembled project's plugin_models/<name>/...)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [re.sub(r"^\d\d:\d\d:\d\d\s+", "", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if "Encountered an error:" in lines:  # dbt: the error's kind, then what it says
        lines = lines[lines.index("Encountered an error:") + 1:][:3]
    return plugin_model_paths(" ".join(lines[:3]) or type(exc).__name__)


def plugin_model_paths(text: str) -> str:
    """dbt names a plugin's model by its path in the assembled project; the analyst knows it under plugins/."""
    return re.sub(r"\bplugin_models/(\w+)/", r"plugins/\1/models/", text)


def unclaimed_text(unclaimed: list[str]) -> str:
    return (f"{len(unclaimed)} file(s) in the inbox that no run will load (no plugin's folder, or a name no "
            f"table's pattern matches; `kpo plugin list` shows the patterns): {', '.join(unclaimed)}")


def raise_unclaimed(settings: Settings, job: str, unclaimed: list[str], load_date: str | None = None) -> None:
    """Alert that the inbox holds files no run will ever load (a new export's name, a compressed or renamed file):
    a summary line alone reaches no one, and the data they hold would never be published. Once a day for the same
    files, as a start failure is: they stay until someone moves them, and each run finds them again."""
    day = dt.datetime.now(dt.UTC).date().isoformat()
    key = f"unclaimed-{day}-" + hashlib.sha256("\n".join(unclaimed).encode()).hexdigest()[:12]
    try:
        raise_alert(settings, Alert(run_id=key, job=job, load_date=load_date, failed_steps=[],
                                    message=unclaimed_text(unclaimed)))
    except OSError as alert_error:
        log.error("could not write the alert of files no run will load (%s): %s", alert_error,
                  unclaimed_text(unclaimed))


def raise_start_failure(settings: Settings, job: str, exc: BaseException, load_date: str | None = None) -> str:
    """Alert that the nightly job could not start (nothing ran, nothing was published) and return the reason.
    The same reason alerts once a day: the Dagster code server meets it each time it loads the definitions, and a
    break that comes back after a fix must be told again. An alert that cannot be sent never hides the reason."""
    reason = start_failure_reason(exc)
    day = dt.datetime.now(dt.UTC).date().isoformat()
    key = f"start-{day}-" + hashlib.sha256(reason.encode()).hexdigest()[:12]
    try:
        raise_alert(settings, Alert(run_id=key, job=job, load_date=load_date, failed_steps=[],
                                    message=f"the nightly job could not start: {reason}"))
    except OSError as alert_error:
        log.error("could not write the alert that the nightly job could not start (%s): %s", alert_error, reason)
    return reason
