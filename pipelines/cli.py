"""`kpo` — the command line. Thin: every command calls the module that does the work."""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import os
import signal
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipelines.settings import REPO_ROOT, Settings, SettingsError, load_settings, output_width
from plugins.validation import declaration_problems

if TYPE_CHECKING:
    from pipelines.plugin_check import Mismatch
    from plugins.contract import Plugin
    from plugins.contract import Table as PluginTable

app = typer.Typer(help="kpo: the KPO metrics warehouse.", no_args_is_help=True, add_completion=False)
publish_app = typer.Typer(help="Inspect and roll back publications.", no_args_is_help=True)
plugin_app = typer.Typer(help="Data-source plugins.", no_args_is_help=True)
app.add_typer(publish_app, name="publish")
app.add_typer(plugin_app, name="plugin")
LOG_WIDTH = 160
OUTPUT_WIDTH = output_width(sys.stdout.isatty(), LOG_WIDTH)
console = Console(width=OUTPUT_WIDTH)
errors = Console(stderr=True)  # refusals and failures go to stderr, as cron and shell scripts expect

DateOption = Annotated[dt.datetime | None, typer.Option("--date", formats=["%Y-%m-%d"],
                                                        help="Load date (default: today, Europe/London).")]


# `kpo run` published, but the inbox holds files no run will ever load: a scheduler must tell it from a clean night.
UNCLAIMED_FILES = 4


def _fail(command: str, message: str, code: int = 2) -> NoReturn:
    """One red line and a non-zero exit for what the user can put right (never a traceback)."""
    errors.print(f"[red]kpo {command}: {escape(message)}[/red]", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def _load_date(command: str, date: dt.datetime | None) -> dt.date | None:
    """A load date the nightly job has a partition for, checked before any work starts: Dagster would
    refuse any other only once the run is under way, with a traceback."""
    if date is None:
        return None
    from pipelines.ingest import LOAD_DATES

    if not LOAD_DATES.has_partition_key(date.date().isoformat()):
        _fail(command, f"no load date {date.date()}: load dates run from {LOAD_DATES.get_first_partition_key()} "
                       f"to {LOAD_DATES.get_last_partition_key()} (today, Europe/London)")
    return date.date()


def _run(settings: Settings, load_date: dt.date | None, full_refresh: bool, reprocess: bool = False,
         command: str = "run") -> int:
    from pipelines.locking import AlreadyRunning, run_lock

    # the real stdout: the runner redirects sys.stdout while the job runs
    terminal = Console(file=sys.stdout, width=OUTPUT_WIDTH)
    try:
        # the lock first: a second run is refused before Dagster and the plugins are imported (seconds)
        with run_lock(settings):
            from pipelines.runner import CannotStart, run_nightly
            from pipelines.terminal import print_summary, stage_progress

            try:
                with stage_progress(terminal) as on_step:
                    summary = run_nightly(settings, load_date, full_refresh=full_refresh, on_step=on_step,
                                          reprocess=reprocess, locked=True)
            except CannotStart as exc:
                _fail(command, str(exc), code=1)
    except AlreadyRunning as exc:
        _fail(command, str(exc), code=3)
    print_summary(terminal, summary, settings)
    if summary.log_path:  # the run log keeps the summary too (the landing counts, every warning and failure)
        with open(summary.log_path, "a") as log:
            print_summary(Console(file=log, width=LOG_WIDTH), summary, settings)
    if not summary.success:
        return 1
    return UNCLAIMED_FILES if summary.unclaimed else 0


@app.command()
def run(date: DateOption = None,
        full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models from all history.")] = False):
    """Load what is in the inbox, build, check and publish (the nightly job)."""
    load_date = _load_date("run", date)
    raise typer.Exit(_run(load_settings(), load_date, full_refresh))


@app.command()
def demo(seed: Annotated[int, typer.Option(help="Seed of the synthetic extracts.")] = 42,
         scale: Annotated[float, typer.Option(help="Volume multiplier of the synthetic extracts.")] = 1.0,
         date: DateOption = None):
    """Write realistic synthetic extracts into the inbox, then run the nightly job on them."""
    load_date = _load_date("demo", date)
    settings = load_settings()
    written = _generate(settings, seed, scale)
    console.print(f"wrote {len(written)} synthetic extract(s) into {settings.inbox}")
    # the demo wrote its extracts whole a moment ago: none is still being written, so none need rest
    raise typer.Exit(_run(settings.model_copy(update={"inbox_min_age_seconds": 0}), load_date, full_refresh=False))


@app.command()
def backfill(start: Annotated[dt.datetime, typer.Option("--start", formats=["%Y-%m-%d"], help="First load date.")],
             end: Annotated[dt.datetime, typer.Option("--end", formats=["%Y-%m-%d"], help="Last load date.")]):
    """Re-land the archived extracts of each load date in a range, rebuilding and publishing after each
    (also available as a partition backfill in the Dagster UI)."""
    from pipelines.landing import archived_on

    if end < start:
        _fail("backfill", f"--end {end.date()} is before --start {start.date()}: give the earlier load date as "
                          "--start")
    first, last = _load_date("backfill", start), _load_date("backfill", end)
    settings, day, failures = load_settings(), first, 0
    while day <= last:
        if archived_on(settings, day):
            console.print(f"backfilling load date {day}")
            failures += _run(settings, day, full_refresh=False, reprocess=True, command="backfill") == 1
        else:
            console.print(f"load date {day}: nothing was archived that day, nothing to re-land")
        day += dt.timedelta(days=1)
    raise typer.Exit(1 if failures else 0)


@app.command()
def generate(seed: Annotated[int, typer.Option(help="Seed of the synthetic extracts.")] = 42,
             scale: Annotated[float, typer.Option(help="Volume multiplier of the synthetic extracts.")] = 1.0):
    """Only write the synthetic extracts into the inbox."""
    for path in _generate(load_settings(), seed, scale):
        console.print(str(path))


def _generate(settings: Settings, seed: int, scale: float) -> list[Path]:
    from pipelines.synthetic import generate_extracts

    return generate_extracts(settings, seed=seed, scale=scale)


class Direction(StrEnum):
    increase = "increase"
    decrease = "decrease"
    neutral = "neutral"


@app.command()
def spc(input: Annotated[Path, typer.Option("--input", help="CSV: period, value[, target][, rebase].")],
        output: Annotated[Path, typer.Option("--output", help="Where to write the SPC table (CSV).")],
        direction: Annotated[Direction, typer.Option(help="Improvement direction.")] = Direction.neutral,
        baseline_points: Annotated[int | None, typer.Option(help="Freeze limits on the first N points.")] = None,
        shift_run: Annotated[int, typer.Option(help="Points on one side of the mean that make a shift.")] = 7,
        trend_run: Annotated[int, typer.Option(help="Rising or falling points that make a trend.")] = 7,
        screen_moving_ranges: Annotated[bool, typer.Option(help="Screen moving ranges above 3.267 x MR-bar.")] = False):
    """Making Data Count SPC for any series an analyst brings - the implementation the marts use."""
    from pipelines.spc import SpcSettings
    from pipelines.spc_csv import SpcInputError, run_spc_csv

    try:
        settings = SpcSettings(direction=direction.value, baseline_points=baseline_points, shift_run=shift_run,
                               trend_run=trend_run, screen_moving_ranges=screen_moving_ranges)
        result = run_spc_csv(input, output, settings)
    except (SpcInputError, ValueError, OSError) as exc:
        _fail("spc", f"{input}: {exc}")
    flagged = int((result["point_type"] != "common_cause").sum())
    console.print(f"{len(result)} points, {flagged} with special cause variation; last point: "
                  f"{result['variation_icon'].iloc[-1]}; wrote {output}")


@publish_app.command("status")
def publish_status():
    """List kept publications: id, load date, time, checks, row counts; the served one is marked. Then any run
    that failed since the newest (from the alerts)."""
    from pipelines import publication
    from pipelines.alerts import read_alerts

    settings = load_settings()
    serving = publication.current_id(settings)
    kept = publication.list_publications(settings)
    # Two tables that fit 80 columns: the publications (the id whole, for `kpo publish rollback ID`), then the
    # rows of each published table, a column per publication by its number in the first.
    table = Table("#", "", "publication", "load date", "published (UTC)", "checks",
                  caption="checks: passed / warnings / failed; * the publication served")
    for column in table.columns[2:5]:
        column.no_wrap = True
    counts = [item.manifest.get("tables", {}) for item in kept]
    for number, item in enumerate(kept, start=1):
        checks = "/".join(str(count) for count in publication.check_counts(item.manifest.get("checks", [])))
        table.add_row(str(number), "*" if item.publication_id == serving else "", item.publication_id,
                      item.manifest.get("load_date") or "", f"{item.published_at:%Y-%m-%d %H:%M}", checks)
    if kept:
        console.print(table)
        rows = Table("rows per table", *(str(number) for number in range(1, len(kept) + 1)))
        for column in rows.columns[1:]:
            column.justify = "right"
        for name in sorted({name for tables in counts for name in tables}):
            rows.add_row(name, *(f"{tables[name]:,}" if name in tables else "-" for tables in counts))
        rows.add_section()
        rows.add_row("total", *(f"{sum(tables.values()):,}" for tables in counts))
        console.print(rows)
    if serving is None:
        console.print("nothing is published yet")
    try:
        hold = publication.held(settings)
    except ValueError as exc:  # a hold file edited by hand
        _fail("publish status", str(exc), code=1)
    if hold is not None:
        newer = sum(item.publication_id > hold.publication_id for item in kept)
        console.print(f"[yellow]{hold}; {newer} newer publication(s) kept, not served[/yellow]", soft_wrap=True,
                      highlight=False)
    # Runs that failed publish nothing, so the list above cannot show them: a night that failed leaves the last
    # publication served, and this says so.
    failed = [alert for alert in read_alerts(settings) if alert.raised_at and
              (not kept or dt.datetime.fromisoformat(alert.raised_at) > kept[0].published_at)]
    if failed:
        latest = failed[-1]
        message = latest.message if len(latest.message) <= 300 else latest.message[:299] + "…"
        since = "since the newest publication, so published nothing" if kept else "(none has published yet)"
        console.print(f"[red]{len(failed)} run(s) failed {since}; the latest, at "
                      f"{latest.raised_at[:16].replace('T', ' ')} UTC (run {latest.run_id[:8]}, load date "
                      f"{latest.load_date or 'unknown'}): {escape(message)}[/red]", soft_wrap=True, highlight=False)
        console.print(f"  alerts: {settings.alerts_file}", soft_wrap=True, highlight=False)


@publish_app.command("rollback")
def publish_rollback(publication_id: Annotated[str | None, typer.Argument()] = None):
    """Serve an earlier publication again (default: the one before the current) and hold it until `resume`."""
    from pipelines import publication

    try:
        served = publication.rollback(load_settings(), publication_id)
    except ValueError as exc:
        _fail("publish rollback", str(exc), code=1)
    console.print(f"now serving publication {served}, held: later runs keep their publications but serve none "
                  "until `kpo publish resume`", soft_wrap=True, highlight=False)


@publish_app.command("resume")
def publish_resume(publication_id: Annotated[str | None, typer.Argument()] = None):
    """End a rollback's hold: serve the newest publication (or ID), and let runs serve theirs again."""
    from pipelines import publication

    try:
        served = publication.resume(load_settings(), publication_id)
    except ValueError as exc:
        _fail("publish resume", str(exc), code=1)
    console.print(f"now serving publication {served}; runs serve what they publish again")


@app.command()
def report(output: Annotated[Path | None, typer.Option(help="Write here instead of the served publication.")] = None):
    """Write the offline SPC report of the served publication (publish writes it too)."""
    import json

    from pipelines import publication
    from pipelines.report import build_report

    settings = load_settings()
    served = publication.current_id(settings)
    if served is None:
        _fail("report", "nothing is published yet; run `kpo run` or `kpo demo`", code=1)
    folder = settings.publications / served
    target = output or Path.cwd() / f"kpo-report-{served}.html"
    charts = build_report(folder / "kpo.duckdb", json.loads((folder / "manifest.json").read_text()), target)
    console.print(f"wrote {target} ({charts} charts, publication {served})")


@plugin_app.command("list")
def plugin_list():
    """Registered plugins: name, version, origin, tables (with the inbox file pattern each loads), metrics."""
    from plugins import registry

    # A line per table and metric, never a table's column: ids are what an analyst copies, and at 80 columns
    # a five-column table cut every one of them.
    for plugin in registry.discover():
        console.print(f"[bold]{escape(plugin.name)}[/bold] {escape(plugin.version)} ({escape(plugin.origin)})",
                      soft_wrap=True, highlight=False)
        for table in plugin.tables:
            console.print(f"  table  {escape(table.name)}: inbox/{escape(plugin.name)}/{escape(table.file_pattern)}",
                          soft_wrap=True, highlight=False)
        for metric in plugin.metrics:
            console.print(f"  metric {escape(metric.metric_id)}", soft_wrap=True, highlight=False)


@plugin_app.command("check")
def plugin_check(name: str,
                 file: Annotated[Path | None, typer.Option("--file", help="A real extract to dry-run.")] = None,
                 table: Annotated[str | None, typer.Option(help="The table the extract feeds (default: the one "
                                                                 "whose file pattern its name matches).")] = None):
    """The contract checks for one plugin; with --file, every schema mismatch of a real extract (row and
    column). Nothing is loaded."""
    from pipelines import plugin_check as checks
    from pipelines.landing import DamagedLoad
    from pipelines.reference import load_reference
    from plugins import registry

    try:  # the extract's table is settled first: a wrong --file or --table needs no slow contract checks
        plugin = registry.get(name)
        extract_table = _extract_table(plugin, file, table)
    except (registry.PluginError, ValueError) as exc:
        _fail("plugin check", str(exc))
    plugins = registry.discover()
    reference = load_reference(plugins)
    metric_ids = {metric.metric_id for registered in plugins for metric in registered.metrics}
    problems = declaration_problems(plugin) + checks.reference_problems(plugin, reference, metric_ids)
    problems += checks.rule_problems(plugin) + checks.suite_problems(plugin, checks.dbt_model_names(plugins))
    problems += checks.synthetic_problems(plugin, reference)
    # the KPO's seeds too: a bad row there fails every source's build that night
    problems += [f"reference data {problem}" for problem in checks.seed_problems()]
    try:
        drifts = checks.landed_drift(load_settings(), plugin)  # e.g. after renaming a column
    except DamagedLoad as exc:  # every run stops on it too
        drifts, problems = [], [*problems, str(exc)]
    problems += [str(drift) for drift in drifts if drift.required]  # every run stops on these
    for problem in problems:
        console.print(f"[red]{name}: {escape(problem)}[/red]", soft_wrap=True)
    for drift in drifts:
        if not drift.required:
            console.print(f"[yellow]{name}: warning: {escape(str(drift))}[/yellow]", soft_wrap=True)
    mismatches = checks.check_extract(plugin, file, extract_table) if file else []
    if file and not any(not m.warning for m in mismatches):  # what the run's landing suite would then say
        mismatches += checks.suite_mismatches(plugin, file, extract_table)
    _print_mismatches(file.name if file else "", mismatches)
    if problems or any(not m.warning for m in mismatches):
        raise typer.Exit(1)
    matches = ""
    if file:
        matches = f"; {file.name} matches the declaration" + (" (with the warnings above)" if mismatches else "")
    console.print(f"[green]{name}: declaration, reference data and synthetic extract pass{escape(matches)}[/green]",
                  soft_wrap=True)


def _extract_table(plugin: Plugin, file: Path | None, table: str | None) -> PluginTable | None:
    """The table --file is checked against: --table's, else the one whose pattern the file's name matches."""
    from pipelines import plugin_check as checks

    if file is None:
        if table is not None:
            raise ValueError("--table names the table of the extract given with --file; give --file too")
        return None
    if not file.is_file():
        raise ValueError(f"no such file: {file}")
    return plugin.table(table) if table else checks.table_for(plugin, file)


def _print_mismatches(file_name: str, mismatches: list[Mismatch]) -> None:
    """Failures in red; warnings (what landing would load anyway) in yellow."""
    for mismatch in mismatches:
        line = f"{file_name}: {'warning: ' if mismatch.warning else ''}{mismatch}"
        colour = "yellow" if mismatch.warning else "red"
        console.print(f"[{colour}]{escape(line)}[/{colour}]", soft_wrap=True)


@plugin_app.command("new")
def plugin_new(name: str,
               title: Annotated[str | None, typer.Option(help="Human name of the source.")] = None,
               commitment: Annotated[str, typer.Option(help="Commitment its metrics serve.")] = "patient_safety",
               csu: Annotated[str, typer.Option(help="CSU that owns its project.")] = "SIM",
               source_system: Annotated[str, typer.Option(help="System the extract comes from.")] = "its system"):
    """Scaffold plugins/NAME/: a working plugin to edit (declaration, reader, generator, models, suites, tests)."""
    from pipelines.plugin_check import scaffold_problems
    from pipelines.reference import load_reference
    from pipelines.scaffold import ScaffoldError, scaffold

    if problems := scaffold_problems(commitment, csu, load_reference(())):
        _fail("plugin new", "; ".join(problems))
    try:
        written = scaffold(name, title=title, commitment=commitment, csu=csu, source_system=source_system)
    except ScaffoldError as exc:
        _fail("plugin new", str(exc))
    console.print(f"created plugins/{name}/ ({len(written)} files); next: edit plugins/{name}/schema.py, "
                  f"then `kpo plugin check {name}` and `make demo`")


DBT_USAGE = """usage: kpo dbt [--] ARGS

Runs dbt with ARGS in kpo's assembled dbt project: the core models and
every registered plugin's models, assembled under KPO_HOME, with the
profile in dbt_project/. ARGS are dbt's own, e.g.
  kpo dbt -- docs generate
  kpo dbt -- test --select mart_metric_monthly
  kpo dbt -- --version"""


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context):
    """Run dbt in the assembled project (core + every plugin), e.g. `kpo dbt -- docs generate`."""
    from pipelines.dbt_assembly import dbt_command, ensure_manifest
    from plugins import registry

    if not ctx.args:
        errors.print(DBT_USAGE, soft_wrap=True, highlight=False, markup=False)
        raise typer.Exit(2)
    settings = load_settings()
    # Options alone (--version, --help) are dbt's own and need no project; anything else may be a command.
    if any(not arg.startswith("-") for arg in ctx.args):
        ensure_manifest(settings, registry.discover())
    command, environment = dbt_command(settings, ctx.args)
    raise typer.Exit(subprocess.run(command, env=environment).returncode)


@app.command("lint-sql")
def lint_sql():
    """sqlfluff (dialect duckdb, dbt templater) over core and plugin models, in the assembled project."""
    from pipelines.dbt_assembly import ensure_manifest
    from plugins import registry

    settings = load_settings()
    build = ensure_manifest(settings, registry.discover()).parent.parent
    config = (REPO_ROOT / ".sqlfluff").read_text() + (
        f"\n[sqlfluff:templater:dbt]\nproject_dir = {build}\nprofiles_dir = {settings.dbt_project_dir}\n")
    (build / ".sqlfluff").write_text(config)
    paths = ["core_models", *(str(p.relative_to(build)) for p in sorted((build / "plugin_models").iterdir()))]
    command = [str(Path(sys.executable).parent / "sqlfluff"), "lint", *paths]
    raise typer.Exit(subprocess.run(command, cwd=build, env=settings.child_environment()).returncode)


@app.command()
def dev(port: int = 3000):
    """Open the Dagster UI (schedules, sensors, asset groups, checks) on localhost."""
    from pipelines.runner import prepare_instance

    settings = load_settings()
    prepare_instance(settings).dispose()
    executable = Path(sys.executable).parent / "dagster"
    # Started in DAGSTER_HOME, which holds the instance's copy of the repository's dagster.yaml: from the
    # repository, `dagster dev` warns that its dagster.yaml "will not be used", which misleads (it is).
    # In a process group of its own, stopped by one SIGTERM to it alone: signalled as a group (Ctrl-C, or a
    # service manager stopping every process), dagster dev's code server exits first and dagster dev restarts
    # it while stopping, leaving it behind. Whatever it leaves goes once it has stopped.
    child = subprocess.Popen([str(executable), "dev", "-m", "pipelines.definitions", "-d", str(REPO_ROOT),
                              "-p", str(port)], cwd=settings.dagster_home, env=settings.child_environment(),
                             start_new_session=True, preexec_fn=_dagster_dev_signals)
    for stop in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(stop, lambda *_: child.send_signal(signal.SIGTERM))
    code = child.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    raise typer.Exit(code)


def _dagster_dev_signals() -> None:
    """In `dagster dev`, before it starts: SIGINT as Python expects it (a script's `kpo dev &` leaves it ignored,
    and Dagster stops its services with SIGINT, which they would then ignore for ever), and SIGTERM when kpo dev
    dies (PR_SET_PDEATHSIG, Linux), so that a killed kpo dev leaves no UI running."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def main() -> None:
    from plugins.registry import PluginError

    try:
        app()
    except SettingsError as exc:
        errors.print(f"[red]kpo: invalid setting[/red]\n{exc}", soft_wrap=True, highlight=False)
        raise SystemExit(2) from None
    except PluginError as exc:  # a broken plugin stops every command that reads the registry: say which, in a line
        errors.print(f"[red]kpo: {escape(str(exc))}[/red]", soft_wrap=True, highlight=False)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
