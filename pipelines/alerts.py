"""Run-failure alerts: a log line, a JSON line appended to published/alerts.jsonl, and — when
KPO_ALERT_WEBHOOK_URL is set — the same JSON POSTed to it (Teams/Slack-style incoming webhook).
Standard library only: an alert must not depend on anything that might itself be broken."""

from __future__ import annotations

import datetime as dt
import json
import logging
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


def already_raised(settings: Settings, run_id: str) -> bool:
    path = settings.alerts_file
    return path.exists() and any(json.loads(line).get("run_id") == run_id
                                 for line in path.read_text().splitlines() if line.strip())


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
