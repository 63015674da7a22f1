"""Landing: one inbox file → typed, validated, pseudonymised Parquet (+ quarantined rows).

The content hash is a file's identity: `landing/<plugin>/<table>/load_date=D/<sha256>.parquet`.
A file whose hash has landed before is archived without loading again, so dropping the same
extract twice changes nothing. Every write goes to a temporary name first and the Parquet rename is
the commit point: a crash before it leaves nothing landed, a crash after it is finished by the next
run (the file is then recognised as a duplicate and archived).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import duckdb

from pipelines import faults
from pipelines.date_order import order_problem
from pipelines.files import replace_text
from pipelines.reference import Reference, load_reference
from pipelines.repeats import collapse_repeats
from pipelines.row_checks import (
    LoadError,
    atomic_target,
    build_checked,
    check_headers,
    fsync_replace,
    identifier_flag_count,
    too_many_quarantined,
    write_outputs,
)
from pipelines.settings import Settings
from pipelines.typing_sql import (
    SQL_TYPES,
    landed_names,
    quote_ident,
)
from plugins.contract import Plugin, Table
from plugins.readers import ExtractError

LINEAGE_COLUMNS = ("_source_file", "_source_line", "_content_sha256", "_load_date", "_loaded_at")


class StillArriving(Exception):  # noqa: N818 - a state of the file, not an error
    """The extract changed while it was being landed: it is still being written."""


class KeyMismatch(Exception):  # noqa: N818 - named for what it finds
    """The pseudonymisation key is not the one the landed history was pseudonymised with."""


KEY_ID = "_pseudonymisation_key_id"  # under landing/: the fingerprint of the key every landed load was made with


def key_id(key: bytes) -> str:
    """A fingerprint of the key that does not reveal it: its HMAC of a fixed text."""
    return hmac.new(key, b"kpo pseudonymisation key id", hashlib.sha256).hexdigest()[:16]


def checked_key(settings: Settings) -> bytes:
    """The pseudonymisation key, if it is the one the landed history was pseudonymised with (the first load records
    its fingerprint). Another key would give the same patient another pseudonym from tonight's loads on, without a
    word: a key lost, a job started without KPO_PSEUDONYMISATION_KEY (which falls back to the demo key), or a
    rotation half done. Changing it on purpose means re-landing every load date under the new one."""
    key, path = settings.hmac_key(), settings.landing / KEY_ID
    try:
        recorded = path.read_text().strip()
    except FileNotFoundError:
        replace_text(path, key_id(key) + "\n")
        return key
    if recorded != key_id(key):
        dates = sorted(folder.name.removeprefix("load_date=") for folder in settings.archive.glob("*/load_date=*"))
        rekey = f"kpo backfill --start {dates[0]} --end {dates[-1]}" if dates else "kpo backfill over every load date"
        raise KeyMismatch(
            f"the pseudonymisation key (id {key_id(key)}) is not the one the landed history was pseudonymised with "
            f"(id {recorded}, in {path}): the same patient would get another pseudonym from this load on. Set "
            f"KPO_PSEUDONYMISATION_KEY to that key, then `kpo run` lands what waits in the inbox (the inbox sensor "
            f"does not start a run for the same files twice). To change the key on purpose, delete {path} and "
            f"re-land every load date under the new key: {rekey}")
    return key


class DamagedLoad(Exception):
    """A landed load whose Parquet footer cannot be read (a file cut short). Read once per file (landed_columns
    keeps the names), so damage that keeps the file's size and time is met by the dbt build instead, which fails
    naming the file (DuckDB's error)."""


@dataclass(frozen=True)
class FileLoad:
    plugin: str
    table: str
    source_file: str
    content_sha256: str
    load_date: str
    status: str  # landed | duplicate | rejected | waiting (still being written: left in the inbox)
    run_id: str = ""
    audited: bool = False  # set by the landing suite's check; unaudited loads are audited by the next run
    rows_landed: int = 0
    rows_quarantined: int = 0
    identifier_flags: int = 0
    warnings: tuple[str, ...] = ()
    problem: str | None = None
    landing_path: str | None = None
    quarantine_path: str | None = None
    # the day the extract was first landed: its `not_future` values were judged against it, and a backfill
    # judges them against it again, so re-landing a day gives what landing it gave, whenever it runs
    received_on: str | None = None
    # when the load was first landed (UTC), its rows' _loaded_at: among a load date's loads, the latest landed
    # version of a record wins, and a backfill re-lands each load at its first time so the order stays
    loaded_at: str | None = None
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return asdict(self)


def archived_on(settings: Settings, load_date: dt.date) -> bool:
    """Whether any extract of any source was archived under `load_date`: a backfill of a date with none has
    nothing to re-land (`kpo backfill` skips it; see ingest.relanding_nothing for the UI's)."""
    return any(folder.is_dir() for folder in settings.archive.glob(f"*/load_date={load_date.isoformat()}"))


def relanded_marker(settings: Settings) -> Path:
    """Present from a backfill's re-landing until the next dbt build of every model in full: a re-landed load can
    lack rows (quarantined by a plugin fixed since) that incremental models still hold, and only a full rebuild
    drops them. A marker, not the run's tags, since the build may come in a later run (a backfill of the landing
    assets alone), and a backfill of some models alone re-lands nothing."""
    return settings.landing / ".relanded"


def reland_archive(settings: Settings, plugin: Plugin, table: Table, load_date: dt.date,
                   run_id: str = "") -> list[FileLoad]:
    """Backfill a load date: land again every archived extract of that date (e.g. after a plugin fix).
    Each replaces its own Parquet file atomically, so re-running a day gives identical marts."""
    ensure_schema_file(settings, plugin, table)
    table = with_reference_values(table, load_reference(()))
    folder = settings.archive / plugin.name / f"load_date={load_date.isoformat()}"
    files = sorted(p for p in folder.glob("*__*") if fnmatch(p.name.split("__", 1)[1], table.file_pattern))
    loads, seen = [], set()
    for path in files:
        sha = content_sha256(path)
        if sha in seen:  # the same extract dropped under two names was archived under both and landed once
            loads.append(FileLoad(plugin=plugin.name, table=table.name, source_file=path.name.split("__", 1)[1],
                                  content_sha256=sha, load_date=load_date.isoformat(), status="duplicate",
                                  run_id=run_id))
            continue
        seen.add(sha)
        try:
            loads.append(land_file(settings, plugin, table, path, load_date, sha, run_id, reprocess=True))
        except LoadError as exc:  # e.g. the declaration now requires a column this older extract never had
            loads.append(FileLoad(plugin=plugin.name, table=table.name, source_file=path.name.split("__", 1)[1],
                                  content_sha256=sha, load_date=load_date.isoformat(), status="rejected",
                                  run_id=run_id, problem=f"{exc} (the extract stays archived)"))
    if any(load.status == "landed" for load in loads):
        replace_text(relanded_marker(settings), f"load date {load_date} re-landed by run {run_id}\n")
    return loads


def content_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_dir(settings: Settings, plugin: Plugin, table: Table) -> Path:
    return settings.landing / plugin.name / table.name


def landed_files(settings: Settings, plugin: Plugin, table: Table) -> list[Path]:
    """Every landed load of a table, in load-date order: `load_date=D/<sha256>.parquet`."""
    return sorted(table_dir(settings, plugin, table).glob("load_date=*/*.parquet"))


def landed_load_date(parquet: Path) -> str:
    """The load date of a landed load, from its folder."""
    return parquet.parent.name.removeprefix("load_date=")


def landed_hashes(settings: Settings, plugin: Plugin, table: Table) -> set[str]:
    return {p.stem for p in landed_files(settings, plugin, table)}


def is_upload(path: Path) -> bool:
    """A file in the inbox that is meant to load: not hidden, not a partial upload (.part/.tmp)."""
    return not path.name.startswith(".") and path.suffix not in {".part", ".tmp"}


def matches_pattern(table: Table, name: str) -> bool:
    """Whether a file name is one of `table`'s extracts. A gzip-compressed extract (`x.csv.gz`, as systems send
    large exports) is taken where its uncompressed name would be: the readers decompress it."""
    return fnmatch(name, table.file_pattern) or (name.lower().endswith(".gz")
                                                  and fnmatch(name[:-3], table.file_pattern))


def picked_up(table: Table, path: Path) -> bool:
    """Whether the nightly run takes this file (in its plugin's inbox folder) for `table`."""
    return is_upload(path) and matches_pattern(table, path.name)


def inbox_files(settings: Settings, plugin: Plugin, table: Table) -> list[Path]:
    """Files waiting for this table, in the order they arrived (modification time, then name); hidden and partial
    uploads (.part/.tmp) are left alone. Landed in that order, each takes a later landing time than the one
    before, and among a load date's versions of a record the latest landed wins: a correction dropped after the
    extract it corrects wins whatever the two are called (in name order, `x_correction.csv` lost to `x_resend.csv`)."""
    folder = settings.inbox / plugin.name
    if not folder.is_dir():
        return []
    arrived = {}
    for path in folder.iterdir():
        if picked_up(table, path):
            try:
                if path.is_file():
                    arrived[path] = (path.stat().st_mtime_ns, path.name)
            except FileNotFoundError:  # landed and archived by a run while the sensor was listing the inbox
                pass
    return sorted(arrived, key=arrived.__getitem__)


def unclaimed_inbox_files(settings: Settings, plugins: tuple[Plugin, ...],
                          claimed: set[Path] | None = None) -> list[str]:
    """Uploads in the inbox (as paths under it) that no run will ever load: outside any plugin's folder, or
    named to no table's pattern. Nothing moves them (they may be another system's), so every run names them.
    `claimed`: the files the tables take, when the caller has just listed them."""
    if not settings.inbox.is_dir():
        return []
    if claimed is None:
        claimed = {path for plugin in plugins for table in plugin.tables
                   for path in inbox_files(settings, plugin, table)}
    uploads = (path for path in settings.inbox.rglob("*") if path.is_file() and path not in claimed)
    return sorted(str(name) for name in (path.relative_to(settings.inbox) for path in uploads)
                  if is_upload(name) and not any(part.startswith(".") for part in name.parts))


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB bounded in memory: large extracts spill to disk instead of growing RSS."""
    spill = settings.root / "tmp" / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": "600MB", "temp_directory": str(spill)})
    con.execute("create macro quote_text(v) as '''' || left(cast(v as varchar), 80) || ''''")
    return con


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def land_file(settings: Settings, plugin: Plugin, table: Table, path: Path, load_date: dt.date,
              sha: str, run_id: str = "", reprocess: bool = False,
              signature: tuple[int, int] | None = None) -> FileLoad:
    """Land one extract. `reprocess` re-lands an archived file in place (a backfill of its load date).
    `signature` is the file's size and modification time when `sha` was taken: if either has changed by the
    time the load would commit, the file is still being written and nothing is kept."""
    signature = signature or _signature(path)
    source_name = path.name.split("__", 1)[1] if reprocess else path.name
    base = dict(plugin=plugin.name, table=table.name, source_file=source_name, content_sha256=sha,
                load_date=load_date.isoformat(), run_id=run_id)
    if not reprocess and sha in landed_hashes(settings, plugin, table):
        archive_file(settings, plugin, path, sha, load_date)
        return FileLoad(**base, status="duplicate")
    day = f"load_date={load_date.isoformat()}"
    parquet = table_dir(settings, plugin, table) / day / f"{sha}.parquet"
    quarantine = settings.quarantine / plugin.name / table.name / day / f"{sha}.csv"
    received = first_received(parquet, load_date) if reprocess else settings.today()
    key = checked_key(settings)  # first: under another key nothing is read or written
    loaded_at = (first_landed(settings, plugin, table, parquet, path) if reprocess
                 else dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "))
    con = connect(settings)
    try:
        relation = table.reader(path, con)
        relation.create_view("raw_extract")
        mapping, warnings = check_headers(table, relation, path)
        build_checked(con, table, mapping, path, numbered="_line" in relation.columns, received=received)
        warnings += collapse_repeats(con, table, path, [header for header in mapping.values() if header])
        lineage = {"file": source_name, "sha": sha, "load_date": load_date.isoformat(), "loaded_at": loaded_at}
        # before anything is written; named as dropped (a backfill reads the archived copy, named hash__name)
        named = path.with_name(source_name)
        if problem := (order_problem(con, table, named, received)
                       or too_many_quarantined(con, plugin.name, table, named)):
            raise LoadError(problem)
        good, bad, tmp_parquet = write_outputs(con, table, key, lineage, parquet, quarantine)
        if good + bad == 0:
            warnings.append(f"{path.name}: no rows after the header (an empty extract)")
        flags = identifier_flag_count(con, table, tmp_parquet)
    except (ExtractError, duckdb.Error) as exc:
        message = error_summary(exc)
        raise LoadError(message if message.startswith(f"{path.name}: ") else f"{path.name}: {message}") from exc
    finally:
        con.close()
    if not reprocess and _signature(path) != signature:  # written to while it was read: keep nothing
        tmp_parquet.unlink(missing_ok=True)
        quarantine.unlink(missing_ok=True)
        raise StillArriving(f"{path.name}: changed while it was being landed (still being written)")
    load = FileLoad(**base, status="landed", rows_landed=good, rows_quarantined=bad, identifier_flags=flags,
                    warnings=tuple(warnings), landing_path=str(parquet),
                    quarantine_path=str(quarantine) if bad else None, received_on=received.isoformat(),
                    loaded_at=loaded_at)
    record = parquet.with_suffix(".load.json")
    replace_text(record, json.dumps(load.as_json(), indent=2))  # a backfill re-lands beside the old record
    faults.pause("ingest")
    fsync_replace(tmp_parquet, parquet)  # the commit point
    if not reprocess:
        archive_file(settings, plugin, path, sha, load_date)
    return load


def first_received(parquet: Path, load_date: dt.date) -> dt.date:
    """The day a load re-landed in a backfill was first landed, from its load record; the load date when the
    record does not say (a load landed before records kept it, or one its suite rejected), which is the day
    a nightly run lands an extract."""
    try:
        return dt.date.fromisoformat(json.loads(parquet.with_suffix(".load.json").read_text())["received_on"])
    except (OSError, ValueError, KeyError, TypeError):
        return load_date


def rejected_loads_dir(settings: Settings, plugin: Plugin, table: Table, parquet: Path) -> Path:
    """Where a landed load (`load_date=D/<sha256>.parquet`) its suite rejected is kept, with its record and reason."""
    return settings.quarantine / plugin.name / table.name / "rejected-loads" / parquet.parent.name


def first_landed(settings: Settings, plugin: Plugin, table: Table, parquet: Path, archived: Path) -> str:
    """When a load a backfill re-lands was first landed, so that it keeps its place among its date's loads. A
    staging model keeps the latest landed version of a record by load date, then landing time: re-landed at the
    backfill's own time, in the archive's order (by content hash), a date's loads would be ordered by chance, and a
    correction that arrived later that day could lose to the extract it corrected. From the load's record (landed,
    or rejected by its suite); from its landed rows (a load landed before records kept the time); else when its
    extract arrived (the archived extract keeps the inbox file's modification time)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    for record in (parquet.with_suffix(".load.json"),
                   rejected_loads_dir(settings, plugin, table, parquet) / f"{parquet.stem}.load.json"):
        try:
            if stamp := json.loads(record.read_text()).get("loaded_at"):
                return stamp
        except (OSError, ValueError, AttributeError):
            pass
    try:
        if (landed := pc.max(pq.read_table(parquet, columns=["_loaded_at"])["_loaded_at"]).as_py()) is not None:
            return landed.isoformat(sep=" ")
    except (OSError, KeyError, pa.ArrowException):
        pass
    return dt.datetime.fromtimestamp(archived.stat().st_mtime, dt.UTC).replace(tzinfo=None).isoformat(sep=" ")


# DuckDB's reasons for a CSV line it cannot read, kept after its "CSV Error on Line: N" (each line of its error is
# matched whole: the offending line itself, which may span lines, never reaches a message), said plainly.
CSV_REASONS = (
    (re.compile(r"Expected Number of Columns: \d+ Found: \d+"), None),
    (re.compile(r"Value with unterminated quote found\."), "a quoted value is never closed"),
    (re.compile(r"Invalid unicode \(byte sequence mismatch\) detected\..*"),
     "the line is not UTF-8 (export the file as UTF-8, not Windows or Latin-1 text)"),
)


def error_summary(exc: Exception) -> str:
    """The first line of a reader or DuckDB error, plus DuckDB's reason for a CSV line it cannot read (a ragged
    row's column counts, an unclosed quote, bytes that are not UTF-8). Never the offending line itself:
    messages reach run logs and alerts, which must hold no identifiers."""
    lines = str(exc).splitlines()
    detail = [plain or line.strip() for line in lines[1:] for pattern, plain in CSV_REASONS
              if pattern.fullmatch(line.strip())]
    return "; ".join([lines[0], *detail]) if lines else type(exc).__name__


def with_reference_values(table: Table, reference: Reference) -> Table:
    """Fill `allowed` from reference data, so an unknown CSU or site code is quarantined."""
    columns = tuple(
        dataclasses.replace(c, allowed=reference.allowed_values(c.allowed_reference)) if c.allowed_reference else c
        for c in table.columns)
    return dataclasses.replace(table, columns=columns)


def content_name(sha: str, name: str) -> str:
    """The name an extract is kept under in archive/ and quarantine/: its content hash, then its name as dropped.
    Two extracts dropped under one name on one load date keep both, and the same bytes keep one copy."""
    return f"{sha[:12]}__{name}"


def archive_file(settings: Settings, plugin: Plugin, path: Path, sha: str, load_date: dt.date) -> Path:
    target = settings.archive / plugin.name / f"load_date={load_date.isoformat()}" / content_name(sha, path.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        path.unlink()
    else:
        shutil.move(path, target)
    return target


def reject_file(settings: Settings, plugin: Plugin, path: Path, problem: str, load_date: dt.date,
                sha: str | None = None) -> Path:
    """Move an unusable extract out of the inbox with its reason, so one bad file fails one run. Kept under
    `rejected/load_date=D/<hash>__<name>` with `<hash>__<name>.reason.txt` beside it: rejected extracts are never
    archived, so a second rejected file of the same name that day must not replace the first. The same bytes
    rejected again (dropped twice) are kept once, and their reason file gains the new reason only if it differs
    (a plugin changed since), so retries never pile up copies or repeated lines."""
    sha = sha or content_sha256(path)
    folder = settings.quarantine / plugin.name / "rejected" / f"load_date={load_date.isoformat()}"
    target = folder / content_name(sha, path.name)
    folder.mkdir(parents=True, exist_ok=True)
    if target.exists():
        path.unlink()
    else:
        shutil.move(path, target)
    reason = target.with_name(target.name + ".reason.txt")
    try:
        known = "\n" + reason.read_text()
    except FileNotFoundError:
        known = ""
    if f"\n{problem}\n" not in known:
        with reason.open("a") as handle:
            handle.write(problem + "\n")
    return target


def land_inbox(settings: Settings, plugin: Plugin, table: Table, load_date: dt.date,
               run_id: str = "", min_age_seconds: float = 0) -> list[FileLoad]:
    """Land every inbox file for `table`; unusable files are rejected, and reported, not raised. A file
    modified less than `min_age_seconds` ago, or while it is read, may still be being written: it stays in
    the inbox for a later run (status `waiting`), since landing half of it would publish half an extract."""
    ensure_schema_file(settings, plugin, table)
    table = with_reference_values(table, load_reference(()))
    loads = []
    for path in inbox_files(settings, plugin, table):
        signature = _signature(path)
        base = dict(plugin=plugin.name, table=table.name, source_file=path.name, load_date=load_date.isoformat(),
                    run_id=run_id)
        age = time.time() - signature[1] / 1e9
        if age < min_age_seconds:
            loads.append(FileLoad(**base, content_sha256="", status="waiting",
                                  problem=f"{path.name}: modified {max(age, 0):.0f} s ago, under the "
                                          f"{min_age_seconds:.0f} s a file must rest (it may still be being "
                                          "written): left in the inbox for a later run"))
            continue
        sha = content_sha256(path)
        try:
            loads.append(land_file(settings, plugin, table, path, load_date, sha, run_id, signature=signature))
        except StillArriving as exc:
            loads.append(FileLoad(**base, content_sha256=sha, status="waiting",
                                  problem=f"{exc}: left in the inbox for a later run"))
        except LoadError as exc:
            reject_file(settings, plugin, path, str(exc), load_date, sha)
            loads.append(FileLoad(**base, content_sha256=sha, status="rejected", problem=str(exc)))
    return loads


@dataclass(frozen=True)
class DeclarationDrift:
    """Landed loads that lack columns the table now declares: landed under an earlier declaration (a column
    renamed or added since), their rows read those columns as blank until their load dates are re-landed."""

    plugin: str
    table: str
    load_dates: tuple[str, ...]
    files: int
    missing: tuple[str, ...]
    required: tuple[str, ...]  # the missing columns the declaration requires a value in
    optional: bool = False  # every missing column is declared optional

    def __str__(self) -> str:
        first, last = self.load_dates[0], self.load_dates[-1]
        dates = first if first == last else f"{first} to {last}"
        required = (f"; {', '.join(self.required)} must hold a value, so nothing is published until they are "
                    "re-landed") if self.required else ""
        backfill = f"kpo backfill --start {first} --end {last}"
        if self.optional:  # declared optional already: new to the extract, most likely
            remedy = (f"Nothing to do if it is new to the extract; if their extracts hold it under another name, "
                      f"re-land them under this declaration: {backfill}")
        else:
            remedy = (f"If their extracts hold it (it was renamed, say), re-land them under this declaration: "
                      f"{backfill}; if it is new to the extract, declare it optional=True"
                      f"{' and not required' if self.required else ''}")
        return (f"{self.plugin}/{self.table}: {self.files} landed load(s) of load date(s) {dates} were landed under "
                f"an earlier declaration and lack column(s) {', '.join(self.missing)}, blank for their rows{required}. "
                f"{remedy}")


def declaration_drift(settings: Settings, plugin: Plugin, table: Table) -> DeclarationDrift | None:
    """Compare every landed load's columns with the columns the table declares now."""
    declared = landed_names(table)
    required = {c.name for c in table.columns if c.required and not c.identifier}
    dates, files, missing = set(), 0, set()
    for path, names in landed_columns(settings, plugin, table).items():
        lacking = set(declared) - set(names)
        if lacking:
            dates.add(landed_load_date(path))
            files += 1
            missing |= lacking
    if not files:
        return None
    ordered = tuple(name for name in declared if name in missing)
    optional = {c.name for c in table.columns if c.optional}
    return DeclarationDrift(plugin.name, table.name, tuple(sorted(dates)), files, ordered,
                            tuple(name for name in ordered if name in required), set(ordered) <= optional)


def landed_columns(settings: Settings, plugin: Plugin, table: Table) -> dict[Path, list[str]]:
    """The columns of every landed load, from its Parquet footer. Every run and `kpo plugin check` ask, and a
    footer costs ~1 ms to read, so a table's loads would cost seconds a run after a few years of nightly
    loads: the names are kept in `_landed_columns.json` beside them, each with the inode, size and
    modification time of the file it was read from, and a footer is read again only when those change (a
    backfill re-lands a load in place). The index is only a cache: lost or unreadable, it is rebuilt."""
    root = table_dir(settings, plugin, table)
    index = root / "_landed_columns.json"
    try:
        known = json.loads(index.read_text())
    except (OSError, ValueError):
        known = {}
    columns, fresh = {}, {}
    for path in landed_files(settings, plugin, table):
        stat = path.stat()
        key, stamp = path.relative_to(root).as_posix(), [stat.st_ino, stat.st_size, stat.st_mtime_ns]
        entry = known.get(key)
        names = entry[1] if isinstance(entry, list) and len(entry) == 2 and entry[0] == stamp else None
        columns[path] = names if names is not None else _landed_schema(settings, plugin, path).names
        fresh[key] = [stamp, columns[path]]
    if fresh != known and root.is_dir():
        replace_text(index, json.dumps(fresh))  # a run and a plugin check may both write it
    return columns


def _landed_schema(settings: Settings, plugin: Plugin, path: Path):
    """A landed load's Parquet schema, or DamagedLoad naming the file and the remedy: its load date re-landed
    from the archive, which replaces the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        day = landed_load_date(path)
        archived = settings.archive / plugin.name / f"load_date={day}"
        raise DamagedLoad(
            f"{path}: a landed load that cannot be read ({exc}). Its extract is archived under {archived}: "
            f"re-land that load date with `kpo backfill --start {day} --end {day}`") from None


def ensure_schema_file(settings: Settings, plugin: Plugin, table: Table) -> Path:
    """An empty, typed Parquet file per table, so dbt's source glob always matches and has every column."""
    target = table_dir(settings, plugin, table) / "_schema.parquet"
    columns = [(n, landed_type(table, n)) for n in landed_names(table)]
    columns += [("_source_file", "varchar"), ("_source_line", "bigint"), ("_content_sha256", "varchar"),
                ("_load_date", "date"), ("_loaded_at", "timestamp")]
    signature = json.dumps(columns)
    marker = target.with_suffix(".json")
    if target.exists() and marker.exists() and marker.read_text() == signature:
        return target
    select = ", ".join(f"cast(null as {sql_type}) as {quote_ident(name)}" for name, sql_type in columns)
    tmp = atomic_target(target)
    with duckdb.connect() as con:
        con.execute(f"copy (select {select} limit 0) to '{tmp}' (format parquet)")
    fsync_replace(tmp, target)
    marker.write_text(signature)
    return target


def landed_type(table: Table, landed_name: str) -> str:
    for column in table.columns:
        if column.name == landed_name:
            return SQL_TYPES[column.type]
    return "varchar"  # pseudonym and status columns
