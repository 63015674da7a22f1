"""One Settings object: KPO_HOME roots every path, and nothing else reads os.environ."""

import re
from pathlib import Path

from pipelines.settings import REPO_ROOT, Settings


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
