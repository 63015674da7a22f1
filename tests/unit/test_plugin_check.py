"""`kpo plugin check NAME --file EXTRACT` names every mismatch with row and column and loads nothing;
`kpo plugin new` refuses bad or taken names."""

from pathlib import Path

import pytest

from pipelines import plugin_check
from pipelines.scaffold import ScaffoldError, check_name
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
                                           ("contract", "already exists")])
def test_the_scaffold_refuses_bad_or_taken_names(name, problem):
    with pytest.raises(ScaffoldError, match=problem):
        check_name(name, Path(__file__).resolve().parents[2] / "plugins")
