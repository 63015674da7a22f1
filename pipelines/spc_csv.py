"""An analyst's series CSV in, the SPC table out: the file side of `kpo spc`.

Input columns (header names are case-insensitive): `period`, `value`, optional `target` (blank = no
target) and optional `rebase` (true/false/1/0/yes/no, blank = false); other columns pass through as
text. Every problem raises SpcInputError with one line naming the file line.

Periods are compared as what they all look like: dates when every period is an ISO date (YYYY-MM or
YYYY-MM-DD; all YYYY-MM stay calendar months, a mix means YYYY-MM is the month's first day), else
numbers when every period is a number, else the text as given (compared alphabetically). A period
shaped like a date that is not a real one (2023-02-30) is an error rather than silently text.
"""

from __future__ import annotations

import csv
import math
import re
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.spc import SpcSettings, compute_spc

REBASE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}
_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
_INTEGER = re.compile(r"[+-]?\d+")
# 12 significant digits hide binary noise (15.320000000000002) and exceed any metric's precision.
FLOAT_FORMAT = "%.12g"


class SpcInputError(ValueError):
    """The input CSV cannot be charted; the message is one line naming the file line and the problem."""


def _rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header (lower-cased) and non-blank data rows, each with its line number in the file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            records = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError as exc:
        raise SpcInputError(f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise SpcInputError(f"{path.name} is not a readable CSV: {exc}") from exc
    if not records:
        raise SpcInputError(f"{path.name} is empty: expected a header row with period and value columns")
    (header_line, header), data = records[0], records[1:]
    header = [name.strip().lower() for name in header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise SpcInputError(f"line {header_line}: column {duplicated[0]!r} appears more than once")
    missing = [name for name in ("period", "value") if name not in header]
    if missing:
        found = ", ".join(name for name in header if name) or "nothing"
        raise SpcInputError(f"line {header_line}: missing column {missing[0]!r} (header has: {found})")
    return header, data


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_row(line: int, cells: dict[str, str]) -> dict[str, object]:
    """One data row as typed fields; period stays text until the whole column is known."""
    row: dict[str, object] = dict(cells)
    if not cells["period"]:
        raise SpcInputError(f"line {line}: period is blank")
    if not cells["value"]:
        raise SpcInputError(f"line {line}: value is blank")
    row["value"] = _number(cells["value"])
    if row["value"] is None:
        raise SpcInputError(f"line {line}: value {cells['value']!r} is not a number")
    if "target" in cells:
        row["target"] = _number(cells["target"]) if cells["target"] else math.nan
        if row["target"] is None:
            raise SpcInputError(f"line {line}: target {cells['target']!r} is not a number")
    if "rebase" in cells:
        if cells["rebase"].lower() not in REBASE_WORDS:
            raise SpcInputError(
                f"line {line}: rebase {cells['rebase']!r} is not true/false/1/0/yes/no or blank"
            )
        row["rebase"] = REBASE_WORDS[cells["rebase"].lower()]
    return row


def _as_date(line: int, text: str) -> date | None:
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        return date(int(year), int(month), int(day or 1))
    except ValueError:
        raise SpcInputError(f"line {line}: period {text!r} looks like a date but is not a real one") from None


def _period_column(lines: list[int], texts: list[str]) -> pd.Series:
    """Typed periods: months, dates, integers, numbers, else text (module docstring)."""
    dates = [_as_date(line, text) for line, text in zip(lines, texts, strict=True)]
    if all(dates):
        if all(len(text) == 7 for text in texts):
            return pd.Series(pd.PeriodIndex(texts, freq="M"))
        return pd.Series(pd.to_datetime(dates))
    if all(_INTEGER.fullmatch(text) for text in texts):
        return pd.Series([int(text) for text in texts], dtype="int64")
    numbers = [_number(text) for text in texts]
    if all(number is not None for number in numbers):
        return pd.Series(numbers, dtype="float64")
    return pd.Series(texts, dtype=object)


def _check_order(lines: list[int], texts: list[str], periods: pd.Series) -> None:
    """Duplicates name both lines; otherwise the first period not after its predecessor."""
    seen: dict[object, int] = {}
    for line, text, period in zip(lines, texts, periods, strict=True):
        if period in seen:
            raise SpcInputError(f"lines {seen[period]} and {line}: duplicate period {text!r}")
        seen[period] = line
    for i in range(1, len(texts)):
        if not periods.iloc[i] > periods.iloc[i - 1]:
            raise SpcInputError(
                f"line {lines[i]}: period {texts[i]!r} comes before {texts[i - 1]!r} on line {lines[i - 1]};"
                " periods must be in ascending order"
            )


def read_series_csv(path: Path) -> pd.DataFrame:
    """The CSV as `period`, `value` (float), optional `target` (float, NaN = none), optional `rebase`."""
    header, data = _rows(Path(path))
    parsed: list[dict[str, object]] = []
    for line, cells in data:
        if len(cells) != len(header):
            raise SpcInputError(f"line {line}: expected {len(header)} fields, found {len(cells)}")
        named = {name: cell.strip() for name, cell in zip(header, cells, strict=True) if name}
        parsed.append(_parse_row(line, named))
    if len(parsed) < 2:
        last_line = data[-1][0] if data else 1
        raise SpcInputError(f"line {last_line}: {len(parsed)} data row(s); SPC needs at least 2 points")
    lines = [line for line, _ in data]
    texts = [str(row["period"]) for row in parsed]
    frame = pd.DataFrame(parsed)
    frame["period"] = _period_column(lines, texts)
    _check_order(lines, texts, frame["period"])
    return frame


def run_spc_csv(input_path: Path, output_path: Path, settings: SpcSettings) -> pd.DataFrame:
    """Read, chart and write one series; returns the table written to `output_path`."""
    result = compute_spc(read_series_csv(Path(input_path)), settings)
    result.to_csv(Path(output_path), index=False, float_format=FLOAT_FORMAT)
    return result
