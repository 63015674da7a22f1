"""`kpo` — the command line. Thin: every command calls the module that does the work."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.settings import REPO_ROOT, Settings, SettingsError, load_settings
from plugins.validation import declaration_problems

app = typer.Typer(help="kpo: the KPO metrics warehouse.", no_args_is_help=True, add_completion=False)
publish_app = typer.Typer(help="Inspect and roll back publications.", no_args_is_help=True)
plugin_app = typer.Typer(help="Data-source plugins.", no_args_is_help=True)
app.add_typer(publish_app, name="publish")
app.add_typer(plugin_app, name="plugin")
console = Console()

DateOption = Annotated[dt.datetime | None, typer.Option("--date", formats=["%Y-%m-%d"],
                                                        help="Load date (default: today, Europe/London).")]



def _run(settings: Settings, load_date: dt.date | None, full_refresh: bool, reprocess: bool = False) -> int:
    from pipelines.runner import AlreadyRunning, run_nightly
    from pipelines.terminal import print_summary, stage_progress

    terminal = Console(file=sys.stdout)  # the real stdout: the runner redirects sys.stdout while the job runs
    try:
        with stage_progress(terminal) as on_step:
            summary = run_nightly(settings, load_date, full_refresh=full_refresh, on_step=on_step,
                                  reprocess=reprocess)
    except AlreadyRunning as exc:
        terminal.print(f"[red]kpo run: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(3) from None
    print_summary(terminal, summary, settings)
    return 0 if summary.success else 1


@app.command()
def run(date: DateOption = None,
        full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models from all history.")] = False):
    """Load what is in the inbox, build, check and publish (the nightly job)."""
    raise typer.Exit(_run(load_settings(), date.date() if date else None, full_refresh))


@app.command()
def demo(seed: Annotated[int, typer.Option(help="Seed of the synthetic extracts.")] = 42,
         scale: Annotated[float, typer.Option(help="Volume multiplier of the synthetic extracts.")] = 1.0,
         date: DateOption = None):
    """Write realistic synthetic extracts into the inbox, then run the nightly job on them."""
    settings = load_settings()
    written = _generate(settings, seed, scale)
    console.print(f"wrote {len(written)} synthetic extract(s) into {settings.inbox}")
    raise typer.Exit(_run(settings, date.date() if date else None, full_refresh=False))


@app.command()
def backfill(start: Annotated[dt.datetime, typer.Option("--start", formats=["%Y-%m-%d"], help="First load date.")],
             end: Annotated[dt.datetime, typer.Option("--end", formats=["%Y-%m-%d"], help="Last load date.")]):
    """Re-land the archived extracts of each load date in a range, rebuilding and publishing after each
    (also available as a partition backfill in the Dagster UI)."""
    from plugins import registry

    settings, day, failures = load_settings(), start.date(), 0
    while day <= end.date():
        if any((settings.archive / p.name / f"load_date={day}").is_dir() for p in registry.discover()):
            console.print(f"backfilling load date {day}")
            failures += _run(settings, day, full_refresh=False, reprocess=True) != 0
        else:
            console.print(f"load date {day}: nothing was archived that day, nothing to re-land")
        day += dt.timedelta(days=1)
    raise typer.Exit(1 if failures else 0)


@app.command()
def generate(seed: int = 42, scale: float = 1.0):
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
        console.print(f"[red]kpo spc: {input}: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    flagged = int((result["point_type"] != "common_cause").sum())
    console.print(f"{len(result)} points, {flagged} with special cause variation; last point: "
                  f"{result['variation_icon'].iloc[-1]}; wrote {output}")


@publish_app.command("status")
def publish_status():
    """List kept publications: id, time, checks, row counts; the served one is marked."""
    from pipelines import publication

    settings = load_settings()
    serving = publication.current_id(settings)
    table = Table("", "publication", "published at", "checks passed/failed", "rows per table")
    for item in publication.list_publications(settings):
        checks = item.manifest.get("checks", [])
        passed = sum(c["passed"] for c in checks)
        rows = ", ".join(f"{k}={v}" for k, v in item.manifest.get("tables", {}).items())
        table.add_row("*" if item.publication_id == serving else "", item.publication_id,
                      item.manifest.get("published_at", ""), f"{passed}/{len(checks) - passed}", rows)
    console.print(table)
    if serving is None:
        console.print("nothing is published yet")


@publish_app.command("rollback")
def publish_rollback(publication_id: Annotated[str | None, typer.Argument()] = None):
    """Serve an earlier publication again (default: the one before the current)."""
    from pipelines import publication

    try:
        served = publication.rollback(load_settings(), publication_id)
    except ValueError as exc:
        console.print(f"[red]kpo publish rollback: {exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"now serving publication {served}")


@app.command()
def report(output: Annotated[Path | None, typer.Option(help="Write here instead of the served publication.")] = None):
    """Write the offline SPC report of the served publication (publish writes it too)."""
    import json

    from pipelines import publication
    from pipelines.report import build_report

    settings = load_settings()
    served = publication.current_id(settings)
    if served is None:
        console.print("[red]kpo report: nothing is published yet; run `kpo run` or `kpo demo`[/red]")
        raise typer.Exit(1)
    folder = settings.publications / served
    target = output or Path.cwd() / f"kpo-report-{served}.html"
    charts = build_report(folder / "kpo.duckdb", json.loads((folder / "manifest.json").read_text()), target)
    console.print(f"wrote {target} ({charts} charts, publication {served})")


@plugin_app.command("list")
def plugin_list():
    """Registered plugins: name, version, origin, tables, metrics."""
    from plugins import registry

    table = Table("plugin", "version", "origin", "tables", "metrics")
    for plugin in registry.discover():
        table.add_row(plugin.name, plugin.version, plugin.origin, ", ".join(t.name for t in plugin.tables),
                      ", ".join(m.metric_id for m in plugin.metrics))
    console.print(table)


@plugin_app.command("check")
def plugin_check(name: str,
                 file: Annotated[Path | None, typer.Option("--file", help="A real extract to dry-run.")] = None,
                 table: Annotated[str | None, typer.Option(help="The table the extract feeds.")] = None):
    """The contract checks for one plugin; with --file, every schema mismatch of a real extract (row and
    column). Nothing is loaded."""
    from pipelines import plugin_check as checks
    from pipelines.reference import load_reference
    from plugins import registry

    try:
        plugin = registry.get(name)
    except registry.PluginError as exc:
        console.print(f"[red]kpo plugin check: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    reference = load_reference(registry.discover())
    problems = declaration_problems(plugin) + checks.reference_problems(plugin, reference)
    problems += checks.synthetic_problems(plugin, reference)
    for problem in problems:
        console.print(f"[red]{name}: {problem}[/red]", soft_wrap=True)
    mismatches = []
    if file is not None:
        mismatches = checks.check_extract(plugin, file, plugin.table(table) if table else None)
        for mismatch in mismatches:
            console.print(f"[red]{file.name}: {mismatch}[/red]", soft_wrap=True)
    if problems or mismatches:
        raise typer.Exit(1)
    console.print(f"[green]{name}: declaration, reference data and synthetic extract pass"
                  + (f"; {file.name} matches the declaration" if file else "") + "[/green]")


@plugin_app.command("new")
def plugin_new(name: str,
               title: Annotated[str | None, typer.Option(help="Human name of the source.")] = None,
               commitment: Annotated[str, typer.Option(help="Commitment its metrics serve.")] = "patient_safety",
               csu: Annotated[str, typer.Option(help="CSU that owns its project.")] = "SIM",
               source_system: Annotated[str, typer.Option(help="System the extract comes from.")] = "its system"):
    """Scaffold plugins/NAME/: a working plugin to edit (declaration, reader, generator, models, suites, tests)."""
    from pipelines.scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(name, title=title, commitment=commitment, csu=csu, source_system=source_system)
    except ScaffoldError as exc:
        console.print(f"[red]kpo plugin new: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(f"created plugins/{name}/ ({len(written)} files); next: edit plugins/{name}/schema.py, "
                  f"then `kpo plugin check {name}` and `make demo`")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context):
    """Run dbt in the assembled project (core + every plugin), e.g. `kpo dbt -- docs generate`."""
    from pipelines.dbt_assembly import ensure_manifest, run_dbt
    from plugins import registry

    settings = load_settings()
    ensure_manifest(settings, registry.discover())
    result = run_dbt(settings, list(ctx.args), check=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    raise typer.Exit(result.returncode)


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
    os.chdir(REPO_ROOT)
    executable = Path(sys.executable).parent / "dagster"
    os.execve(str(executable), [str(executable), "dev", "-m", "pipelines.definitions", "-p", str(port)],
              settings.child_environment())


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        Console(stderr=True).print(f"[red]kpo: invalid setting[/red]\n{exc}", soft_wrap=True, highlight=False)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
