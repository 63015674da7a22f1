"""The atomic publication: what BI tools see, switched in one rename.

Layout:
    publications/<id>/            one complete publication (kpo.duckdb, parquet/, manifest.json, ...)
    published/.current  →  ../publications/<id>      the one being served (a symlink)
    published/kpo.duckdb  →  .current/kpo.duckdb      stable names BI tools point at
    published/parquet     →  .current/parquet         (and manifest.json, report.html, share, docs, quality)

A publication is written under `publications/.<id>.tmp`, fsynced, renamed to `publications/<id>`,
and only then is `.current` swapped with `os.replace` — one atomic rename switches every published
file at once. A rollback holds what it serves (`publications/hold.json`): later runs still write their
publications, but serve none until `kpo publish resume`, so the next night does not serve again what was rolled
back. A crash at any point leaves `.current` on the previous complete publication; the
next run deletes leftover temporaries. A BI client that opened the old kpo.duckdb keeps its file
(old publications are kept, and on Linux an open file survives deletion anyway).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines import faults
from pipelines.files import replace_text
from pipelines.settings import REPO_ROOT, Settings
from pipelines.typing_sql import quote_ident, quote_literal

# Readable by DuckDB 1.4+ clients, i.e. the drivers bundled in BI tools (DuckDB 2.0 files are not).
STORAGE_VERSION = "v1.4.0"
SERVED = ("kpo.duckdb", "parquet", "manifest.json", "report.html", "share", "docs", "quality")
CURRENT = ".current"
HOLD = "hold.json"  # under publications/: a rollback's hold (see rollback)


@dataclass(frozen=True)
class Publication:
    publication_id: str
    path: Path
    manifest: dict
    hold: Hold | None = None  # for one just written: the rollback's hold that kept it from being served

    @property
    def published_at(self) -> dt.datetime:
        """When it was published: its manifest's time, else the time its id begins with (UTC)."""
        if "published_at" in self.manifest:
            return dt.datetime.fromisoformat(self.manifest["published_at"])
        return dt.datetime.strptime(self.publication_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def check_counts(checks: list[dict]) -> tuple[int, int, int]:
    """Passed, warnings, failed: a check at WARN severity that did not pass is a warning (it never blocks a
    publication), not a failure. For a run's checks and a publication manifest's alike."""
    warnings = sum(not c["passed"] and c.get("severity") == "WARN" for c in checks)
    passed = sum(bool(c["passed"]) for c in checks)
    return passed, warnings, len(checks) - passed - warnings


def new_publication_id(run_id: str, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}Z-{run_id[:8]}"


def code_version() -> str:
    try:
        sha = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        sha = ""
    from importlib.metadata import version

    return f"kpo {version('kpo')}" + (f" ({sha})" if sha else "")


def write_database(settings: Settings, staging: Path, models: list[str], docs: dict[str, dict]) -> dict[str, int]:
    """Copy the published models from the build into a DuckDB-1.4-readable file, with descriptions."""
    rows = {}
    with duckdb.connect() as con:
        con.execute(f"attach {quote_literal(str(settings.warehouse))} as build (read_only)")
        con.execute(f"attach {quote_literal(str(staging / 'kpo.duckdb'))} as pub (storage_version '{STORAGE_VERSION}')")
        (staging / "parquet").mkdir()
        for model in models:
            con.execute(f'create table pub.main."{model}" as select * from build.main."{model}"')
            faults.pause("publish_copy")
            parquet = quote_literal(str(staging / "parquet" / f"{model}.parquet"))
            con.execute(f'copy build.main."{model}" to {parquet} (format parquet, compression zstd)')
            rows[model] = con.execute(f'select count(*) from pub.main."{model}"').fetchall()[0][0]
            _comment(con, model, docs.get(model, {}))
        con.execute("detach pub")
    return rows


SHARE_README = """kpo share pack - for partners outside the trust.

Disclosure control (the trust's rules, docs/disclosure.md in the kpo repository): below trust level (any
breakdown, and every row of a unit inside a department, such as the RAU; column is_sub_trust) counts of 1 to
7 are blank, and so is any count that would let a blank be worked out by subtracting published parts from a
published total (secondary suppression); every other count, trust-wide ones included, is rounded to the
nearest 5, half up. A zero below trust level is a true zero; a trust-wide 0 is 0, 1 or 2. Rates are
recomputed from the rounded numerator and denominator, shown only over a denominator of 50 or more; a
median or percentile is shown only over 20 or more records. No patient-level rows, no free text.
In the CSV files counts are whole numbers and other values have one decimal place.
Publication {publication_id}.
"""

# CSV has no types: a double printed as DuckDB stores it shows float noise (442.6999999999989)
CSV_DECIMALS = 1


def _csv_select(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """The model's columns as the share CSV prints them: whole numbers as integers, other numbers with
    CSV_DECIMALS places; a count's `value` (a row whose `kind` is count) as an integer too."""
    columns = con.execute(f"select column_name, column_type from (describe {relation})").fetchall()
    names = {name for name, _ in columns}
    integral = "cast(cast({0} as bigint) as varchar)"
    decimal = f"printf('%.{CSV_DECIMALS}f', {{0}})"
    selected = []
    for name, data_type in columns:
        column = quote_ident(name)
        if data_type not in ("DOUBLE", "FLOAT", "REAL") and not data_type.startswith("DECIMAL"):
            selected.append(column)
            continue
        whole = con.execute(f"select bool_and({column} = floor({column})) from {relation}").fetchall()[0][0]
        if name == "value" and "kind" in names:
            expression = f"case when kind = 'count' then {integral.format(column)} else {decimal.format(column)} end"
        else:
            expression = (integral if whole is not False else decimal).format(column)
        selected.append(f"{expression} as {column}")
    return ", ".join(selected)


def write_share_pack(settings: Settings, staging: Path, share_models: list[str], publication_id: str) -> dict[str, int]:
    """The disclosure-controlled models as Parquet and CSV under share/ (never in kpo.duckdb)."""
    rows = {}
    folder = staging / "share"
    folder.mkdir()
    with duckdb.connect() as con:
        con.execute(f"attach {quote_literal(str(settings.warehouse))} as build (read_only)")
        for model in share_models:
            relation = f'build.main."{model}"'
            # in a fixed order, so that two publications of the same numbers are the same files
            parquet = quote_literal(str(folder / f"{model}.parquet"))
            con.execute(f"copy (select * from {relation} order by all) to {parquet} (format parquet, compression zstd)")
            csv = quote_literal(str(folder / f"{model}.csv"))
            con.execute(f"copy (select {_csv_select(con, relation)} from (select * from {relation} order by all)) "
                        f"to {csv} (format csv, header)")
            rows[model] = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
    (folder / "README.txt").write_text(SHARE_README.format(publication_id=publication_id))
    return rows


def _comment(con: duckdb.DuckDBPyConnection, model: str, doc: dict) -> None:
    if doc.get("description"):
        con.execute(f'comment on table pub.main."{model}" is {quote_literal(doc["description"])}')
    for column, text in doc.get("columns", {}).items():
        if text:
            con.execute(f'comment on column pub.main."{model}"."{column}" is {quote_literal(text)}')


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    for folder in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def clean_leftovers(settings: Settings) -> None:
    """Remove what a killed publication left behind; nothing served ever lives under a .tmp name."""
    for leftover in settings.publications.glob(".*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in settings.published.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def publish(settings: Settings, publication_id: str, models: list[str], docs: dict[str, dict], manifest: dict,
            share_models: list[str] = (), extras: list[Callable[[Path, dict], None]] = ()) -> Publication:
    """Write a complete publication, then serve it atomically. `extras(staging, manifest)` add files
    (the catalogue, the report) once the marts are in place."""
    settings.ensure_folders()
    clean_leftovers(settings)
    staging = settings.publications / f".{publication_id}.tmp"
    staging.mkdir(parents=True)
    tables = write_database(settings, staging, models, docs)
    share = write_share_pack(settings, staging, list(share_models), publication_id)
    manifest = {**manifest, "publication_id": publication_id, "tables": tables, "share_pack": share}
    for extra in extras:
        extra(staging, manifest)
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    _fsync_tree(staging)
    faults.pause("publish_before_rename")
    final = settings.publications / publication_id
    os.rename(staging, final)
    hold = held(settings)
    if hold is None:
        serve(settings, publication_id)
    prune(settings)
    return Publication(publication_id, final, manifest, hold)


def serve(settings: Settings, publication_id: str) -> None:
    """Point `published/` at a complete publication with one atomic rename."""
    target = settings.publications / publication_id
    if not (target / "manifest.json").exists():
        raise ValueError(f"publication {publication_id} is not a complete publication")
    tmp = settings.published / f".{CURRENT}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path("..") / settings.publications.name / publication_id)
    os.replace(tmp, settings.published / CURRENT)
    for name in SERVED:
        entry = settings.published / name
        if (target / name).exists() and not entry.is_symlink():
            link_tmp = settings.published / f".{name}.tmp"
            link_tmp.unlink(missing_ok=True)
            link_tmp.symlink_to(Path(CURRENT) / name)
            os.replace(link_tmp, entry)
    descriptor = os.open(settings.published, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def metric_notes(settings: Settings) -> list[str]:
    """What a publication of the build warehouse would say of its metrics without failing: a declared metric
    with no rows (the report shows it as "no data yet"), and metrics the served publication has that this one
    would not (a plugin removed, or a metric dropped from its declaration), which would vanish from BI."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        declared = dict(con.execute("select metric_id, plugin from dim_metrics").fetchall())
        measured = {row[0] for row in con.execute("select distinct metric_id from mart_metric_monthly").fetchall()}
    notes = [f"metric {metric} (plugin {plugin}) has no rows yet: it is published without data"
             for metric, plugin in sorted(declared.items()) if metric not in measured]
    served = settings.published / "kpo.duckdb"
    if served.exists():
        with duckdb.connect(str(served), read_only=True) as con:
            before = dict(con.execute("select metric_id, plugin from dim_metrics").fetchall())
        gone = sorted(set(before) - set(declared))
        if gone:
            notes.append(f"{len(gone)} metric(s) of the last publication are no longer declared and leave this one "
                         f"(their plugin was removed, or dropped them): "
                         + ", ".join(f"{metric} (plugin {before[metric]})" for metric in gone))
    return notes


def current_id(settings: Settings) -> str | None:
    link = settings.published / CURRENT
    return Path(os.readlink(link)).name if link.is_symlink() else None


def list_publications(settings: Settings) -> list[Publication]:
    """Complete publications, newest first."""
    found = []
    for folder in settings.publications.iterdir() if settings.publications.exists() else []:
        manifest = folder / "manifest.json"
        if folder.is_dir() and not folder.name.startswith(".") and manifest.exists():
            found.append(Publication(folder.name, folder, json.loads(manifest.read_text())))
    return sorted(found, key=lambda p: p.publication_id, reverse=True)


def prune(settings: Settings) -> None:
    keep = settings.keep_publications
    serving = current_id(settings)
    for old in list_publications(settings)[keep:]:
        if old.publication_id != serving:
            shutil.rmtree(old.path, ignore_errors=True)


@dataclass(frozen=True)
class Hold:
    """Serving held by a rollback: what it serves, since when (UTC), and what it replaced."""

    publication_id: str
    since: str
    replaced: str | None

    def __str__(self) -> str:
        return (f"serving is held at {self.publication_id} since {self.since[:16].replace('T', ' ')} UTC (kpo publish "
                f"rollback): runs keep their publications under publications/ but serve none until `kpo publish "
                f"resume`")


def held(settings: Settings) -> Hold | None:
    path = settings.publications / HOLD
    if not path.exists():
        return None
    try:
        return Hold(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:  # written whole (replace_text): only a hand edit gets here
        raise ValueError(f"{path}: not a hold kpo wrote ({exc}); `kpo publish resume` replaces it") from None


def rollback(settings: Settings, publication_id: str | None = None) -> str:
    """Serve an earlier publication (default: the one before the current) and hold it: a rollback is undone
    by `resume`, never by the next night's run, which would serve again what the warehouse still holds."""
    publications = [p.publication_id for p in list_publications(settings)]
    serving = current_id(settings)
    if publication_id is None:
        older = [p for p in publications if serving is None or p < serving]
        if not older:
            raise ValueError("there is no earlier publication to roll back to")
        publication_id = older[0]
    if publication_id not in publications:
        raise ValueError(f"no publication {publication_id!r}; kept: {', '.join(publications) or 'none'}")
    # The hold first: killed between the two, no run serves until the rollback is run again or resumed.
    since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    replace_text(settings.publications / HOLD, json.dumps(
        {"publication_id": publication_id, "since": since, "replaced": serving}))
    serve(settings, publication_id)
    return publication_id


def resume(settings: Settings, publication_id: str | None = None) -> str:
    """End a rollback's hold: serve a kept publication (default: the newest) and let runs serve theirs again."""
    publications = [p.publication_id for p in list_publications(settings)]
    if not publications:
        raise ValueError("there is no publication to serve")
    publication_id = publication_id or publications[0]
    if publication_id not in publications:
        raise ValueError(f"no publication {publication_id!r}; kept: {', '.join(publications)}")
    serve(settings, publication_id)
    (settings.publications / HOLD).unlink(missing_ok=True)
    return publication_id
