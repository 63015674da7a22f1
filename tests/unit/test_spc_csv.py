"""The analyst's CSV for `kpo spc`: every malformed file fails with one line naming the line, and a
good file round-trips through compute_spc."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from pipelines.spc import OUTPUT_COLUMNS, SpcSettings
from pipelines.spc_csv import SpcInputError, read_series_csv, run_spc_csv


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD_FILES = [
    pytest.param("", "series.csv is empty: expected a header row with period and value columns", id="empty"),
    pytest.param(
        "\n\n", "series.csv is empty: expected a header row with period and value columns", id="blank"
    ),
    pytest.param(
        "period,target\n2023-01,5\n",
        "line 1: missing column 'value' (header has: period, target)",
        id="no-value",
    ),
    pytest.param(
        "month,value\n2023-01,5\n",
        "line 1: missing column 'period' (header has: month, value)",
        id="no-period",
    ),  # fmt: skip
    pytest.param(
        "period,value,Value\n", "line 1: column 'value' appears more than once", id="repeated-column"
    ),
    pytest.param("period,value\n", "line 1: 0 data row(s); SPC needs at least 2 points", id="header-only"),
    pytest.param(
        "period,value\n2023-01,5\n", "line 2: 1 data row(s); SPC needs at least 2 points", id="one-row"
    ),
    pytest.param(
        "period,value\n2023-01,5\n2023-02,6\n2023-03,7\n2023-04,abc\n",
        "line 5: value 'abc' is not a number",
        id="text-value",
    ),
    pytest.param(
        "period,value\n2023-01,5\n2023-02,nan\n", "line 3: value 'nan' is not a number", id="nan-value"
    ),
    pytest.param("period,value\n2023-01,5\n2023-02, \n", "line 3: value is blank", id="blank-value"),
    pytest.param("period,value\n2023-01,5\n,6\n", "line 3: period is blank", id="blank-period"),
    pytest.param(
        "period,value,target\n2023-01,5,\n2023-02,6,high\n",
        "line 3: target 'high' is not a number",
        id="text-target",
    ),
    pytest.param(
        "period,value,rebase\n2023-01,5,no\n2023-02,6,maybe\n",
        "line 3: rebase 'maybe' is not true/false/1/0/yes/no or blank",
        id="bad-rebase",
    ),
    pytest.param(
        "period,value\n2023-01,5\n2023-02,6\n2023-01,7\n",
        "lines 2 and 4: duplicate period '2023-01'",
        id="duplicate",
    ),
    pytest.param(
        "period,value\n2023-01,5\n2023-03,6\n2023-02,7\n",
        "line 4: period '2023-02' comes before '2023-03' on line 3; periods must be in ascending order",
        id="unsorted",
    ),
    pytest.param(
        # Numbers compare as numbers: 10 after 9 is fine, 3 after 10 is not.
        "period,value\n9,5\n10,6\n3,7\n",
        "line 4: period '3' comes before '10' on line 3; periods must be in ascending order",
        id="unsorted-numbers",
    ),
    pytest.param(
        "period,value\n2023-02-28,5\n2023-02-30,6\n",
        "line 3: period '2023-02-30' looks like a date but is not a real one",
        id="impossible-date",
    ),
    pytest.param(
        "period,value\n2023-01,5\n2023-02,6,7\n", "line 3: expected 2 fields, found 3", id="extra-field"
    ),
    pytest.param(
        # The blank line 3 still counts: the editor shows the bad value on line 4.
        "period,value\n2023-01,5\n\n2023-02,x\n",
        "line 4: value 'x' is not a number",
        id="line-after-blank-line",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_malformed_csv_fails_with_one_line_naming_the_row(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SpcInputError) as raised:
        read_series_csv(write(tmp_path, text))
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_spc_input_error_is_a_value_error() -> None:
    assert issubclass(SpcInputError, ValueError)


def test_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "series.csv"
    path.write_bytes(b"period,value\n2023-01,\xff\n")
    with pytest.raises(SpcInputError, match=r"^series\.csv is not UTF-8 text"):
        read_series_csv(path)


@pytest.mark.parametrize(
    ("periods", "dtype", "first"),
    [
        (["2023-01", "2023-02"], "period[M]", pd.Period("2023-01", freq="M")),
        (["2023-01", "2023-01-15"], "datetime64", pd.Timestamp("2023-01-01")),  # YYYY-MM = the 1st
        (["9", "10"], "int64", 9),
        (["1.5", "2"], "float64", 1.5),
        (["2023-01", "5"], "object", "2023-01"),  # mixed: compared as text, "2" < "5"
        (["Q1 2023", "Q2 2023"], "object", "Q1 2023"),
    ],
    ids=["months", "dates", "integers", "numbers", "mixed-text", "text"],
)
def test_periods_are_typed_by_what_they_all_look_like(
    tmp_path: Path, periods: list[str], dtype: str, first: object
) -> None:
    frame = read_series_csv(write(tmp_path, "period,value\n" + "".join(f"{p},1\n" for p in periods)))
    assert str(frame["period"].dtype).startswith(dtype)
    assert frame["period"].iloc[0] == first


def test_good_csv_round_trip(tmp_path: Path) -> None:
    # Excel-style: BOM, capitalised header, a note column, spaces. [9, 11] × 6 then a rebase onto
    # [29, 31, 29]: segment 1 mean 10, MR̄ 2 → UPL 15.32 (target 15.32 → fails for increase);
    # segment 2 mean 89/3, MR̄ 2, LPL 89/3 − 5.32 = 24.35 (target 20 → passes).
    values = [9, 11] * 6 + [29, 31, 29]
    months = pd.period_range("2023-01", periods=len(values), freq="M").astype(str)
    lines = ["Period, Value ,Target,Rebase,Note"]
    for i, (month, value) in enumerate(zip(months, values, strict=True)):
        rebase, target = ("yes", "20") if i == 12 else ("", "15.32" if i < 12 else "20")
        lines.append(f"{month},{value},{target},{rebase},n{i}")
    source = tmp_path / "series.csv"
    source.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "out.csv"

    returned = run_spc_csv(source, output, SpcSettings("increase"))

    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["period", "value", "target", "rebase", "note", *OUTPUT_COLUMNS]
    assert len(rows) == len(returned) == 15
    assert [row["period"] for row in rows] == list(months)
    assert [row["note"] for row in rows] == [f"n{i}" for i in range(15)]
    assert [row["segment_id"] for row in rows] == ["1"] * 12 + ["2"] * 3
    assert rows[0]["moving_range"] == "" and rows[12]["moving_range"] == ""
    assert (rows[0]["mean"], rows[0]["mr_bar"], rows[0]["upl"], rows[0]["lpl"]) == (
        "10",
        "2",
        "15.32",
        "4.68",
    )
    assert float(rows[14]["lpl"]) == pytest.approx(89 / 3 - 5.32)
    assert [row["is_trial_limits"] for row in rows] == ["False"] * 12 + ["True"] * 3
    assert [row["assurance_icon"] for row in rows] == ["fail"] * 12 + ["pass"] * 3
    assert {row["point_type"] for row in rows} == {"common_cause"}
    assert returned["rebase"].tolist() == [False] * 12 + [True, False, False]


def test_rebase_words(tmp_path: Path) -> None:
    words = ["true", "FALSE", "1", "0", "Yes", "no", ""]
    text = "period,value,rebase\n" + "".join(f"{i},{i},{word}\n" for i, word in enumerate(words, start=1))
    frame = read_series_csv(write(tmp_path, text))
    assert frame["rebase"].tolist() == [True, False, True, False, True, False, False]
