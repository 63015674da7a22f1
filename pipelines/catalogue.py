"""The data catalogue published beside the marts: dbt's docs site (every model and column with its
description) as one static page that opens from disk, and great-expectations data docs of the run.

`dbt docs generate` costs a dbt start-up, so its output is kept per fingerprint of the dbt project and
reused until a model, seed, test or plugin changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.dbt_assembly import inputs_fingerprint, run_dbt
from pipelines.gx_suites import build_data_docs
from pipelines.settings import Settings
from plugins.contract import Plugin


def dbt_docs(settings: Settings, plugins: tuple[Plugin, ...]) -> Path:
    """The folder holding index.html (static: manifest and catalogue embedded, no server needed)."""
    folder = settings.dbt_build_dir / "docs" / inputs_fingerprint(settings, plugins)[:16]
    if not (folder / "index.html").exists():
        run_dbt(settings, ["docs", "generate", "--static", "--no-compile"])  # the build just compiled
        target = settings.dbt_build_dir / "target"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target / "static_index.html", folder / "index.html")
        for name in ("manifest.json", "catalog.json"):
            shutil.copyfile(target / name, folder / name)
    return folder


def write_catalogue(settings: Settings, plugins: tuple[Plugin, ...], run_id: str, staging: Path) -> None:
    shutil.copytree(dbt_docs(settings, plugins), staging / "docs")
    build_data_docs(settings.gx_project(run_id), staging / "quality")
