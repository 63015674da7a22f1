"""The data catalogue published beside the marts: dbt's docs site (every model and column with its
description) as one static page that opens from disk, and great-expectations data docs of the run.

`dbt docs generate` costs a dbt start-up, so its output is kept per fingerprint of the dbt project and
reused until a model, seed, test or plugin changes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.dbt_assembly import inputs_fingerprint, run_dbt
from pipelines.gx_suites import build_data_docs
from pipelines.settings import Settings
from plugins.contract import Plugin


def dbt_docs(settings: Settings, plugins: tuple[Plugin, ...]) -> Path:
    """The folder holding index.html (static: manifest and catalogue embedded, no server needed). Generating it
    for a changed project removes the sites of earlier projects (~5 MB each): nothing reads them again, and
    every publication holds a copy of the site it was published with."""
    root = settings.dbt_build_dir / "docs"
    folder = root / inputs_fingerprint(settings, plugins)[:16]
    if not (folder / "index.html").exists():
        run_dbt(settings, ["docs", "generate", "--static", "--no-compile"])  # the build just compiled
        target = settings.dbt_build_dir / "target"
        staging = root / f".{folder.name}.tmp"  # renamed into place whole: a killed run leaves no half site
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copyfile(target / "static_index.html", staging / "index.html")
        for name in ("manifest.json", "catalog.json"):
            shutil.copyfile(target / name, staging / name)
        shutil.rmtree(folder, ignore_errors=True)  # a half site an earlier kpo version may have left
        os.replace(staging, folder)
        for earlier in root.iterdir():
            if earlier != folder:
                shutil.rmtree(earlier, ignore_errors=True)
    return folder


def write_catalogue(settings: Settings, plugins: tuple[Plugin, ...], run_id: str, staging: Path) -> None:
    shutil.copytree(dbt_docs(settings, plugins), staging / "docs")
    build_data_docs(settings.gx_project(run_id), staging / "quality")
