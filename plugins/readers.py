"""Readers for the extract formats trust systems produce. Each returns raw VARCHAR columns named as
the extract's headers, plus `_line` (the worksheet row, for xlsx) where lines are not simply
consecutive; without it the core numbers records in file order from line 2. Either way every
quarantined record can be traced back to its line in the file."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import itertools
import zipfile
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa
from python_calamine import CalamineWorkbook

from plugins.contract import Reader


class ExtractError(ValueError):
    """The file itself is unusable (not the format, no header, unreadable): the load fails."""


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# The values Excel shows for a formula that failed. In an xlsx they are error cells, in a CSV exported from
# Excel plain text; either way the value is lost, and landing quarantines a row holding one.
EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!",
                "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!", "#EXTERNAL!")
DELIMITER_NAMES = {";": "semicolons", "\t": "tabs", ",": "commas"}  # in the order a header is suspected of


# What a file that is not CSV text starts with, and what to say of it.
NOT_CSV = (
    (b"PK\x03\x04", "it is a zip archive, most likely an Excel workbook (.xlsx) saved with a .csv name: export it "
                     "as CSV, or drop the workbook where its table takes one"),
    (b"\xd0\xcf\x11\xe0", "it is an old Excel workbook (.xls) saved with a .csv name: export it as CSV (UTF-8)"),
    (b"\xff\xfe", "it is UTF-16 text (Excel's 'Unicode text'): export it as CSV UTF-8"),
    (b"\xfe\xff", "it is UTF-16 text: export it as CSV UTF-8"),
    (b"%PDF", "it is a PDF document"),
)


GZIP = b"\x1f\x8b"  # what a gzip-compressed file starts with, whatever it is called


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == GZIP


def open_extract(path: Path, text: bool = False, errors: str = "strict") -> IO:
    """The extract's bytes (or its UTF-8 text, a byte-order mark dropped, line ends as written), decompressed when
    it is gzip (`.csv.gz`, or a compressed file named .csv): DuckDB's CSV reader decompresses it as it reads, and
    every other read of it (the header, line numbers) must see the same lines."""
    raw = gzip.open(path, "rb") if is_gzip(path) else path.open("rb")  # noqa: SIM115 - the caller closes it
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors=errors, newline="") if text else raw


def _control_byte(line: bytes) -> int | None:
    """Where a byte no text file holds (NUL or another control character but tab, CR, LF) first stands."""
    return next((i for i, byte in enumerate(line) if byte < 32 and byte not in b"\t\r\n"), None)


def _csv_header(path: Path, delimiter: str) -> list[str]:
    """The header row, parsed by the csv module (quoted names, a UTF-8 byte-order mark)."""
    if path.stat().st_size == 0:
        raise ExtractError(f"{path.name}: the file is empty (no header row)")
    try:
        with open_extract(path) as handle:  # the header line alone: a bad byte further down is DuckDB's to name
            first = handle.readline()
    except (OSError, EOFError) as exc:  # gzip's own refusal of a damaged or truncated archive
        raise ExtractError(f"{path.name}: not a readable CSV extract: it is a damaged gzip archive ({exc})") from exc
    if not first:
        raise ExtractError(f"{path.name}: the file is empty (no header row)")
    for signature, what in NOT_CSV:
        if first.startswith(signature):
            raise ExtractError(f"{path.name}: not a readable CSV extract: {what}")
    # Before any judgement of its delimiters: a binary file's bytes happen to hold tabs or semicolons too.
    if (at := _control_byte(first[:4096])) is not None:
        raise ExtractError(f"{path.name}: not a readable CSV extract: it is not a text file (binary data, byte "
                           f"0x{first[at]:02x} at position {at + 1} of the first line): export the data as CSV")
    if b"\r" in first.rstrip(b"\r\n"):  # no line feed ends the first line: the whole file came back as one
        raise ExtractError(f"{path.name}: not a readable CSV extract: its lines end in a bare carriage return (an old "
                           "Mac export); save it with Windows or Unix line endings")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractError(f"{path.name}: not a readable CSV extract: the header row is not UTF-8 ({exc})") from exc
    others = [name for mark, name in DELIMITER_NAMES.items() if mark != delimiter
              and text.count(mark) >= max(1, text.count(delimiter))]
    expected = DELIMITER_NAMES.get(delimiter, repr(delimiter))
    hint = f" (the header is separated by {others[0]}: export it separated by {expected})" if others else ""
    try:
        header = next(csv.reader([text], delimiter=delimiter, strict=True), [])
    except csv.Error as exc:
        raise ExtractError(f"{path.name}: not a readable CSV extract: the header row is not CSV ({exc}){hint}") from exc
    if hint and len(header) == 1:
        raise ExtractError(f"{path.name}: not a readable CSV extract: one column in the header{hint}")
    if not any(h.strip() for h in header):
        raise ExtractError(f"{path.name}: the file is empty (no header row)")
    blank = [str(i + 1) for i, h in enumerate(header) if not h.strip()]
    if blank:
        found = _csv_header_line(path, delimiter)
        where = (f": the header seems to be on line {found}; delete the lines above it" if found
                 else " (or the header is not on line 1: no line of the first 20 names every column)")
        raise ExtractError(f"{path.name}: header column(s) {', '.join(blank)} have no name{where}")
    _check_names(path, header)
    return header


def _csv_header_line(path: Path, delimiter: str) -> int | None:
    """The line (from 1) that looks like the header of a CSV whose first line is not (a report's title above
    it): the first of the first 20 whose every field is named, with as many fields as the line after it."""
    with open_extract(path, text=True, errors="replace") as handle:
        lines = list(csv.reader(itertools.islice(handle, 21), delimiter=delimiter))
    for number, (fields, after) in enumerate(zip(lines, lines[1:], strict=False), start=1):
        if len(fields) >= 2 and all(f.strip() for f in fields) and len(after) == len(fields):
            return number if number > 1 else None
    return None


def _check_names(path: Path, headers: list[str]) -> None:
    """Column names must tell the columns apart as landing matches them (trimmed, in any case), and leave
    `_line` to the line numbers: otherwise one column would silently stand for another."""
    keys = [h.strip().casefold() for h in headers]
    repeated = sorted({h for h, key in zip(headers, keys, strict=True) if keys.count(key) > 1})
    if repeated:
        raise ExtractError(f"{path.name}: column header(s) repeated: {', '.join(repeated)}")
    if "_line" in keys:
        raise ExtractError(f"{path.name}: a column is named '_line', the name kpo gives the file's line numbers: "
                           "rename it in the export")


CSV_REJECTS = "kpo_csv_rejects"  # the temp table where csv_reader's reads set aside the lines they cannot read
# DuckDB's error types for a line with another number of fields than the header: a row problem, not a file problem
FIELD_COUNT_ERRORS = ("MISSING COLUMNS", "TOO MANY COLUMNS")


def csv_rejects(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """How many records of `path` a csv_reader read on `con` set aside for having another number of fields than
    the header (0 when no csv_reader read it). Any other line it could not read (an unclosed quote, bytes that
    are not UTF-8) makes the whole file unusable, as a strict read would: ExtractError naming its line (DuckDB's
    record number, as its own errors give it) and DuckDB's reason, never the line itself."""
    if not con.execute("select count(*) from duckdb_tables() where table_name = ?", [CSV_REJECTS]).fetchall()[0][0]:
        return 0
    kinds = ", ".join(_sql_string(kind) for kind in FIELD_COUNT_ERRORS)
    unreadable = con.execute(f"select line, error_message from {CSV_REJECTS} where error_type not in ({kinds}) "
                             "order by line limit 1").fetchall()
    if unreadable:
        line, reason = unreadable[0]
        raise ExtractError(f"{path.name}: not a readable CSV extract: CSV Error on Line: {line}\n{reason}")
    # a scan reports a too-long line once per field beyond the header's, and a relation scanned twice twice
    return con.execute(f"select count(distinct line) from {CSV_REJECTS}").fetchall()[0][0]


def csv_reader(delimiter: str = ",") -> Reader:
    """A streaming DuckDB CSV reader: UTF-8 (a byte-order mark is fine), header row, every value text."""

    def read(path: Path, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        headers = _csv_header(path, delimiter)
        # No `_line` column: a window function numbering rows would force the whole landing onto one
        # thread. The core materialises the checked rows in file order and numbers them from rowid
        # (line = rowid + 2, after the header); quoted fields with embedded newlines would shift it.
        # The dialect is declared (RFC 4180, every column text) rather than sniffed: DuckDB's sniffer
        # samples the file each time the relation is bound, ~0.3 s per file whatever its size. Not hive
        # partitioned: a backfill reads archived extracts from `load_date=D/`, which DuckDB would add as a column.
        # A line DuckDB cannot read is set aside in CSV_REJECTS instead of failing the read: a short or long row
        # is a row problem (the core quarantines it, see csv_rejects), any other a reason to refuse the file.
        columns = "{" + ", ".join(f"{_sql_string(h)}: 'VARCHAR'" for h in headers) + "}"
        compression = "gzip" if is_gzip(path) else "none"  # by content: a compressed file may be named .csv
        try:
            return con.sql(
                f"select * from read_csv({_sql_string(str(path))}, columns = {columns}, header = true, "
                f"delim = {_sql_string(delimiter)}, quote = '\"', escape = '\"', strict_mode = true, "
                f"auto_detect = false, hive_partitioning = false, compression = '{compression}', "
                f"store_rejects = true, rejects_table = '{CSV_REJECTS}', rejects_scan = '{CSV_REJECTS}_scans')")
        except duckdb.Error as exc:
            raise ExtractError(f"{path.name}: not a readable CSV extract: {str(exc).splitlines()[0]}") from exc

    return read


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        # An Excel date is a date and time (a serial number); python-calamine hands back a date whenever the time is
        # midnight, whatever the cell's format. Written with its time, it reads in a time column (where a bare date
        # no longer does) as in a date column (the default date formats read a time of day too).
        return f"{value.isoformat()} 00:00:00"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def error_cells(path: Path, sheet: int | str) -> dict[tuple[int, int], str]:
    """The worksheet's Excel error cells, as {(row, column) from 0: "#DIV/0!"}. python-calamine reads an error
    cell as empty (its issue #105), which would turn a failed formula into a blank value without a word, so
    openpyxl names them; it only opens a workbook whose worksheets' XML holds an error cell (t="e")."""
    with zipfile.ZipFile(path) as book:
        parts = (book.read(part) for part in book.namelist() if part.startswith("xl/worksheets/"))
        if not any(b't="e"' in xml or b"t='e'" in xml for xml in parts):
            return {}
    import openpyxl  # only for the rare workbook with errors: its read-only parse is slow

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        worksheet = workbook.worksheets[sheet] if isinstance(sheet, int) else workbook[sheet]
        worksheet.reset_dimensions()  # read every cell, not the extent the exporter wrote (some write "A1")
        return {(cell.row - 1, cell.column - 1): str(cell.value) for row in worksheet.iter_rows() for cell in row
                if cell.data_type == "e"}
    finally:
        workbook.close()


def _not_a_workbook(path: Path) -> str | None:
    """What a file named .xlsx is when it is no xlsx workbook (an xlsx is a zip archive), or None."""
    with path.open("rb") as handle:
        start = handle.read(4096)
    if start.startswith(b"PK\x03\x04"):
        return None
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        return "it is an old Excel workbook (.xls): open it in Excel and save it as .xlsx"
    if start.startswith(GZIP):
        return "it is a gzip-compressed file: drop the workbook itself, not compressed"
    if _control_byte(start) is None:
        return ("it is a text file (a CSV export, most likely) named .xlsx: export the data as an Excel workbook, or "
                "drop it with a .csv name where its table takes CSV")
    return None  # calamine names what else it is


def _sheet_names(book: CalamineWorkbook) -> str:
    return "worksheets " + ", ".join(repr(name) for name in book.sheet_names)


def missing_columns_hint(path: Path, missing: list[str]) -> str:
    """Where the columns an extract lacks may be, for the message that it lacks them: on another worksheet of a
    workbook, or on a later line of a CSV (a report title above the header). Empty when there is nothing to add."""
    if Path(path.name.lower().removesuffix(".gz")).suffix in {".xlsx", ".xlsm"}:
        try:
            sheets = _sheet_names(CalamineWorkbook.from_path(str(path)))
            return f"; the workbook has {sheets}: is the data on another sheet?"
        except Exception:  # noqa: BLE001 - only a hint in a message already being raised
            return ""
    wanted = {name.strip().casefold() for name in missing}
    try:
        with open_extract(path, text=True, errors="replace") as handle:
            for number, line in enumerate(itertools.islice(handle, 20), start=1):
                if number > 1 and wanted <= {field.strip().casefold() for field in next(csv.reader([line]), [])}:
                    return f"; the header seems to be on line {number}: delete the lines above it"
    except OSError:
        return ""
    return ""


def _header_row(rows: list[list]) -> int | None:
    """The row (from 0) that looks like the header of a sheet whose first row is not: the first one naming every
    column that holds values below it. None when no row of the first 20 does."""
    for index, row in enumerate(rows[:20]):
        filled = [i for i, cell in enumerate(row) if _cell_text(cell) is not None]
        body = rows[index + 1:]
        if len(filled) >= 2 and body and all(i in filled for r in body for i, cell in enumerate(r)
                                             if _cell_text(cell) is not None):
            return index
    return None


def _unnamed_columns(path: Path, rows: list[list], sheet_name: str, unnamed: list[str]) -> ExtractError:
    """Values under no header: most often a title or a blank row above the real header, so say where it is."""
    found = _header_row(rows)
    where = (f"the header seems to be on row {found + 1}: delete the rows above it" if found
             else "no row of the first 20 names every column that holds values")
    return ExtractError(f"{path.name}: worksheet {sheet_name!r} column(s) {', '.join(unnamed)} hold values but "
                        f"have no header on row 1 ({where})")


def xlsx_reader(sheet: int | str = 0) -> Reader:
    """An xlsx reader on python-calamine (DuckDB's excel extension cannot be installed offline)."""

    def read(path: Path, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        if path.stat().st_size == 0:
            raise ExtractError(f"{path.name}: the file is empty (no header row)")
        if (what := _not_a_workbook(path)) is not None:
            raise ExtractError(f"{path.name}: not a readable xlsx workbook: {what}")
        try:
            book = CalamineWorkbook.from_path(str(path))
        except Exception as exc:  # calamine raises several types for "not an xlsx file"
            raise ExtractError(f"{path.name}: not a readable xlsx workbook: {exc}") from exc
        try:
            sheet_obj = book.get_sheet_by_index(sheet) if isinstance(sheet, int) else book.get_sheet_by_name(sheet)
            rows = sheet_obj.to_python(skip_empty_area=False)
        except Exception as exc:  # no such sheet (by name or by index), or a sheet calamine cannot read
            raise ExtractError(f"{path.name}: cannot read worksheet {sheet!r} (the workbook has "
                               f"{_sheet_names(book)}): {exc}") from exc
        sheet_name = sheet_obj.name
        for (row, column), error in error_cells(path, sheet).items():
            if row < len(rows) and column < len(rows[row]):
                rows[row][column] = error
        others = f"the workbook has {_sheet_names(book)}: is the data on another sheet?"
        if not rows or not any(any(row) for row in rows):
            raise ExtractError(f"{path.name}: worksheet {sheet_name!r} is empty (no header row; {others})")
        if not any(rows[0]):
            found = _header_row(rows)
            where = f"the header seems to be on row {found + 1}: delete the rows above it" if found else others
            raise ExtractError(f"{path.name}: worksheet {sheet_name!r}'s first row is blank: the header must be on "
                               f"row 1 ({where})")
        headers = [_cell_text(h) or "" for h in rows[0]]
        body = [r for r in rows[1:]]
        values = {index: [_cell_text(r[index]) if index < len(r) else None for r in body]
                  for index in range(len(headers))}
        # A column without a header is an empty stretch of the sheet, unless it holds values: then it is a
        # column no one can name, and the extract is refused (landing would otherwise drop it unseen).
        unnamed = [str(i + 1) for i, h in enumerate(headers) if not h.strip() and any(v is not None for v in values[i])]
        if unnamed:
            raise _unnamed_columns(path, rows, sheet_name, unnamed)
        named = [(i, h.strip()) for i, h in enumerate(headers) if h.strip()]
        _check_names(path, [h for _, h in named])
        columns = {"_line": pa.array(range(2, len(body) + 2), pa.int64())}
        for index, header in named:
            columns[header] = pa.array(values[index], pa.string())
        return con.from_arrow(pa.table(columns))

    return read


def csv_or_xlsx_reader(delimiter: str = ",", sheet: int | str = 0) -> Reader:
    """Either format, by file suffix: many sources export CSV from one system and xlsx from another."""
    read_csv, read_xlsx = csv_reader(delimiter), xlsx_reader(sheet)

    def read(path: Path, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        workbook = Path(path.name.lower().removesuffix(".gz")).suffix in {".xlsx", ".xlsm"}
        return read_xlsx(path, con) if workbook else read_csv(path, con)

    return read
