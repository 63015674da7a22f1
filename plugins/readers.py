"""Readers for the extract formats trust systems produce. Each returns raw VARCHAR columns named as
the extract's headers, plus `_line` (the worksheet row, for xlsx) where lines are not simply
consecutive; without it the core numbers records in file order from line 2. Either way every
quarantined record can be traced back to its line in the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
from python_calamine import CalamineWorkbook

from plugins.contract import Reader


class ExtractError(ValueError):
    """The file itself is unusable (not the format, no header, unreadable): the load fails."""


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def csv_reader(delimiter: str = ",") -> Reader:
    """A streaming DuckDB CSV reader: UTF-8 (a byte-order mark is fine), header row, every value text."""

    def read(path: Path, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        if path.stat().st_size == 0:
            raise ExtractError(f"{path.name}: the file is empty (no header row)")
        # No `_line` column: a window function numbering rows would force the whole landing onto one
        # thread. The core materialises the checked rows in file order and numbers them from rowid
        # (line = rowid + 2, after the header); quoted fields with embedded newlines would shift it.
        try:
            return con.sql(
                f"select * from read_csv({_sql_string(str(path))}, all_varchar = true, header = true, "
                f"delim = {_sql_string(delimiter)}, strict_mode = true, auto_detect = true)")
        except duckdb.Error as exc:
            raise ExtractError(f"{path.name}: not a readable CSV extract: {str(exc).splitlines()[0]}") from exc

    return read


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_reader(sheet: int | str = 0) -> Reader:
    """An xlsx reader on python-calamine (DuckDB's excel extension cannot be installed offline)."""

    def read(path: Path, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        try:
            book = CalamineWorkbook.from_path(str(path))
            sheet_obj = book.get_sheet_by_index(sheet) if isinstance(sheet, int) else book.get_sheet_by_name(sheet)
            rows = sheet_obj.to_python(skip_empty_area=False)
        except Exception as exc:  # calamine raises several types for "not an xlsx file"
            raise ExtractError(f"{path.name}: not a readable xlsx workbook: {exc}") from exc
        if not rows or not any(rows[0]):
            raise ExtractError(f"{path.name}: the worksheet is empty (no header row)")
        headers = [str(h).strip() for h in rows[0]]
        body = [r for r in rows[1:]]
        columns = {"_line": pa.array(range(2, len(body) + 2), pa.int64())}
        for index, header in enumerate(headers):
            columns[header] = pa.array([_cell_text(r[index]) if index < len(r) else None for r in body],
                                       pa.string())
        return con.from_arrow(pa.table(columns))

    return read


def csv_or_xlsx_reader(delimiter: str = ",", sheet: int | str = 0) -> Reader:
    """Either format, by file suffix: many sources export CSV from one system and xlsx from another."""
    read_csv, read_xlsx = csv_reader(delimiter), xlsx_reader(sheet)

    def read(path: Path, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        return read_xlsx(path, con) if path.suffix.lower() in {".xlsx", ".xlsm"} else read_csv(path, con)

    return read
