"""Day-month order, judged per extract: an export re-saved on a US locale writes month/day/year, and read as
day/month/year each value with a day of 12 or less is a wrong date, not an unreadable one. docs/dates.md says
what evidence is used, its thresholds and why the rule is safe. Shared by landing and `kpo plugin check`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipelines.typing_sql import quote_ident, quote_literal, raw_ref
from plugins.contract import DEFAULT_FORMATS, Column, Table

# Day-first shapes a US re-save is recognised in even when the column declares none (an ISO column), with the
# 12-hour clock Excel writes on a US locale.
COMMON_DAY_FIRST = ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %I:%M %p", "%d/%m/%Y %I:%M:%S %p")
SHORT_PERIOD_DAYS = 28  # (a) swapped inside under four weeks, declared over at least four weeks
RECENT_DAYS = 14  # (b) the landing date's recent past: the fortnight before it (and the day after)


def is_day_first(fmt: str) -> bool:
    """A format with the day before the month and the year after both (%d/%m/%Y, %d.%m.%y): it has a twin."""
    if "%d" not in fmt or "%m" not in fmt or fmt.index("%d") > fmt.index("%m"):
        return False
    year = min((fmt.index(y) for y in ("%Y", "%y") if y in fmt), default=len(fmt))
    return year > fmt.index("%m")


def twin(fmt: str) -> str:
    """The format with day and month exchanged."""
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def order_name(fmt: str) -> str:
    """'day/month/year' for %d/%m/%Y %H:%M: the date part of a format, in words."""
    words = {"%d": "day", "%m": "month", "%Y": "year", "%y": "year"}
    date_part = fmt.split(" ")[0]
    for code, word in words.items():
        date_part = date_part.replace(code, word)
    return date_part


def declared(column: Column) -> tuple[str, ...]:
    return column.formats or DEFAULT_FORMATS.get(column.type, ())


def day_first(column: Column) -> tuple[str, ...]:
    """The column's declared day-first formats: only these have a swapped twin."""
    return tuple(f for f in declared(column) if is_day_first(f))


def dated(table: Table) -> list[Column]:
    return [c for c in table.columns if c.type in DEFAULT_FORMATS]


def raw_columns(table: Table) -> str:
    """Extra columns `checked_rows` keeps for the judgement: each day-first column's raw text (`<name>__raw`)."""
    return "".join(f", {raw_ref(c)} as {quote_ident(c.name + '__raw')}" for c in table.columns
                   if c.type in DEFAULT_FORMATS and day_first(c))


def _strptime(sql: str, formats: tuple[str, ...], column: Column) -> str:
    parsed = f"try_strptime(trim({sql}), [{', '.join(quote_literal(f) for f in formats)}])"
    parsed = f"(case when year({parsed}) >= 1000 then {parsed} end)"
    return f"cast({parsed} as date)"


def _lists(column: Column) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(month-first formats, their day-first twins) a value of the column is tried in."""
    uk = tuple(dict.fromkeys((*day_first(column), *COMMON_DAY_FIRST)))
    return tuple(twin(f) for f in uk), uk


def order_problem(con: duckdb.DuckDBPyConnection, table: Table, path: Path, received: dt.date) -> str | None:
    """Why the extract (checked into `checked`) is rejected whole for its day-month order, or None."""
    return only_swapped(con, table, path) or ambiguous_swapped(con, table, path, received)


def _declared_words(column: Column) -> str:
    first = day_first(column)
    return order_name(first[0]) if first else "year-month-day"


def _remedy(column: Column) -> str:
    return (f"Nothing of it lands. Export it again in {_declared_words(column)} order, or better with ISO dates "
            "(yyyy-mm-dd), which read only one way, and land it again")


def only_swapped(con: duckdb.DuckDBPyConnection, table: Table, path: Path) -> str | None:
    """Evidence 1: a value that the declared formats do not read but the month-first order does (and the
    day-first one does not): the column is in the other order, and its other values with a day of 12 or less
    would land as wrong dates. Only rows already quarantined can hold one, so only they are read."""
    for column in dated(table):
        us, uk = _lists(column)
        text = f"json_extract_string(_record, {quote_literal('$.' + chr(34) + column.source_header + chr(34))})"
        found = con.execute(
            f"select _line, {text} from checked where _problems is not null and {quote_ident(column.name)} is null "
            f"and {_strptime(text, us, column)} is not null and {_strptime(text, uk, column)} is null "
            "order by _line limit 1").fetchall()
        if found:
            line, value = found[0]
            return (f"{path.name}: column {column.source_header!r} is in month/day/year order, not the declared "
                    f"{_declared_words(column)}: line {line} holds {value!r}, which reads only as month/day/year, so "
                    f"its values with a day of 12 or less would land as wrong dates. {_remedy(column)}")
    return None


def ambiguous_swapped(con: duckdb.DuckDBPyConnection, table: Table, path: Path, received: dt.date) -> str | None:
    """A day-first column none of whose values reads only as declared (every day 12 or less) is judged on the
    extract's own evidence, read both ways: (a) read swapped its dates fall inside a short period while read as
    declared they spread over months; (b) read swapped they are all in the landing date's recent past, or none in
    the future, while read as declared they are not. Either says swapped; no evidence, or a value that reads
    only as declared, leaves the declared reading."""
    recent_from, future_after = received - dt.timedelta(days=RECENT_DAYS), received + dt.timedelta(days=1)
    for column in (c for c in dated(table) if day_first(c)):
        raw, typed = quote_ident(column.name + "__raw"), f"cast({quote_ident(column.name)} as date)"
        uk = _strptime(raw, day_first(column), column)
        swapped = _strptime(raw, tuple(twin(f) for f in day_first(column)), column)
        row = con.execute(f"""
            with readings as (select _line, {raw} as raw, {typed} as declared, {swapped} as swapped
                              from checked where {quote_ident(column.name)} is not null and {uk} is not null)
            select count(*) filter (where swapped is null), count(swapped),
                   min(declared), max(declared), min(swapped), max(swapped),
                   count(*) filter (where declared between date '{recent_from}' and date '{future_after}'),
                   count(*) filter (where declared > date '{future_after}'),
                   arg_min(_line, _line), arg_min(raw, _line)
            from readings""").fetchall()[0]
        confirmed, both, d_min, d_max, s_min, s_max, d_recent, d_future, line, value = row
        if confirmed or not both:
            continue
        declared_span, swapped_span = (d_max - d_min).days, (s_max - s_min).days
        reason = None
        if swapped_span < SHORT_PERIOD_DAYS <= declared_span:
            reason = (f"read as declared they spread over {declared_span} days ({d_min} to {d_max}), read as "
                      f"month/day/year they fall within {swapped_span + 1} day(s) ({s_min} to {s_max})")
        elif column.not_future and d_future and s_max <= future_after:
            reason = (f"read as declared {d_future} of them are after the landing date {received}, read as "
                      f"month/day/year none is ({s_min} to {s_max})")
        elif s_min >= recent_from and s_max <= future_after and not d_recent:
            reason = (f"read as month/day/year they all fall in the {RECENT_DAYS} days before the landing date "
                      f"{received} ({s_min} to {s_max}), read as declared none does ({d_min} to {d_max})")
        if reason:
            return (f"{path.name}: column {column.source_header!r} looks like month/day/year order, not the declared "
                    f"{_declared_words(column)}: every value reads both ways (line {line} holds {value!r}), and "
                    f"{reason}. {_remedy(column)}")
    return None
