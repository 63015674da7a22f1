"""Records an extract holds more than once. A row identical in every column to another row of the same extract is
the same record written twice (a report run with a join that doubles its rows, two exports pasted together): it is
kept once, with a warning naming the lines, instead of refusing the whole extract for one-record-per-key. Two rows
with the same key and different values are two versions of one record in one extract, and no one can tell which is
right: the extract is refused, naming the key and the lines.

Only rows sharing a key are compared, so an extract without repeats costs one grouped count; the rows that do share
one are compared as the extract holds them (every column, declared or not, as text), not as typed, so two rows that
differ only in a column landing ignores, or in how a date is written, are not taken for one record."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from pipelines.row_checks import LoadError, csv_delimiter, number_records
from pipelines.typing_sql import quote_ident
from plugins.contract import Table
from plugins.readers import open_extract

NAMED = 5  # repeats named in a warning or a refusal; the rest are counted


def _key_sql(table: Table) -> list[tuple[str, str, bool]]:
    """(header, SQL over `checked`, whether its value may be named) for each primary-key column. An identifier key
    is compared by its canonical value and never named (messages reach run logs and alerts)."""
    out = []
    for name in table.primary_key:
        column = table.column(name)
        out.append((column.source_header, f"{name}__key" if column.identifier else quote_ident(name),
                    not column.identifier))
    return out


def _raw_records(con: duckdb.DuckDBPyConnection, path: Path, headers: list[str], lines: set[int]) -> dict[int, tuple]:
    """The rows starting on `lines` as the extract holds them: from the reader's `_line` where it numbers its rows
    (a workbook), else read again from the CSV (only the lines asked for are kept)."""
    raw_columns = [c for c, in con.execute("select column_name from (describe raw_extract)").fetchall()]
    if "_line" in raw_columns:
        rows = con.execute("select * from raw_extract where _line in (select unnest(?))", [sorted(lines)]).fetchall()
        at = raw_columns.index("_line")
        return {row[at]: row[:at] + row[at + 1:] for row in rows}
    delimiter = csv_delimiter(path, headers)
    if delimiter is None:  # a reader of another format that does not number its rows: compare what was checked
        return {}
    found = {}
    with open_extract(path, text=True) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        previous = reader.line_num
        for row in reader:
            if row and previous + 1 in lines:
                found[previous + 1] = tuple(row)
            previous = reader.line_num
    return found


def _lines(lines: list[int]) -> str:
    return ", ".join(str(line) for line in lines[:-1]) + f" and {lines[-1]}" if len(lines) > 1 else str(lines[0])


def collapse_repeats(con: duckdb.DuckDBPyConnection, table: Table, path: Path, headers: list[str]) -> list[str]:
    """Keep once each record `checked` holds more than once, identical in every column, and return the warning
    naming their lines; LoadError when rows share a key but differ. Quarantined rows are left as they are (each is
    listed with its reason). Called after `build_checked`, before anything is written."""
    keys = _key_sql(table)
    if not keys:
        return []
    key_list = ", ".join(sql for _, sql, _ in keys)
    present = " and ".join(f"{sql} is not null" for _, sql, _ in keys)
    # the common case, no key twice, in one cheap pass over the table (no line numbers, no lists)
    distinct = f"({key_list})" if len(keys) > 1 else key_list
    if not con.execute(f"select count(*) > count(distinct {distinct}) from checked_rows "
                       f"where _problems is null and {present}").fetchall()[0][0]:
        return []
    shared = con.execute(f"select {key_list}, list(_line order by _line) from checked "
                         f"where _problems is null and {present} group by all having count(*) > 1 "
                         "order by min(_line)").fetchall()
    if not shared:
        return []
    records = _raw_records(con, path, headers, {line for row in shared for line in row[-1]})
    if not records:  # nothing to compare the rows by but what landing made of them
        columns = ", ".join(c for c, in con.execute("select column_name from (describe checked)").fetchall()
                            if c not in {"_line", "_problems", "_problem_columns", "_record"})
        found = con.execute(f"select _line, cast(row({columns}) as varchar) from checked "
                            "where _line in (select unnest(?))",
                            [[line for row in shared for line in row[-1]]]).fetchall()
        records = dict(found)
    repeated, differing = [], []
    for *key, lines in shared:
        (repeated if len({records[line] for line in lines}) == 1 else differing).append((key, lines))
    if differing:
        def named(key: list) -> str:
            return ", ".join(f"{header} {value!r}" if nameable else header
                             for (header, _, nameable), value in zip(keys, key, strict=True))

        listed = "; ".join(f"{named(key)} on lines {_lines(lines)}" for key, lines in differing[:NAMED])
        more = f" (and {len(differing) - NAMED:,} more)" if len(differing) > NAMED else ""
        raise LoadError(f"{path.name}: {len(differing):,} key(s) of {table.name} are held by rows that differ: "
                        f"{listed}{more}. An extract holds one row per {' and '.join(h for h, _, _ in keys)}, and "
                        "which of the versions is right cannot be told: correct the export and land it again")
    drop = {line for _, lines in repeated for line in lines[1:]}
    order = [line for line, in con.execute("select _line from checked").fetchall()]
    con.execute("delete from checked_rows where rowid in (select unnest(?))",
                [[position for position, line in enumerate(order) if line in drop]])
    number_records(con, [line for line in order if line not in drop])
    listed = "; ".join(f"lines {_lines(lines)} are the same record" for _, lines in repeated[:NAMED])
    more = f" (and {len(repeated) - NAMED:,} more)" if len(repeated) > NAMED else ""
    return [f"{path.name}: {len(repeated):,} record(s) appear more than once, identical in every column, and are "
            f"kept once: {listed}{more}"]
