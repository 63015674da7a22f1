"""What a user can put right on the command line is refused in one line that names it, with a non-zero exit,
before any work starts: no KPO_HOME written, no run lock, no Dagster instance, no scaffold."""

import csv
import datetime as dt
import subprocess
from importlib.metadata import version

import pytest
import typer
from typer.testing import CliRunner

from pipelines import cli, scaffold
from pipelines.ingest import LOAD_DATES
from pipelines.settings import LONDON
from plugins.hr_recruitment import PLUGIN as HR
from tests.helpers import REPO, kpo

TODAY = dt.datetime.now(LONDON).date()
TOMORROW = TODAY + dt.timedelta(days=1)
FIRST = LOAD_DATES.start.date()  # the load-date partitions' start
BEFORE_FIRST = FIRST - dt.timedelta(days=1)


def cli_in_process(home, *args: str) -> subprocess.CompletedProcess:
    """The CLI in this process (a `kpo` subprocess costs ~2 s of imports), reported as `kpo` reports it."""
    result = CliRunner().invoke(cli.app, list(args), env={"KPO_HOME": str(home), "COLUMNS": "200"})
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def one_line_refusal(result, *named: str) -> None:
    """A non-zero exit with one line on stderr (where cron and scripts look for errors) and nothing on stdout."""
    output = result.stderr.strip()
    assert result.returncode != 0 and not result.stdout.strip(), (result.stdout, output)
    assert "Traceback" not in output and len(output.splitlines()) == 1, output
    for text in named:
        assert text in output, (text, output)


def test_a_reversed_backfill_range_is_refused_naming_both_dates(tmp_path):
    home = tmp_path / "home"
    result = cli_in_process(home, "backfill", "--start", "2024-03-10", "--end", "2024-03-03")
    one_line_refusal(result, "2024-03-10", "2024-03-03")
    assert not home.exists()


@pytest.mark.parametrize("args, bad", [
    (("run", "--date", str(TOMORROW)), TOMORROW),
    (("run", "--date", str(BEFORE_FIRST)), BEFORE_FIRST),
    (("demo", "--date", str(TOMORROW)), TOMORROW),
    (("demo", "--date", str(BEFORE_FIRST)), BEFORE_FIRST),
    (("backfill", "--start", str(TODAY), "--end", str(TOMORROW)), TOMORROW),
    (("backfill", "--start", str(BEFORE_FIRST), "--end", str(FIRST)), BEFORE_FIRST),
])
def test_a_load_date_without_a_partition_is_refused_with_the_valid_range_before_any_work(tmp_path, args, bad):
    home = tmp_path / "home"
    one_line_refusal(cli_in_process(home, *args), str(bad), str(FIRST), str(TODAY))
    assert not home.exists()  # no inbox written (demo), no run lock, no Dagster instance


def test_the_load_date_range_runs_from_the_first_partition_to_today_in_london():
    for day in (FIRST, TODAY):
        assert cli._load_date("run", dt.datetime.combine(day, dt.time())) == day
    for day in (BEFORE_FIRST, TOMORROW):
        with pytest.raises(typer.Exit):
            cli._load_date("run", dt.datetime.combine(day, dt.time()))
    assert cli._load_date("run", None) is None  # the runner takes today


def test_plugin_check_refuses_a_missing_file(tmp_path):
    one_line_refusal(cli_in_process(tmp_path / "home", "plugin", "check", "hr_recruitment", "--file",
                                    "/nonexistent.csv"),
                     "/nonexistent.csv")


def test_plugin_check_refuses_an_extract_it_cannot_place_with_the_tables_patterns(tmp_path):
    path = tmp_path / "something.csv"
    path.write_text("a,b\n1,2\n")
    one_line_refusal(cli_in_process(tmp_path / "home", "plugin", "check", "hr_recruitment", "--file", str(path)),
                     "something.csv", *(t.file_pattern for t in HR.tables))


def test_plugin_check_refuses_an_unknown_table_listing_the_plugins_tables(tmp_path):
    path = tmp_path / "trac_vacancies.csv"
    path.write_text("a,b\n1,2\n")
    result = cli_in_process(tmp_path / "home", "plugin", "check", "hr_recruitment", "--file", str(path),
                            "--table", "nope")
    one_line_refusal(result, "'nope'", *(t.name for t in HR.tables))


def test_kpo_dbt_alone_says_what_it_is_and_runs_nothing(tmp_path):
    home = tmp_path / "home"
    result = cli_in_process(home, "dbt")
    assert result.returncode != 0
    assert "assembled" in result.stderr and "kpo dbt -- " in result.stderr
    assert "No such option" not in result.stdout + result.stderr
    assert not home.exists()


def test_dbt_options_without_a_command_pass_through(tmp_path):
    result = kpo(tmp_path / "home", "dbt", "--", "--version")  # dbt's own output: a real process
    assert result.returncode == 0, result.stdout + result.stderr
    assert version("dbt-core") in result.stdout


def seed_values(name: str, column: str) -> set[str]:
    with (REPO / "dbt_project" / "seeds" / f"{name}.csv").open(newline="") as handle:
        return {row[column] for row in csv.DictReader(handle)}


@pytest.mark.parametrize("option, value, valid", [
    ("--commitment", "nope", seed_values("commitments", "commitment_id")),
    ("--csu", "NOPE", seed_values("csus", "csu_code")),
])
def test_plugin_new_refuses_values_outside_the_reference_seeds_before_writing(monkeypatch, option, value, valid):
    calls = []
    monkeypatch.setattr(scaffold, "scaffold", lambda *args, **kwargs: calls.append(kwargs) or [])
    result = CliRunner().invoke(cli.app, ["plugin", "new", "falls_log", option, value])
    assert result.exit_code != 0 and calls == []
    assert f"{value!r}" in result.output and all(v in result.output for v in valid)


def test_plugin_new_passes_reference_values_on_to_the_scaffold(monkeypatch):
    calls = []
    monkeypatch.setattr(scaffold, "scaffold", lambda *args, **kwargs: calls.append(kwargs) or [])
    commitment, csu = sorted(seed_values("commitments", "commitment_id"))[0], sorted(seed_values("csus", "csu_code"))[0]
    result = CliRunner().invoke(cli.app, ["plugin", "new", "falls_log", "--commitment", commitment, "--csu", csu])
    assert result.exit_code == 0, result.output
    assert [(c["commitment"], c["csu"]) for c in calls] == [(commitment, csu)]


def _commands(group, prefix: str = "kpo"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix} {name}")


def test_the_readme_command_table_names_every_command_and_option():
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    for path, command in _commands(typer.main.get_command(cli.app)):
        assert path.split()[-1] in table, path
        for option in (o for p in command.params for o in p.opts if o.startswith("--") and o != "--help"):
            assert option in table, (path, option)


def test_a_broken_plugin_is_named_in_one_line_by_every_command_that_reads_the_registry(monkeypatch, capsys):
    """Two plugins of one name (an installed package shadowing a built-in): `plugin list` named it on the last
    line of a traceback."""
    import sys

    from plugins import registry

    def clash():
        raise registry.PluginError("two plugins are named 'falls_log': built-in and package kpo-falls")

    monkeypatch.setattr(registry, "discover", clash)
    monkeypatch.setattr(sys, "argv", ["kpo", "plugin", "list"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    captured = capsys.readouterr()
    result = subprocess.CompletedProcess([], exited.value.code, captured.out, captured.err)
    one_line_refusal(result, "two plugins are named 'falls_log'")
    assert result.returncode == 2


def test_plugin_list_shows_every_table_pattern_and_metric_id_whole_at_80_columns(tmp_path):
    from plugins import registry

    result = CliRunner().invoke(cli.app, ["plugin", "list"], env={"KPO_HOME": str(tmp_path), "COLUMNS": "80"})
    assert result.exit_code == 0 and "…" not in result.stdout
    lines = result.stdout.splitlines()
    for plugin in registry.discover():
        assert any(line.startswith(f"{plugin.name} {plugin.version} ({plugin.origin})") for line in lines)
        for table in plugin.tables:
            assert f"  table  {table.name}: inbox/{plugin.name}/{table.file_pattern}" in lines
        for metric in plugin.metrics:
            assert f"  metric {metric.metric_id}" in lines
