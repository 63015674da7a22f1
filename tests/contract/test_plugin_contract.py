"""The contract every plugin honours, built-in, scaffolded or installed (parametrised in conftest.py):
a valid declaration aligned to real commitments; a synthetic extract that lands with nothing
quarantined; one bad row quarantined alone; no raw identifier anywhere after landing; idempotent loads."""

import csv
import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from pipelines import plugin_check
from pipelines.landing import land_inbox
from pipelines.reference import load_reference
from pipelines.settings import Settings
from plugins import registry
from plugins.contract import Plugin, SyntheticRequest, Table
from plugins.validation import declaration_problems

LOAD_DATE = dt.date(2024, 5, 1)
SCALE = 0.05
_LANDED: dict[str, tuple[Settings, list[Path]]] = {}


def reference(plugin: Plugin):
    return load_reference((*registry.discover(), plugin) if plugin.origin != "built-in" else registry.discover())


def generate(plugin: Plugin, home: Path) -> tuple[Settings, list[Path]]:
    settings = Settings(home=home, pseudonymisation_key="contract")
    written = plugin.generate(SyntheticRequest(settings.inbox / plugin.name, seed=3,
                                               projects=reference(plugin).projects, scale=SCALE))
    return settings, written


def landed_home(plugin: Plugin, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[Path]]:
    if plugin.name not in _LANDED:
        settings, written = generate(plugin, tmp_path_factory.mktemp(f"landed-{plugin.name}"))
        copies = [shutil.copy(p, settings.root / p.name) for p in written]  # kept to drop again later
        for table in plugin.tables:
            land_inbox(settings, plugin, table, LOAD_DATE)
        _LANDED[plugin.name] = (settings, [Path(c) for c in copies])
    return _LANDED[plugin.name]


def test_the_declaration_is_valid_and_aligned_to_real_commitments(plugin):
    assert declaration_problems(plugin) == []
    metric_ids = {m.metric_id for p in registry.discover() for m in p.metrics} | {m.metric_id for m in plugin.metrics}
    assert plugin_check.reference_problems(plugin, reference(plugin), metric_ids) == []
    assert plugin_check.suite_problems(plugin) == [] and plugin_check.rule_problems(plugin) == []
    assert all(m.direction in {"increase", "decrease", "neutral"} for m in plugin.metrics)
    assert plugin.metrics, "a plugin contributes at least one metric"


def test_the_synthetic_extract_lands_with_nothing_quarantined(plugin, tmp_path_factory):
    settings, _ = landed_home(plugin, tmp_path_factory)
    records = list(settings.landing.rglob("*.load.json"))
    assert records, "nothing landed"
    assert not list(settings.quarantine.rglob("*.csv")), "synthetic rows were quarantined"
    assert not list(settings.quarantine.rglob("rejected/*")), "a synthetic extract was rejected"


def _table_and_file(plugin: Plugin, written: list[Path]) -> tuple[Table, Path]:
    for table in plugin.tables:
        files = [p for p in written if plugin_check.table_for(plugin, p) is table]
        if files:
            return table, files[0]
    raise AssertionError("the generator wrote no file any table accepts")


def _corrupt_csv(path: Path, header: str, line: int) -> None:
    encoding = "utf-8-sig" if path.read_bytes().startswith(b"\xef\xbb\xbf") else "utf-8"
    with path.open(newline="", encoding=encoding) as handle:
        rows = list(csv.reader(handle))
    rows[line - 1][rows[0].index(header)] = "31/02/20x1"
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(rows)


def _corrupt_xlsx(path: Path, header: str, line: int) -> None:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    rows[line - 1][[str(h) for h in rows[0]].index(header)] = "31/02/20x1"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, str(value) if isinstance(value, dt.datetime | dt.date) else value)
    book.close()


def test_one_bad_row_is_quarantined_alone_with_its_line(plugin, tmp_path):
    settings, written = generate(plugin, tmp_path)
    table, path = _table_and_file(plugin, written)
    header = table.column(table.event_date).source_header
    line = 3  # the second record
    (_corrupt_xlsx if path.suffix == ".xlsx" else _corrupt_csv)(path, header, line)
    loads = [load for t in plugin.tables for load in land_inbox(settings, plugin, t, LOAD_DATE)]
    assert sum(load.rows_quarantined for load in loads) == 1
    [quarantine] = [Path(load.quarantine_path) for load in loads if load.quarantine_path]
    with quarantine.open(newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["source_file"], row["line"], row["columns"]) == (path.name, str(line), header)
    assert "31/02/20x1" in row["reason"]


def _raw_identifiers(plugin: Plugin, files: list[Path]) -> set[str]:
    raw: set[str] = set()
    for table in plugin.tables:
        headers = [c.source_header for c in table.columns if c.identifier]
        for path in files:
            if not headers or plugin_check.table_for(plugin, path) is not table:
                continue
            with duckdb.connect() as con:
                relation = table.reader(path, con)
                for header in headers:
                    raw |= {v for (v,) in relation.select(f'"{header}"').fetchall() if v}
    return {re.sub(r"[\s-]", "", v) for v in raw} | raw


def test_no_raw_identifier_is_left_after_landing(plugin, tmp_path_factory):
    settings, copies = landed_home(plugin, tmp_path_factory)
    raw = _raw_identifiers(plugin, copies)
    found: set[str] = set()
    for parquet in settings.landing.rglob("*.parquet"):
        for column in pq.read_table(parquet).to_pydict().values():
            found |= {str(v) for v in column if v is not None} & raw
    for text_file in [*settings.quarantine.rglob("*.csv"), *settings.landing.rglob("*.json")]:
        found |= set(re.findall(r"[\w.@-]+", text_file.read_text())) & raw
    assert not found, f"raw identifiers after landing: {sorted(found)[:5]}"


def test_loading_the_same_extracts_twice_changes_nothing(plugin, tmp_path_factory):
    settings, copies = landed_home(plugin, tmp_path_factory)
    before = sorted(p.name for p in settings.landing.rglob("*.parquet"))
    for copy in copies:
        shutil.copy(copy, settings.inbox / plugin.name / copy.name)
    loads = [load for t in plugin.tables for load in land_inbox(settings, plugin, t, LOAD_DATE + dt.timedelta(1))]
    assert loads and all(load.status == "duplicate" for load in loads)
    assert sorted(p.name for p in settings.landing.rglob("*.parquet")) == before


def test_the_plugins_landing_suites_pass_on_its_synthetic_extract(plugin, tmp_path_factory):
    from pipelines import gx_suites

    settings, _ = landed_home(plugin, tmp_path_factory)
    suites = [s for s in gx_suites.discover_suites(settings, (plugin,)) if s.kind == "landing"]
    assert suites, "every plugin audits its loads with a landing suite"
    for suite in suites:
        files = sorted((settings.landing / plugin.name / suite.target).glob("load_date=*/*.parquet"))
        result = gx_suites.validate_batches(suite, gx_suites.parquet_batches(files, settings.gx_batch_rows),
                                            tmp_path_factory.mktemp("gx"))
        assert result.success, f"{suite.name}: {result.summary()}"
        assert not result.unmatched(), f"{suite.name}: the synthetic extract must meet every condition"
