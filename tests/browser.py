"""Headless Chromium for the report tests: Debian's `chromium` package driven by Playwright's Python API.

Playwright never downloads a browser here (no `playwright install`): it launches /usr/bin/chromium,
which `ensure_chromium` installs with apt when it is missing and we are root (as in CI). Every request
that is not a local file is aborted and recorded, so a page that renders has proved it needs no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def ensure_chromium() -> Path:
    """Debian's chromium, installed with apt-get when missing (root only); otherwise skip with the reason."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get): "
                    "run `apt-get install -y chromium` as root")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    assert CHROMIUM.exists(), "apt-get installed chromium but /usr/bin/chromium is missing"
    return CHROMIUM


@dataclass
class Rendered:
    """What the page did: its errors, the requests it tried, and each chart as drawn."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    charts_rendered: int = 0
    render_seconds: float = 0.0
    inspected: Any = None


# Per chart as drawn: its size, the value markers plotly drew (the trace with uid "values"), its annotations
# and the text of the panel beside it.
CHARTS_JS = """() => Array.from(document.querySelectorAll('.spc-chart')).map(div => {
  const svg = div.querySelector('.main-svg'), box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {id: div.id, metric: div.dataset.metric, series: div.dataset.series,
          plotted: div.classList.contains('js-plotly-plot'), width: box.width, height: box.height,
          points: div.querySelectorAll('.scatterlayer .tracevalues .point').length,
          annotations: Array.from(div.querySelectorAll('.annotation-text')).map(node => node.textContent),
          panel: div.closest('.series').querySelector('.panel').innerText.replace(/\\s+/g, ' ').trim()};
})"""


def render_report(html: Path, screenshot: Path, inspect: Callable[[Any], Any] | None = None,
                  timeout_ms: int = 300_000) -> Rendered:
    """Open `html` offline, wait for every chart, screenshot the page, open every group and measure each
    chart; `inspect(page)` then runs on the page and its result is kept."""
    from playwright.sync_api import sync_playwright

    rendered = Rendered()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(ensure_chromium()), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: rendered.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: rendered.page_errors.append(str(error)))

            def offline(route) -> None:
                if route.request.url.startswith(LOCAL_SCHEMES):
                    route.continue_()
                else:
                    rendered.blocked_requests.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            started = time.monotonic()
            page.goto(html.resolve().as_uri(), wait_until="load", timeout=timeout_ms)
            page.wait_for_function("document.documentElement.dataset.chartsRendered !== undefined",
                                   timeout=timeout_ms)
            rendered.render_seconds = time.monotonic() - started
            rendered.charts_rendered = int(page.evaluate("document.documentElement.dataset.chartsRendered"))
            page.screenshot(path=str(screenshot), full_page=True)
            page.click("#expand-all")
            page.wait_for_function("""() => Array.from(document.querySelectorAll('.spc-chart')).every(div => {
                const svg = div.querySelector('.main-svg');
                return svg && Math.abs(svg.getBoundingClientRect().width - div.clientWidth) < 2; })""",
                                   timeout=timeout_ms)
            rendered.charts = page.evaluate(CHARTS_JS)
            rendered.inspected = inspect(page) if inspect else None
        finally:
            browser.close()
    return rendered
