"""What `kpo run` / `kpo demo` show in the terminal: progress per stage, then a one-screen summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.alerts import unclaimed_text
from pipelines.publication import check_counts
from pipelines.runner import RunSummary, quarantine_reasons
from pipelines.settings import Settings


def stage_of(step_key: str) -> str:
    if step_key.startswith("landing"):
        return "ingest"
    if step_key.startswith("dbt_build"):
        return "dbt build + tests"
    if step_key.startswith("publication"):
        return "publish"
    return "checks"


@contextmanager
def stage_progress(console: Console) -> Iterator[Callable[[str, str], None]]:
    """A rich progress display fed by step events; yields the callback for the runner."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total} steps"), TimeElapsedColumn(),
                        console=console, transient=False)
    tasks: dict[str, int] = {}

    def on_step(step_key: str, event_type: str) -> None:
        stage = stage_of(step_key)
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=0)
        task = tasks[stage]
        if event_type == "STEP_START":
            progress.update(task, total=progress.tasks[task].total + 1)
        else:
            progress.advance(task)
            if event_type == "STEP_FAILURE":
                progress.update(task, description=f"[red]{stage} (failed)[/red]")

    with progress:
        yield on_step


def print_summary(console: Console, summary: RunSummary, settings: Settings) -> None:
    sources = Table(title=f"kpo run {summary.run_id[:8]} — load date {summary.load_date}")
    sources.add_column("source / table", no_wrap=True)
    for header in ("files", "dup.", "rejected", "rows landed", "quarantined", "waiting"):
        sources.add_column(header, justify="right", overflow="fold")  # a count too wide wraps; never "174…"
    for source in sorted(summary.sources.values(), key=lambda s: s.asset):
        sources.add_row(source.asset, str(source.files_landed), str(source.files_duplicate),
                        str(source.files_rejected), str(source.rows_landed), str(source.rows_quarantined),
                        str(len(source.waiting)))
    console.print(sources)
    for source in sorted(summary.sources.values(), key=lambda s: s.asset):
        if source.rows_quarantined and source.quarantine_files:
            reasons = "; ".join(f"{rows:,} × {kind}" for kind, rows in quarantine_reasons(source.quarantine_files))
            folders = sorted({str(Path(name).parent) for name in source.quarantine_files})
            console.print(f"[yellow]{source.asset}: {source.rows_quarantined:,} row(s) quarantined, commonest "
                          f"reasons: {reasons} (file, line and reason of each in {', '.join(folders)})[/yellow]",
                          soft_wrap=True, highlight=False)
    waiting = [f"{source.asset.split('/')[0]}/{name}" for source in summary.sources.values() for name in source.waiting]
    if waiting:
        console.print(f"[yellow]{len(waiting)} file(s) modified within the last {settings.inbox_min_age_seconds} s "
                      "(KPO_INBOX_MIN_AGE_SECONDS), or while they were read, may still be being written: left in "
                      f"the inbox for a later run (an upload written as .part and renamed when complete needs no "
                      f"wait): {', '.join(sorted(waiting))}[/yellow]", soft_wrap=True, highlight=False)
    for source in sorted(summary.sources.values(), key=lambda s: s.asset):
        for warning in source.warnings:  # named once: a declaration's drift names its table itself
            named = warning if warning.startswith(f"{source.asset}: ") else f"{source.asset}: {warning}"
            console.print(f"[yellow]{named}[/yellow]", soft_wrap=True, highlight=False)
    for note in summary.notes:
        console.print(f"[yellow]publication: {note}[/yellow]", soft_wrap=True, highlight=False)
    passed, warnings, blocking = check_counts(summary.checks)
    console.print(f"checks: {passed} passed, {warnings} warning(s) (do not block publication), {blocking} failed")
    for check in summary.checks_failed:
        colour = "yellow" if check["severity"] == "WARN" else "red"
        console.print(f"  [{colour}]{check['severity']} {check['asset']} {check['check']}: "
                      f"{check['description']}[/{colour}]", soft_wrap=True, highlight=False)  # one line, greppable
    for failure in summary.failures:
        step = failure.partition(": ")[0]
        if step in summary.stopped_by_checks and summary.checks_failed:  # each is said above, with its result
            failure = f"{step}: stopped by the failed check(s) above"
        console.print(f"  [red]{failure}[/red]")
    if summary.unclaimed:
        console.print(f"[yellow]{unclaimed_text(summary.unclaimed)} (an alert was raised)[/yellow]", soft_wrap=True,
                      highlight=False)
    if summary.success and summary.publication_id and summary.held:
        console.print(f"[yellow]published {summary.publication_id}, not served: {summary.held}[/yellow]",
                      soft_wrap=True, highlight=False)
        console.print(f"  kept in:   {settings.publications / summary.publication_id}")
    elif summary.success and summary.publication_id:
        console.print(f"[green]published {summary.publication_id}[/green]")
        console.print(f"  warehouse: {settings.published / 'kpo.duckdb'}")
        console.print(f"  parquet:   {settings.published / 'parquet'}")
        for name, label in (("report.html", "report"), ("docs/index.html", "catalogue")):
            if (settings.published / name).exists():
                console.print(f"  {label + ':':<10} {settings.published / name}")
    elif summary.success:  # a backfill of a date that archived nothing: nothing new to publish
        console.print(f"nothing new to publish: the publication in {settings.published} is unchanged")
    else:
        console.print(f"[red]run failed: nothing was published; the publication in {settings.published} is "
                      "unchanged[/red]")
        console.print(f"  alert:     {settings.alerts_file}")
    if summary.log_path:
        console.print(f"  run log:   {summary.log_path}")
