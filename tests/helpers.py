"""Test helpers: run the real `kpo` CLI against a temporary KPO_HOME; compare published trees."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def kpo(home: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the kpo CLI as a user would, with KPO_HOME pointing at `home`."""
    environment = {**os.environ, "KPO_HOME": str(home), "COLUMNS": "200", **(env or {})}
    return subprocess.run([str(BIN / "kpo"), *args], env=environment, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under `root` (following the served symlinks) with its sha256, and every link's target; but
    not published/alerts.jsonl, the log of failed runs kept beside the publication, which is no part of it."""
    digest: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if relative == "alerts.jsonl":
            continue
        if path.is_symlink():
            digest[relative + " ->"] = os.readlink(path)
        if path.is_file():
            digest[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir() and path.is_symlink():
            digest.update({f"{relative}/{k}": v for k, v in tree_digest(path).items()})
    return digest


def alerts(home: Path) -> list[dict]:
    path = home / "published" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def falls_declaration(harm: str, required: bool, folder: Path):
    """A small plugin whose table names its harm column `harm`: declared `harm_level` first, then renamed."""
    from plugins.contract import Column, Plugin, Table
    from plugins.readers import csv_reader

    table = Table(name="events", description="test", file_pattern="*.csv", reader=csv_reader(),
                  primary_key=("event_id",), event_date="occurred_on",
                  columns=(Column("event_id", "string", "", header="Event ID", required=True),
                           Column("occurred_on", "date", "", header="Occurred"),
                           Column(harm, "string", "", header="Harm", required=required)))
    plugin = Plugin(name="falls", version="0", description="", source_system="", tables=(table,), metrics=(),
                    generate=lambda request: [], models_dir=folder, expectations_dir=folder)
    return plugin, table
