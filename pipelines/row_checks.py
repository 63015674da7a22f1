"""The one vectorised pass over an extract: its headers matched to the declaration, every row typed and
checked in DuckDB (problems as sentences naming the extract's columns), then the good rows written to
Parquet with pseudonyms and the quarantined ones to a CSV for analysts. Shared by landing and by
`kpo plugin check` (which runs it on a real extract without writing anything)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from pipelines.date_order import raw_columns
from pipelines.typing_sql import (
    checked_columns,
    is_enumerated,
    landed_select,
    member_expression,
    member_ref,
    nhs_integer_expression,
    nhs_valid_expression,
    no_value,
    problems_expression,
    pseudonym_joins,
    quote_ident,
    quote_literal,
    typed_expression,
)
from plugins.contract import MIN_QUARANTINED_TO_REJECT, Column, Table
from plugins.readers import csv_rejects, missing_columns_hint, open_extract


class LoadError(RuntimeError):
    """An extract file could not be loaded at all; the message names the file and the problem."""


def atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp")


def fsync_replace(tmp: Path, final: Path) -> None:
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)


def match_headers(table: Table, relation: duckdb.DuckDBPyRelation) -> tuple[dict, list[str], list[str]]:
    """Map declared columns to the extract's headers (exact, then case-insensitive): the mapping (None
    where missing), the missing headers and the extra ones."""
    present = [c for c in relation.columns if c != "_line"]
    by_lower = {h.strip().lower(): h for h in present}
    mapping, missing = {}, []
    for column in table.columns:
        wanted = column.source_header
        found = wanted if wanted in present else by_lower.get(wanted.lower())
        if found is None:
            missing.append(wanted)
        mapping[column.name] = found
    extra = [h for h in present if h not in set(mapping.values())]
    return mapping, missing, extra


def check_headers(table: Table, relation: duckdb.DuckDBPyRelation, path: Path) -> tuple[dict, list[str]]:
    mapping, missing, extra = match_headers(table, relation)
    present = [c for c in relation.columns if c != "_line"]
    optional = {c.source_header for c in table.columns if c.optional}
    warnings = [f"{path.name}: optional column {h!r} is absent and lands empty" for h in missing if h in optional]
    missing = [h for h in missing if h not in optional]
    if missing:
        raise LoadError(f"{path.name}: wrong header for {table.name}: missing column(s) "
                        + ", ".join(repr(m) for m in missing)
                        + f" (found: {', '.join(repr(h) for h in present[:30])})"
                        + missing_columns_hint(path, missing))
    return mapping, warnings + [f"{path.name}: column {h!r} is not declared and was ignored" for h in extra
                                if not table.ignores(h)]


def raw_value(column: Column, header: str | None) -> str:
    """The extract's text for a column: null when absent or blank, or a NO_VALUE placeholder in text other than free
    text (a typed column's placeholder fails its cast, and its checks read it as blank: typing_sql.no_value).
    Text columns are trimmed (trim() only runs on values that need it); typed columns are not, as DuckDB's casts
    ignore surrounding spaces."""
    if header is None:
        return "null"
    value = f"cast({quote_ident(header)} as varchar)"
    if column.type != "string":
        return f"nullif({value}, '')"
    trimmed = f"nullif(trim({value}), '')"
    if column.free_text:
        return (f"case when {value} = '' then null when prefix({value}, ' ') or suffix({value}, ' ') then {trimmed} "
                f"else {value} end")
    return (f"case when {value} = '' or {no_value(value, padded=False)} then null "
            f"when prefix({value}, ' ') or suffix({value}, ' ') "
            f"then (case when {no_value(trimmed)} then null else {trimmed} end) else {value} end")


def checked_query(table: Table, mapping: dict, numbered: bool, received: dt.date) -> str:
    """One vectorised query over `raw_extract`: typed columns and identifier keys, each row's problems
    (sentences naming the extract's columns) and, for bad rows only, the raw record (identifiers left
    out: the quarantine file gets their pseudonyms)."""
    raw_cols = ", ".join(raw_value(c, mapping[c.name]) + f" as raw__{c.name}" for c in table.columns)
    nhs = [c for c in table.columns if c.identifier == "nhs_number"]
    integer_cols = "".join(f", {nhs_integer_expression(c)} as {c.name}__integer" for c in nhs)
    typed_cols = ", ".join(f"{typed_expression(c)} as {quote_ident(c.name)}" for c in table.columns)
    valid_cols = "".join(f", {nhs_valid_expression(c)} as {c.name}__valid" for c in nhs)
    member_cols = "".join(f", {member_expression(c)} as {member_ref(c)}" for c in table.columns if is_enumerated(c))
    reasons, concerned = problems_expression(table, received)
    kept = ", ".join(f"{sql} as {quote_ident(name)}" for name, sql in checked_columns(table))
    record_fields = ", ".join(f"{quote_literal(c.source_header)}, raw__{c.name}"
                              for c in table.columns if not c.identifier)
    line = "_line, " if numbered else ""
    return f"""
        with raw as (select {line}{raw_cols}{integer_cols} from raw_extract),
        typed as (select *, {typed_cols}{valid_cols}{member_cols} from raw),
        checked as (select *, {reasons} as _problems from typed)
        select {line}{kept}{raw_columns(table)}, _problems,
            case when _problems is not null then {concerned} end as _problem_columns,
            case when _problems is not null then json_object({record_fields}) end as _record
        from checked"""


def build_checked(con: duckdb.DuckDBPyConnection, table: Table, mapping: dict, path: Path, numbered: bool,
                  received: dt.date) -> None:
    """Materialise `checked_rows` in one streaming, parallel pass, in file order (DuckDB keeps insertion
    order), and view it as `checked` with `_line`: the reader's, or the line each record of `path` starts on
    (rowid + 2 when every line after the header is one record: the header is line 1). `not_future` values
    are judged against the day the extract was `received`."""
    query = checked_query(table, mapping, numbered, received)
    con.execute(f"create or replace temp table checked_rows as {query}")
    line_of = "_line" if numbered else "rowid + 2 as _line"
    con.execute(f"create or replace temp view checked as select *{' exclude (_line)' if numbered else ''}, "
                f"{line_of} from checked_rows")
    if not numbered:
        headers = [header for header in mapping.values() if header]
        if set_aside := csv_rejects(con, path):
            quarantine_ragged(con, path, headers, set_aside)
        else:
            renumber_lines(con, path, headers)


def data_lines(path: Path) -> int:
    """Lines after the header, counted in bytes (~0.1 s for a million-row extract)."""
    lines, last = 0, b"\n"
    with open_extract(path) as handle:
        while chunk := handle.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n") - 1


def csv_delimiter(path: Path, headers: list[str]) -> str | None:
    """The delimiter that splits the extract's first line into its headers (the reader's own, which the core
    is not told), or None when none does: a reader of another format numbers its records itself."""
    import csv

    with open_extract(path, text=True, errors="replace") as handle:
        first = handle.readline()
    splits = {mark: next(csv.reader([first], delimiter=mark), []) for mark in (",", ";", "\t", "|")}
    fitting = [mark for mark, names in splits.items() if set(headers) <= {name.strip() for name in names}]
    return max(fitting, key=lambda mark: len(splits[mark]), default=None)


def record_shapes(path: Path, delimiter: str) -> tuple[int, list[tuple[int, int]]]:
    """The header's number of fields, and the line each record of a CSV starts on with its number of fields, as
    DuckDB reads the records (blank lines skipped, a quoted value may hold line breaks). Python's csv module
    tracks lines where DuckDB does not; this pass over the file runs only when records and lines differ, or
    when the reader set aside records with another number of fields than the header."""
    import csv

    shapes = []
    with open_extract(path, text=True) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        width = len(next(reader, []))  # the header
        previous = reader.line_num
        for row in reader:
            if row:
                shapes.append((previous + 1, len(row)))
            previous = reader.line_num
    return width, shapes


def record_lines(path: Path, delimiter: str) -> list[int]:
    """The line each record of a CSV starts on (see record_shapes)."""
    return [line for line, _ in record_shapes(path, delimiter)[1]]


def quarantine_ragged(con: duckdb.DuckDBPyConnection, path: Path, headers: list[str], set_aside: int) -> None:
    """Quarantine the `set_aside` records the CSV reader skipped for having more or fewer fields than the header
    (a row cut short, a delimiter left unquoted in a value): a row problem, judged with every other (the table's
    quarantine share still rejects an extract with too many). They are added to `checked_rows` with their reason
    and no values (their fields cannot be told apart), and every record keeps the line it starts on: the skipped
    records take no rowid, so rowid + 2 would number every later record too low. Lines are told by the csv
    module, which splits the records as DuckDB does; should the two disagree, the file is refused, as no line
    number could be trusted."""
    import pyarrow as pa

    records = con.execute("select count(*) from checked_rows").fetchall()[0][0]
    delimiter = csv_delimiter(path, headers)
    width, shapes = record_shapes(path, delimiter) if delimiter else (0, [])
    good = [line for line, fields in shapes if fields == width]
    ragged = [(line, fields) for line, fields in shapes if fields != width]
    if not delimiter or len(good) != records or len(ragged) != set_aside:
        raise LoadError(f"{path.name}: {set_aside:,} record(s) have more or fewer fields than the header, and their "
                        "lines cannot be told (a quoted value the csv module splits otherwise than DuckDB): "
                        "correct the export and land it again")
    con.register("ragged_records", pa.table({
        "_problems": [f"line {line} has {fields} field(s), the header has {width}" for line, fields in ragged],
        "_problem_columns": ["(the whole line)"] * len(ragged)}))
    con.execute("insert into checked_rows (_problems, _problem_columns) select * from ragged_records")
    number_records(con, good + [line for line, _ in ragged])


def renumber_lines(con: duckdb.DuckDBPyConnection, path: Path, headers: list[str]) -> None:
    """`checked` numbers records rowid + 2, true when every line after the header is one record. When the
    extract has blank lines or line breaks inside quoted values, each record gets the line it starts on."""
    records = con.execute("select count(*) from checked_rows").fetchall()[0][0]
    if records == data_lines(path) or (delimiter := csv_delimiter(path, headers)) is None:
        return
    starts = record_lines(path, delimiter)
    if len(starts) != records:  # the csv module read the file otherwise than DuckDB: keep DuckDB's numbering
        return
    number_records(con, starts)


def number_records(con: duckdb.DuckDBPyConnection, lines: list[int]) -> None:
    """View `checked_rows` as `checked`, each record numbered by `lines` in table order."""
    import pyarrow as pa

    con.register("record_starts", pa.table({"_line": pa.array(lines, pa.int64())}))
    con.execute("create or replace temp view checked as select checked_rows.*, record_starts._line "
                "from checked_rows positional join record_starts")


def write_outputs(con: duckdb.DuckDBPyConnection, table: Table, key: bytes, lineage: dict, parquet: Path,
                  quarantine: Path) -> tuple[int, int, Path]:
    """Write the good rows to a temporary Parquet file and the quarantined ones (if any) to a CSV for
    analysts, pseudonyms attached from each identifier's hashed distinct values."""
    ctes, joins = pseudonym_joins(table, key, "checked")
    with_ctes = f"with {ctes} " if ctes else ""
    lineage_sql = (f"{quote_literal(lineage['file'])} as _source_file, _line as _source_line, "
                   f"{quote_literal(lineage['sha'])} as _content_sha256, "
                   f"date {quote_literal(lineage['load_date'])} as _load_date, "
                   f"timestamp {quote_literal(lineage['loaded_at'])} as _loaded_at")
    tmp = atomic_target(parquet)
    # Each row carries its line now, so the writes need not keep the extract's order (faster in parallel).
    con.execute("set preserve_insertion_order = false")
    good = con.execute(f"copy ({with_ctes}select {landed_select(table, 'checked')}, {lineage_sql} "
                       f"from checked {joins} where _problems is null) "
                       f"to '{tmp}' (format parquet, compression snappy)").fetchall()[0][0]
    bad = con.execute("select count(*) from checked_rows where _problems is not null").fetchall()[0][0]
    if bad:
        pseudonyms = ", ".join(f"{quote_literal(c.source_header)}, {c.name}__p.pseudonym"
                               for c in table.columns if c.identifier)
        record = f"json_merge_patch(_record, json_object({pseudonyms}))" if pseudonyms else "_record"
        tmp_quarantine = atomic_target(quarantine)
        con.execute(f"""copy ({with_ctes}select {quote_literal(lineage['file'])} as source_file, _line as line,
            _problem_columns as columns, _problems as reason, {record} as record
            from checked {joins} where _problems is not null order by _line)
            to '{tmp_quarantine}' (header, format csv)""")
        fsync_replace(tmp_quarantine, quarantine)
    return good, bad, tmp


def too_many_quarantined(con: duckdb.DuckDBPyConnection, plugin: str, table: Table, path: Path) -> str | None:
    """Why the extract at `path` (checked into `checked_rows`) is rejected whole when too many of its rows would be
    quarantined (see Table), or None. Names the columns the bad rows fail on and the first such line, never a
    value: the message reaches run logs and alerts."""
    total, bad = con.execute("select count(*), count(_problems) from checked_rows").fetchall()[0]
    if bad < MIN_QUARANTINED_TO_REJECT or bad <= table.max_quarantined_share * total:
        return None
    failing = con.execute("select _problem_columns, count(*), min(_line) from checked "
                          "where _problems is not null group by all order by 2 desc, 3 limit 3").fetchall()
    where = "; ".join(f"{columns or 'a row rule'}: {rows:,} row(s) from line {first}"
                      for columns, rows, first in failing)
    return (f"{path.name}: {bad:,} of {total:,} rows would be quarantined ({100 * bad / total:.0f} %, above "
            f"{table.name}'s limit of {100 * table.max_quarantined_share:.0f} %): an export in a shape the plugin does "
            f"not read (a new date format, a file re-saved by Excel), more likely than errors in the data. Failing "
            f"columns: {where}. Nothing of it lands; `kpo plugin check {plugin} --file <the extract>` lists every "
            f"row's reason. Correct the export, or the plugin's declaration, and land it again")


def identifier_flag_count(con: duckdb.DuckDBPyConnection, table: Table, landed: Path) -> int:
    """Landed rows whose identifier is missing or invalid (kept with a null pseudonym: a warning)."""
    flags = [f"{c.name}_status <> 'valid'" for c in table.columns if c.identifier]
    if not flags:
        return 0
    return con.execute(f"select count(*) from read_parquet('{landed}') where {' or '.join(flags)}"
                       ).fetchall()[0][0]
