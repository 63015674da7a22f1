"""One Settings object: KPO_HOME roots every path, and nothing else reads os.environ."""

import re
import subprocess
from pathlib import Path

import pytest

from pipelines.settings import REPO_ROOT, Settings, SettingsError, load_settings
from tests.helpers import BIN


def test_home_roots_every_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KPO_HOME", str(tmp_path / "h"))
    settings = Settings()
    root = (tmp_path / "h").resolve()
    assert settings.inbox == root / "inbox" and settings.archive == root / "archive"
    assert settings.quarantine == root / "quarantine" and settings.landing == root / "landing"
    assert settings.warehouse == root / "warehouse" / "build.duckdb"
    assert settings.published == root / "published" and settings.dagster_home == root / "dagster"


def test_default_home_is_data(monkeypatch):
    monkeypatch.delenv("KPO_HOME", raising=False)
    assert Settings().root == Path("data").resolve()


def test_demo_key_is_generated_once_and_kept_under_home(tmp_path):
    settings = Settings(home=tmp_path)
    key = settings.hmac_key()
    assert key == Settings(home=tmp_path).hmac_key() and len(key) == 64
    assert (tmp_path / "pseudonymisation.key").stat().st_mode & 0o077 == 0


def test_nothing_but_settings_reads_the_environment():
    readers = []
    for path in [*REPO_ROOT.glob("pipelines/**/*.py"), *REPO_ROOT.glob("plugins/**/*.py")]:
        if path.name != "settings.py" and re.search(r"os\.environ(?!\.update)|os\.getenv|getenv\(", path.read_text()):
            readers.append(str(path.relative_to(REPO_ROOT)))
    assert readers == []


def test_the_unbuilt_postgres_target_is_refused_with_its_reason(monkeypatch):
    monkeypatch.setenv("KPO_TARGET", "postgres")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value).startswith("KPO_TARGET=postgres: the PostgreSQL scale-out route is not built")
    assert "Python models" in str(refused.value)
    monkeypatch.setenv("KPO_TARGET", "duckdb")
    assert load_settings().target == "duckdb"


def test_every_wrong_setting_is_named_with_its_value(monkeypatch):
    monkeypatch.setenv("KPO_KEEP_PUBLICATIONS", "0")
    monkeypatch.setenv("KPO_SENSOR_STABLE_SECONDS", "soon")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    lines = str(refused.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("KPO_KEEP_PUBLICATIONS=0: ") and "greater than or equal to 1" in lines[0]
    assert lines[1].startswith("KPO_SENSOR_STABLE_SECONDS=soon: ")


def test_the_cli_stops_on_a_wrong_setting_without_a_traceback(tmp_path):
    env = {"KPO_HOME": str(tmp_path), "KPO_TARGET": "postgres", "PATH": str(BIN)}
    result = subprocess.run([str(BIN / "kpo"), "publish", "status"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("kpo: invalid setting\nKPO_TARGET=postgres: ")
    assert "Traceback" not in result.stderr + result.stdout
    assert not any(tmp_path.iterdir())  # refused before anything was written under KPO_HOME


def test_the_demo_key_is_made_once_whole_private_and_then_kept(tmp_path):
    """Without KPO_PSEUDONYMISATION_KEY a key is generated under home, once: every later process (and one that
    raced the first, which finds it made) pseudonymises with the same key."""
    import stat

    first = Settings(home=tmp_path / "h").hmac_key()
    key_file = tmp_path / "h" / "pseudonymisation.key"
    assert re.fullmatch(rb"[0-9a-f]{64}", first) and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Settings(home=tmp_path / "h").hmac_key() == first
    assert [p.name for p in key_file.parent.iterdir()] == ["pseudonymisation.key"]  # no temporary left
    assert Settings(home=tmp_path / "h", pseudonymisation_key="configured").hmac_key() == b"configured"


def test_a_process_that_raced_for_the_demo_key_takes_the_one_made_first(tmp_path, monkeypatch):
    made = Settings(home=tmp_path / "h").hmac_key()
    monkeypatch.setattr(Path, "exists", lambda self: False)  # it looked before the other process made the key
    assert Settings(home=tmp_path / "h").hmac_key() == made
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / "h").iterdir()] == ["pseudonymisation.key"]


def test_output_off_a_terminal_is_laid_out_wide_unless_columns_says(monkeypatch):
    from pipelines.settings import output_width

    monkeypatch.delenv("COLUMNS", raising=False)
    assert output_width(is_terminal=False) == 160 and output_width(is_terminal=True) is None
    monkeypatch.setenv("COLUMNS", "80")
    assert output_width(is_terminal=False) is None  # rich reads COLUMNS itself
