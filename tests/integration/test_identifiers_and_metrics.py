"""Issue 3 on the demo: every metric of every source reaches mart_metric_monthly, and no raw NHS number
from the extracts appears in any file under KPO_HOME except the inbox and archive (landing, quarantine,
warehouse, published, logs, Dagster storage, data docs)."""

import contextlib
import re
import sqlite3
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from plugins import registry

pytestmark = pytest.mark.xdist_group("demo")
NUMBER = re.compile(rb"(?<!\d)(\d{3}[ -]?\d{3}[ -]?\d{4})(?!\d)")
KEPT_RAW = ("inbox", "archive")


def test_every_declared_metric_is_published(demo_home):
    declared = {m.metric_id for p in registry.discover() for m in p.metrics}
    with duckdb.connect(str(demo_home / "published" / "kpo.duckdb"), read_only=True) as con:
        published = {r[0] for r in con.execute("select distinct metric_id from mart_metric_monthly").fetchall()}
        trust = {r[0] for r in con.execute("select distinct metric_id from mart_metric_monthly "
                                           "where series_key = 'trust'").fetchall()}
    assert declared <= published, declared - published
    assert declared <= trust, declared - trust


def numbers_in(data: bytes) -> set[str]:
    """The digits of every number shaped like an NHS number in `data`."""
    return {re.sub(rb"\D", b"", m).decode() for m in NUMBER.findall(data)}


def nhs_numbers_in_extracts(home: Path) -> set[str]:
    numbers: set[str] = set()
    for path in (home / "archive").rglob("*"):
        if path.suffix == ".xlsx":
            for row in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python():
                cells = [str(c) for c in row]
                numbers |= {re.sub(r"\D", "", c) for c in cells if re.fullmatch(r"\d{3}[ -]?\d{3}[ -]?\d{4}", c)}
        elif path.is_file():
            numbers |= numbers_in(path.read_bytes())
    return numbers


def strings_in_duckdb(path: Path) -> set[str]:
    found: set[str] = set()
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute("select table_name, column_name from duckdb_columns() where data_type = 'VARCHAR' "
                              "and not internal").fetchall()
        for table, column in columns:
            rows = con.execute(f'select distinct regexp_replace("{column}", \'\\D\', \'\', \'g\') '
                               f'from "{table}" where regexp_matches("{column}", \'\\d{{3}}.?\\d{{3}}.?\\d{{4}}\')')
            found |= {r[0] for r in rows.fetchall()}
    return found


def strings_in_parquet(path: Path) -> set[str]:
    table = pq.read_table(path)
    found: set[str] = set()
    for column in table.columns:
        if str(column.type) in {"string", "large_string"}:
            found |= {re.sub(r"\D", "", v) for v in column.to_pylist() if v and re.search(r"\d{3}.?\d{3}.?\d{4}", v)}
    return found


def strings_in_sqlite(path: Path) -> set[str]:
    """Numbers shaped like NHS numbers in any value of a SQLite database (Dagster's run and event storage),
    its write-ahead log included. Value by value, not the file's bytes: SQLite stores a row's fields side by
    side, so a timestamp ending in microseconds beside one starting with the year reads as ten digits."""
    found: set[str] = set()
    with contextlib.closing(sqlite3.connect(path)) as con:
        tables = [name for (name,) in con.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            for row in con.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        value = value.encode()
                    if isinstance(value, bytes):
                        found |= numbers_in(value)
    return found


def test_no_raw_nhs_number_outside_the_inbox_and_archive(demo_home):
    numbers = nhs_numbers_in_extracts(demo_home)
    assert len(numbers) > 1000, "the demo extracts should carry NHS numbers"
    leaks: dict[str, set[str]] = {}
    for path in demo_home.rglob("*"):
        relative = path.relative_to(demo_home)
        if not path.is_file() or path.is_symlink() or relative.parts[0] in KEPT_RAW:
            continue
        if path.suffix == ".duckdb":
            found = strings_in_duckdb(path)
        elif path.suffix == ".parquet":
            found = strings_in_parquet(path)
        elif path.suffix == ".db":
            found = strings_in_sqlite(path)
        elif path.name.endswith((".db-wal", ".db-shm")):
            continue  # read through their database above
        else:
            found = numbers_in(path.read_bytes())
        if found & numbers:
            leaks[str(relative)] = found & numbers
    assert not leaks, {k: sorted(v)[:3] for k, v in leaks.items()}
