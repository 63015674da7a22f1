"""`kpo plugin check NAME --file EXTRACT` names every mismatch with row and column and loads nothing, and
agrees with landing on what fails and what only warns; `kpo plugin new` refuses bad or taken names and
values outside the reference data."""

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from pipelines import plugin_check
from pipelines.landing import inbox_files, land_inbox
from pipelines.reference import load_reference
from pipelines.scaffold import ScaffoldError, check_name
from pipelines.settings import Settings
from plugins.contract import SyntheticRequest
from plugins.hr_recruitment import PLUGIN as HR
from tests.helpers import kpo

FIXTURE = Path(__file__).parent / "fixtures_vacancies.csv"


def renamed_and_bad(tmp_path: Path) -> Path:
    text = FIXTURE.read_text().replace("Staff Group", "Staff Grp", 1)
    bad_row = text.splitlines()[1].replace(",EAF,", ",XYZ,").replace("0000001", "0000002")
    path = tmp_path / "trac_vacancies_check.csv"
    path.write_text(text + bad_row + "\n")
    return path


def test_mismatches_name_row_and_column(tmp_path):
    mismatches = [str(m) for m in plugin_check.check_extract(HR, renamed_and_bad(tmp_path))]
    assert mismatches == [
        "missing column: line 1, column 'Staff Group': declared but not in the extract's header",
        "extra column: line 1, column 'Staff Grp': in the extract but not declared (it would be ignored)",
        "bad value: line 3, column 'CSU Code': unknown value 'XYZ' in column CSU Code",
    ]


def test_the_cli_exits_non_zero_and_loads_nothing(tmp_path):
    home = tmp_path / "home"
    result = kpo(home, "plugin", "check", "hr_recruitment", "--file", str(renamed_and_bad(tmp_path)))
    assert result.returncode == 1
    assert "column 'Staff Group'" in result.stdout and "line 3, column 'CSU Code'" in result.stdout
    assert not (home / "landing").exists() and not (home / "inbox").exists()


def test_an_unreadable_extract_is_reported(tmp_path):
    path = tmp_path / "trac_vacancies.csv"
    path.write_bytes(b"")
    [mismatch] = plugin_check.check_extract(HR, path)
    assert mismatch.kind == "unreadable file" and "empty" in mismatch.detail


@pytest.mark.parametrize("name, problem", [("Falls", "not a valid plugin name"), ("9lives", "not a valid"),
                                           ("class", "not a valid"), ("hr_recruitment", "already exists"),
                                           ("contract", "part of kpo"), ("nhs_number", "would hide it"),
                                           ("readers", "part of kpo")])
def test_the_scaffold_refuses_bad_or_taken_names(name, problem):
    with pytest.raises(ScaffoldError, match=problem):
        check_name(name, Path(__file__).resolve().parents[2] / "plugins")


def with_column(tmp_path: Path, name: str, header: str) -> Path:
    lines = FIXTURE.read_text().splitlines()
    path = tmp_path / name
    path.write_text("\n".join([f"{lines[0]},{header}", *(f"{line},someone" for line in lines[1:])]) + "\n")
    return path


def test_an_undeclared_column_is_a_warning_as_landing_loads_the_extract_without_it(tmp_path):
    settings = Settings(home=tmp_path / "home", pseudonymisation_key="test")
    (settings.inbox / "hr_recruitment").mkdir(parents=True)
    path = with_column(settings.inbox / "hr_recruitment", "trac_vacancies.csv", "Name")
    mismatches = plugin_check.check_extract(HR, path)
    assert [m.column for m in mismatches] == ["Name"] and all(m.warning for m in mismatches)
    [load] = land_inbox(settings, HR, HR.table("vacancies"), dt.date(2024, 1, 1))
    assert load.status == "landed" and any("'Name'" in w for w in load.warnings)


def test_the_cli_passes_an_extract_with_an_undeclared_column_and_warns(tmp_path):
    result = kpo(tmp_path / "home", "plugin", "check", "hr_recruitment", "--file",
                 str(with_column(tmp_path, "trac_vacancies.csv", "Name")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" in result.stdout and "'Name'" in result.stdout


def test_the_cli_passes_a_plugin_without_an_extract(tmp_path):
    result = kpo(tmp_path / "home", "plugin", "check", "hr_recruitment")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hr_recruitment: declaration, reference data and synthetic extract pass" in result.stdout
    assert "matches the declaration" not in result.stdout


@pytest.mark.parametrize("name", ["trac_vacancies.csv", "trac_export.csv", ".trac_vacancies.csv",
                                  "trac_vacancies.csv.part"])
def test_a_file_name_fails_exactly_when_the_inbox_would_not_pick_the_file_up(tmp_path, name):
    settings = Settings(home=tmp_path / "home", pseudonymisation_key="test")
    folder = settings.inbox / "hr_recruitment"
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text(FIXTURE.read_text())
    table = HR.table("vacancies")
    refused = [m for m in plugin_check.check_extract(HR, path, table) if m.kind == "file name"]
    assert all(not m.warning and table.file_pattern in m.detail for m in refused)
    assert bool(refused) == (path not in inbox_files(settings, HR, table))


def test_synthetic_rows_quarantined_are_shown_not_pointed_at_in_a_deleted_folder(tmp_path):
    text = FIXTURE.read_text()
    bad_row = text.splitlines()[1].replace(",EAF,", ",XYZ,").replace("0000001", "0000002")

    def generate(request: SyntheticRequest) -> list[Path]:
        request.inbox.mkdir(parents=True, exist_ok=True)
        (request.inbox / "trac_vacancies.csv").write_text(text + bad_row + "\n")
        return [request.inbox / "trac_vacancies.csv"]

    plugin = dataclasses.replace(HR, tables=(HR.table("vacancies"),), generate=generate)
    [problem] = plugin_check.synthetic_problems(plugin, load_reference(()))
    assert "'XYZ'" in problem
    assert all(Path(p).exists() for p in re.findall(r"/\S+", problem)), problem


def test_plugin_new_values_are_held_to_the_reference_seeds():
    reference = load_reference(())
    commitment, csu = sorted(reference.commitments)[0], sorted(reference.csus)[0]
    assert plugin_check.scaffold_problems(commitment, csu, reference) == []
    [problem] = plugin_check.scaffold_problems("nope", csu, reference)
    assert "'nope'" in problem and all(c in problem for c in reference.commitments)


def test_the_dry_run_names_the_line_a_run_would_past_blank_lines(tmp_path):
    text = FIXTURE.read_text()
    bad_row = text.splitlines()[1].replace(",EAF,", ",XYZ,").replace("0000001", "0000002")
    path = tmp_path / "trac_vacancies_check.csv"
    path.write_text(text + "\n\n" + bad_row + "\n")  # two blank lines: the bad row is on line 5
    assert [str(m) for m in plugin_check.check_extract(HR, path)] == [
        "bad value: line 5, column 'CSU Code': unknown value 'XYZ' in column CSU Code"]


def test_plugin_check_finds_what_a_run_would_stop_on_in_the_suites_and_projects(tmp_path):
    """A misnamed suite, a suite for no model, broken JSON and an expectation naming a column the table lacks all
    passed `kpo plugin check`; the run then crashed, or rejected a good extract as bad data."""
    import shutil

    from plugins.contract import Project

    suites = tmp_path / "expectations"
    shutil.copytree(HR.expectations_dir, suites)
    (suites / "landing__vacancies.json").write_text(
        (suites / "landing__vacancies.json").read_text().replace('"column": "csu_code"', '"column": "csu"'))
    shutil.copy(suites / "landing__experience_responses.json", suites / "landing__vacancy.json")
    (suites / "metric_rows_hr_recruitment.json").rename(suites / "metric_rows_hr.json")
    (suites / "metric_rows_hr_recruitment_experience.json").write_text('{"expectations": [,]}')
    plugin = dataclasses.replace(HR, expectations_dir=suites)
    problems = plugin_check.suite_problems(plugin)
    assert "expectations/landing__vacancy.json: a landing suite is named landing__<table>.json, and " \
           "hr_recruitment has no table 'vacancy' (its tables: vacancies, experience_responses)" in problems
    assert "expectations/landing__vacancies.json: expectation 4 (expect_column_values_to_not_be_null) names " \
           "column(s) 'csu', which table vacancies does not have" in problems
    assert any(p.startswith("expectations/metric_rows_hr.json: a suite is named after the model it checks (or "
                            "landing__<table>.json), and no model is named 'metric_rows_hr' (hr_recruitment's models: ")
               for p in problems)
    assert any(p.startswith("expectations/metric_rows_hr_recruitment_experience.json: not JSON (") for p in problems)
    assert len(problems) == 4, problems
    core = plugin_check.dbt_model_names(())
    assert "mart_metric_monthly" in core and plugin_check.suite_problems(HR, core) == []

    project = Project(project_id="p", name="P", csu_code="SIM", commitment_ids=("workforce",),
                      metric_id="recruitment_lead_time", series_key="trust", baseline_value=None,
                      baseline_start=None, baseline_end=None, target=None, intervention_date=dt.date(2024, 1, 1))
    reference = load_reference(())
    metric_ids = {m.metric_id for m in HR.metrics}
    assert plugin_check.reference_problems(dataclasses.replace(HR, projects=(project,)), reference, metric_ids) == [
        f"project p: unknown metric 'recruitment_lead_time' (known: {', '.join(sorted(metric_ids))})"]


def test_a_row_rule_whose_sql_does_not_bind_is_named():
    from plugins.contract import RowRule

    table = HR.table("vacancies")
    broken = dataclasses.replace(HR, tables=(dataclasses.replace(table, rules=(
        *table.rules, RowRule("offer before shortlisting", "ocurred_at < shortlisting_complete_at", ())),),))
    [problem] = plugin_check.rule_problems(broken)
    assert problem.startswith("table vacancies: rule 'offer before shortlisting': its SQL fails on the declared "
                              "columns: Binder Error: Referenced column \"ocurred_at\" not found")
    assert plugin_check.rule_problems(HR) == []


def test_the_dry_run_judges_an_otherwise_matching_extract_by_its_landing_suite(tmp_path):
    """Every row of it types, but one vacancy is in it twice: judged as a run judges it. Written twice identically,
    it is kept once (a warning); in two versions, the extract is refused; and whatever landing lets through, the
    landing suite judges (here a table declaring no key, so landing leaves the repeat to the suite)."""
    lines = FIXTURE.read_text().splitlines()
    path = tmp_path / "trac_vacancies_dup.csv"
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    [repeat] = plugin_check.check_extract(HR, path)
    assert repeat.kind == "repeated record" and repeat.warning
    assert repeat.detail.endswith(f"lines 2 and {len(lines) + 1} are the same record")
    assert plugin_check.suite_mismatches(HR, path) == []

    versions = tmp_path / "trac_vacancies_versions.csv"
    versions.write_text("\n".join([*lines, lines[1].replace(",Porter,", ",Porter (nights),")]) + "\n")
    [refused] = plugin_check.check_extract(HR, versions)
    assert refused.kind == "rejected whole" and not refused.warning
    assert f"Vacancy Reference '0000001' on lines 2 and {len(lines) + 1}" in refused.detail

    table = HR.table("vacancies")
    keyless = dataclasses.replace(HR, tables=(dataclasses.replace(table, primary_key=()),))
    [mismatch] = plugin_check.suite_mismatches(keyless, path)
    assert mismatch.kind == "landing suite" and not mismatch.warning
    assert mismatch.detail.startswith("landing__vacancies.json: expect_column_values_to_be_unique(vacancy_id) failed: "
                                      f"2 unexpected rows, e.g. trac_vacancies_dup.csv lines 2, {len(lines) + 1}")
    assert mismatch.detail.endswith("a run would reject this extract")
    clean = tmp_path / "trac_vacancies.csv"
    clean.write_text(FIXTURE.read_text())
    assert plugin_check.suite_mismatches(HR, clean) == []


def test_the_kpos_seeds_are_checked_as_the_build_reads_them(tmp_path):
    """A blank where a not_null test guards, a repeated key, a cell that is not its column's type: each fails the
    night's build, and with it every source's publication. `kpo plugin check` names them by file, line and column."""
    import shutil

    from pipelines.plugin_check import seed_problems
    from pipelines.settings import REPO_ROOT

    seeds = tmp_path / "seeds"
    shutil.copytree(REPO_ROOT / "dbt_project" / "seeds", seeds)
    assert seed_problems(seeds) == []
    with (seeds / "csus.csv").open("a") as handle:
        handle.write("EAF,Estates again,Corporate,false\n,Nameless,Corporate,maybe\n")
    lines = len((seeds / "csus.csv").read_text().splitlines())
    eaf = next(n for n, line in enumerate((seeds / "csus.csv").read_text().splitlines(), 1) if line.startswith("EAF,"))
    problems = seed_problems(seeds)
    assert f"csus.csv line {lines}: csu_code is blank" in problems
    assert f"csus.csv line {lines}: is_clinical 'maybe' is not a boolean" in problems
    assert f"csus.csv lines {eaf}, {lines - 1}: csu_code 'EAF' repeats" in problems
    assert len(problems) == 3


def test_the_seed_check_reads_a_seed_as_its_load_does(tmp_path):
    """Excel's 'CSV UTF-8' starts with a byte-order mark, which the load ignores; a date DuckDB cannot cast
    (20230705) fails the load, whatever Python's date parser accepts; one it can (2023-7-5) does not."""
    import shutil

    from pipelines.plugin_check import seed_problems
    from pipelines.settings import REPO_ROOT

    seeds = tmp_path / "seeds"
    shutil.copytree(REPO_ROOT / "dbt_project" / "seeds", seeds)
    projects = seeds / "projects.csv"
    projects.write_bytes(b"\xef\xbb\xbf" + projects.read_bytes())
    with (seeds / "spc_rebase_events.csv").open("a") as handle:
        handle.write("recruitment_lead_time_days,trust,20230705,Process redesign,J Bloggs\n"
                     "recruitment_lead_time_days,trust,2023-7-5,Process redesign,J Bloggs\n")
    lines = len((seeds / "spc_rebase_events.csv").read_text().splitlines())
    assert seed_problems(seeds) == [f"spc_rebase_events.csv line {lines - 1}: rebase_date '20230705' is not a date"]


def test_two_plugins_declaring_one_project_are_refused_and_a_seed_row_replaces_a_plugins():
    import dataclasses

    from pipelines.reference import load_reference, seed_projects
    from plugins.contract import Project
    from plugins.hr_recruitment import PLUGIN as HR

    project = Project(project_id="falls_reduction", name="Falls", csu_code="SIM", commitment_ids=("patient_safety",),
                      metric_id="m", series_key="trust", baseline_value=None, baseline_start=None,
                      baseline_end=None, target=1.0, intervention_date=dt.date(2024, 1, 1))
    first = dataclasses.replace(HR, name="falls_a", projects=(project,))
    second = dataclasses.replace(HR, name="falls_b", projects=(dataclasses.replace(project, target=99.0),))
    with pytest.raises(ValueError, match="'falls_reduction' of plugin falls_b is also declared by plugin falls_a"):
        load_reference((first, second))
    seeded = next(iter(seed_projects().values()))
    replaced = dataclasses.replace(HR, name="seeded", projects=(dataclasses.replace(seeded, target=-1.0),))
    assert load_reference((replaced,)).projects[seeded.project_id] == seeded
