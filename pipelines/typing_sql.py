"""DuckDB SQL generated from a table's declaration: typed columns, per-row problems, pseudonyms.

Everything a landing does to rows happens in one vectorised DuckDB query built here, never in a
Python loop over rows, so a million-row ED extract lands in seconds. Each problem becomes a
sentence naming the extract's column, because the person reading the quarantine file knows the
extract, not our schema.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from plugins.contract import DAY_FORMATS, DEFAULT_FORMATS, Column, Table
from plugins.nhs_number import WEIGHTS
from plugins.readers import EXCEL_ERRORS

SQL_TYPES = {"string": "varchar", "integer": "bigint", "number": "double", "date": "date",
             "timestamp": "timestamp", "boolean": "boolean"}
TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def raw_ref(column: Column) -> str:
    return f"raw__{column.name}"


def is_enumerated(column: Column) -> bool:
    """A text column with allowed values: typed as a DuckDB ENUM of them while it is checked."""
    return column.type == "string" and bool(column.allowed)


def member_ref(column: Column) -> str:
    return f"{column.name}__member"


def member_expression(column: Column) -> str:
    """The value as an ENUM of the allowed values (`<name>__member`), null when it is not one of them.
    One cast both checks membership and gives a one-byte code to hold until the Parquet write (cheaper on
    a million rows than comparing against the list and carrying the text). Rules still see the text."""
    allowed = ", ".join(quote_literal(a) for a in dict.fromkeys(column.allowed))
    return f"try_cast({raw_ref(column)} as enum({allowed}))"


def typed_expression(column: Column) -> str:
    """SQL turning the trimmed raw text into the declared type; NULL when blank or unparseable."""
    raw = raw_ref(column)
    if column.type == "string":
        return raw
    if column.type in DEFAULT_FORMATS:
        # Only the declared formats, read by strptime: a cast to timestamp (twice as fast) also takes a bare date,
        # drops a "+05" offset and reads "24:00" as the next day. strptime's %Y takes "20" as the year 20, so a
        # year before 1000 is unreadable ("01/10/20" is never 1 October of the year 20).
        declared = column.formats or DEFAULT_FORMATS[column.type]
        formats = ", ".join(quote_literal(f) for f in declared)
        parsed = f"try_strptime({raw}, [{formats}])"
        parsed = f"(case when year({parsed}) >= 1000 then {parsed} end)"
        return f"cast({parsed} as date)" if column.type == "date" else parsed
    if column.type == "integer":
        # a cast rounds "2.5" to 3 and reads "0x3" as 3: an integer is written in digits
        return f"case when regexp_full_match({raw}, '\\s*[+-]?[0-9]+\\s*') then try_cast({raw} as bigint) end"
    if column.type == "boolean":
        true_words = ", ".join(quote_literal(w) for w in TRUE_WORDS)
        false_words = ", ".join(quote_literal(w) for w in FALSE_WORDS)
        return (f"case when lower({raw}) in ({true_words}) then true "
                f"when lower({raw}) in ({false_words}) then false end")
    if column.type == "number":  # a cast reads "inf" and "nan", which no extract means as a number
        return f"case when isfinite(try_cast({raw} as double)) then try_cast({raw} as double) end"
    return f"try_cast({raw} as {SQL_TYPES[column.type]})"


def nhs_integer(column: Column) -> str:
    """The ten digits as a BIGINT (`<name>__integer`), null unless the number is exactly ten digits."""
    return f"{column.name}__integer"


def nhs_integer_expression(column: Column) -> str:
    """Spaces and dashes are allowed between the digits ("943 476 5919"); the regex that removes them only
    runs on the few numbers written that way."""
    raw, ten = raw_ref(column), "'[0-9]{10}'"
    digits = f"regexp_replace({raw}, '[\\s-]', '', 'g')"
    return (f"case when regexp_full_match({raw}, {ten}) then cast({raw} as bigint) "
            f"when regexp_full_match({digits}, {ten}) then cast({digits} as bigint) end")


def nhs_valid_expression(column: Column) -> str:
    """Mod-11 check (docs/identifiers.md): weight the first nine digits 10..2; check = 11 - sum % 11, 11 → 0 and 10
    invalid — i.e. (11 - sum % 11) % 11 must equal the tenth digit (10 never can). Digits come from the
    integer by division (half the cost of slicing the text on a million rows); `//` binds looser than `*`
    in DuckDB, hence the parentheses."""
    number = nhs_integer(column)
    weighted = " + ".join(f"(({number} // {10 ** (9 - i)}) % 10) * {w}" for i, w in enumerate(WEIGHTS))
    return f"coalesce((11 - ({weighted}) % 11) % 11 = {number} % 10, false)"


def hmac_sha256_expression(value_sql: str, key: bytes) -> str:
    """HMAC-SHA256(key, value) as hex, in DuckDB SQL: sha256(k⊕opad ‖ sha256(k⊕ipad ‖ m)).

    DuckDB has sha256 but no hmac; RFC 2104 is two hashes over padded keys, so it stays vectorised.
    Checked against Python's hmac module in tests/unit/test_identifiers.py.
    """
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in block).hex()
    opad = bytes(b ^ 0x5C for b in block).hex()
    inner = f"unhex(sha256(unhex('{ipad}') || encode({value_sql})))"
    return f"sha256(unhex('{opad}') || {inner})"


def identifier_value(column: Column) -> str:
    """The identifier's key: an NHS number's ten digits as a BIGINT (cheap to join on), or a trimmed,
    lower-cased staff identifier."""
    return nhs_integer(column) if column.identifier == "nhs_number" else f"lower({raw_ref(column)})"


def identifier_text(column: Column, key_sql: str) -> str:
    """The canonical text that is hashed, from the key: an NHS number's ten digits (leading zeros kept)."""
    return f"lpad(cast({key_sql} as varchar), 10, '0')" if column.identifier == "nhs_number" else key_sql


def excel_error(sql: str) -> str:
    """Whether the text `sql` is an Excel error (#N/A, #DIV/0!): a case, not `and`, which evaluated both sides,
    so only a value starting with # is looked up in the list."""
    errors = ", ".join(quote_literal(e) for e in EXCEL_ERRORS)
    return f"case when prefix({sql}, '#') then list_contains([{errors}], {sql}) else false end"


def identifier_valid(column: Column) -> str:
    """An NHS number passes the mod-11 check (an Excel error never does); another identifier is any value but an
    Excel error, which would otherwise be pseudonymised as if it were a person."""
    if column.identifier == "nhs_number":
        return f"{column.name}__valid"
    return f"({raw_ref(column)} is not null and not ({excel_error(raw_ref(column))}))"


def checked_columns(table: Table) -> list[tuple[str, str]]:
    """(name, SQL over the `typed` relation) of what is kept per row before landing: typed columns, and
    for each identifier its canonical value (`<name>__key`, null unless valid) and its status."""
    out: list[tuple[str, str]] = []
    for column in table.columns:
        if column.identifier:
            valid = identifier_valid(column)
            out.append((f"{column.name}__key", f"case when {valid} then {identifier_value(column)} end"))
            # an ENUM while held (one byte a row, not a string); Parquet gets plain text
            out.append((f"{column.name}_status", f"cast(case when {raw_ref(column)} is null then 'missing' "
                                                  f"when {valid} then 'valid' else 'invalid' end "
                                                  "as enum('valid', 'invalid', 'missing'))"))
        elif is_enumerated(column):
            out.append((column.name, member_ref(column)))
        else:
            out.append((column.name, quote_ident(column.name)))
    return out


def landed_names(table: Table) -> list[str]:
    """The landed columns, in order: identifiers become `<name>_pseudonym` and `<name>_status`."""
    names: list[str] = []
    for column in table.columns:
        names += [f"{column.name}_pseudonym", f"{column.name}_status"] if column.identifier else [column.name]
    return names


def pseudonym_joins(table: Table, key: bytes, rows: str) -> tuple[str, str]:
    """CTEs hashing each identifier's distinct valid values once (HMAC is most of the landing's CPU, and
    patients recur), and the joins that attach them to `rows`; the pseudonym column is `<name>__p.pseudonym`."""
    ctes, joins = [], []
    for column in (c for c in table.columns if c.identifier):
        alias = f"{column.name}__p"
        text = identifier_text(column, "value")
        ctes.append(f"{alias} as (select value, {hmac_sha256_expression(text, key)} as pseudonym from "
                    f"(select distinct {column.name}__key as value from {rows} where {column.name}__key is not null))")
        joins.append(f"left join {alias} on {rows}.{column.name}__key = {alias}.value")
    return ", ".join(ctes), " ".join(joins)


def landed_select(table: Table, rows: str) -> str:
    """The landed columns selected from `rows` joined with the pseudonym CTEs."""
    parts = []
    for column in table.columns:
        if column.identifier:
            parts += [f"{column.name}__p.pseudonym as {column.name}_pseudonym", f"{rows}.{column.name}_status"]
        else:
            # An ENUM (a column with allowed values) is written to Parquet as plain text: no cast needed.
            parts.append(f"{rows}.{quote_ident(column.name)}")
    return ", ".join(parts)


# What exports write for "no value": SQL Server's NULL, a form's N/A (any case). Blank, except in free text.
NO_VALUE = ("NULL", "N/A")


def no_value(text: str, padded: bool = True) -> str:
    """SQL: whether `text` is a NO_VALUE placeholder, with spaces around it when `padded` (a typed column's raw text,
    checked only on the few values that failed their cast). Unpadded, it runs on every value of a text column:
    cheap tests first (strlen reads a stored size, prefix compares a byte), so upper() runs on almost none."""
    placeholders = ", ".join(quote_literal(token) for token in NO_VALUE)
    if padded:
        return f"(strlen({text}) <= {2 * max(map(len, NO_VALUE))} and upper(trim({text})) in ({placeholders}))"
    initials = " or ".join(f"prefix({text}, {quote_literal(initial)})"
                           for initial in sorted({t[0].upper() for t in NO_VALUE} | {t[0].lower() for t in NO_VALUE}))
    return f"(strlen({text}) <= {max(map(len, NO_VALUE))} and ({initials}) and upper({text}) in ({placeholders}))"


def column_problems(column: Column, received: dt.date) -> list[tuple[str, str]]:
    """(condition, sentence SQL) pairs for one column's declared constraints. A `not_future` value is judged
    against the day the extract was `received`."""
    raw, typed, header = raw_ref(column), quote_ident(column.name), quote_literal(column.source_header)
    checks: list[tuple[str, str]] = []
    if column.type != "string" and not column.identifier:
        # Typed columns are not trimmed up front (DuckDB's casts ignore surrounding spaces); a value of
        # spaces only is blank, not unreadable.
        sentence = f"'unreadable {column.type} ' || quote_text({raw}) || ' in column ' || {header}"
        if column.type == "timestamp":  # say why a plain date is unreadable as a time
            day = f"try_strptime(trim({raw}), [{', '.join(quote_literal(f) for f in DAY_FORMATS)}])"
            sentence = f"{sentence} || case when {day} is not null then ' (a date with no time of day)' else '' end"
        # a placeholder (NULL, N/A) is no value: blank, not unreadable (checked on the few values that failed)
        checks.append((f"{raw} is not null and {typed} is null and trim({raw}) <> '' and not {no_value(raw)}",
                       sentence))
    if column.type == "string" and not (is_enumerated(column) or column.identifier or column.free_text):
        # Text would take an Excel error as a value (typed and enumerated columns already refuse it). Not an
        # identifier: its row is kept, flagged invalid (docs/identifiers.md: dropping it would undercount); nor
        # free text, which no metric reads. Only a value starting with # is looked up in the list.
        checks.append((excel_error(raw), f"'Excel error ' || {raw} || ' in column ' || {header}"))
    if column.required:
        # A typed value that parsed is not blank: trim() only runs on the few that did not.
        blank = f"({raw} is null or ({typed} is null and (trim({raw}) = '' or {no_value(raw)})))" \
            if column.type != "string" else f"{raw} is null"
        checks.append((blank, f"'missing value in required column ' || {header}"))
    if is_enumerated(column):
        checks.append((f"{raw} is not null and {member_ref(column)} is null",
                       f"'unknown value ' || quote_text({raw}) || ' in column ' || {header}"))
    elif column.allowed:
        # list_contains, not `not in (...)`: DuckDB plans an IN list as a join, and the problems and their
        # columns repeat each check, which made 40 joins on a million rows.
        allowed = ", ".join(quote_literal(a) for a in column.allowed)
        checks.append((f"not list_contains([{allowed}], {typed})",
                       f"'unknown value ' || quote_text({typed}) || ' in column ' || {header}"))
    if column.minimum is not None:
        checks.append((f"{typed} < {column.minimum}",
                       f"'value ' || {typed} || ' below {column.minimum:g} in column ' || {header}"))
    if column.maximum is not None:
        checks.append((f"{typed} > {column.maximum}",
                       f"'value ' || {typed} || ' above {column.maximum:g} in column ' || {header}"))
    if column.not_future and column.type in DEFAULT_FORMATS:
        # after tomorrow: a day's grace for the clocks and time zones of the systems that wrote the extract
        after = f"{column.type} '{received + dt.timedelta(days=1 if column.type == 'date' else 2)}'"
        checks.append((f"{typed} {'>' if column.type == 'date' else '>='} {after}",
                       f"'{column.type} ' || {typed} || ' is in the future in column ' || {header}"))
    return checks


def problems_expression(table: Table, received: dt.date) -> tuple[str, str]:
    """SQL for the row's problems ('; '-joined sentences) and the extract columns concerned."""
    reasons: list[str] = []
    columns: list[str] = []
    for column in table.columns:
        for condition, sentence in column_problems(column, received):
            reasons.append(f"case when {condition} then {sentence} end")
            columns.append(f"case when {condition} then {quote_literal(column.source_header)} end")
    for rule in table.rules:
        condition = f"coalesce(({rule.invalid_when}), false)"
        headers = ", ".join(table.column(c).source_header for c in rule.columns)
        reasons.append(f"case when {condition} then {quote_literal(rule.reason)} end")
        columns.append(f"case when {condition} then {quote_literal(headers)} end")
    if not reasons:
        return "cast(null as varchar)", "cast(null as varchar)"
    return (f"nullif(concat_ws('; ', {', '.join(reasons)}), '')",
            f"nullif(concat_ws(', ', {', '.join(columns)}), '')")
