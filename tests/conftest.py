"""Shared fixtures: one full demo publication, and a DuckDB 1.4 client in its own environment (the
version BI drivers bundle)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import BIN, kpo

# Tests write extracts into the inbox and run at once, each file written whole: none needs to rest before a
# run takes it (the rest itself is tested in tests/unit/test_landing.py). Child processes inherit this.
os.environ.setdefault("KPO_INBOX_MIN_AGE_SECONDS", "0")


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full `kpo demo` (every plugin, default seed and scale), shared by the tests that read it."""
    home = tmp_path_factory.mktemp("demo")
    result = kpo(home, "demo")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return home


@pytest.fixture(scope="session")
def duckdb14_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python with duckdb 1.4.4 and pyarrow, isolated from the project's DuckDB."""
    venv = tmp_path_factory.mktemp("duckdb14") / "venv"
    uv = [str(BIN / "uv")]
    subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([*uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                    "duckdb==1.4.4", "pyarrow"], check=True)
    return venv / "bin" / "python"
