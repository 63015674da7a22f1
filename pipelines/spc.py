"""XmR statistical process control, drawn the way NHS England's Making Data Count (MDC) tool draws it.

One vectorised implementation shared by the dbt Python models (through `spc_series`) and `kpo spc`;
the rules themselves are in `spc_rules`.
The rules are docs/spc.md; comments cite them as "docs/spc.md rule N".
Interpretations this module had to choose:
- values within 1e-9 (relative) of each other compare as equal: a decimal series' mean or limit is
  rarely exactly representable, and the rules hinge on "exactly on the mean" / "target = UPL";
- a neutral point flagged on both sides takes the side of astronomical, then two-of-three, then
  shift (these follow the point's position, so they agree), then of the trend *arriving* at the
  point — the only trend it would show if it were the last point;
- assurance with MR̄ = 0 and target = mean (both "pass" and "fail" hold) reports "pass";
- `variation_icon` on an earlier point is read from that point's flags as computed on the whole
  series (a shift completed later still marks it), which is what MDC charts colour;
- `is_trial_limits` follows docs/spc.md literally: the segment (not its frozen baseline) has < 12 points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.spc_rules import (
    RULES,
    Limits,
    SpcSettings,
    assurance,
    classify,
    compare,
    rule_signals,
    segment_starts,
)

RANGE_LIMIT_FACTOR = 3.267
FIRM_LIMITS_MIN_POINTS = 12  # docs/spc.md: a segment with fewer than 12 points has trial limits.

# The columns compute_spc adds, with their types whatever the points hold: the dbt model's table must match the
# marts' contracts even when it is empty (a deployment before its first extract) or when a column holds no
# value at all (no series has a target, so every assurance icon is blank: pandas would infer a column of
# None as objects, which DuckDB stores as INTEGER).
OUTPUT_DTYPES: dict[str, str] = {
    "segment_id": "int64", "point_in_segment": "int64", "is_baseline_point": "bool",
    **dict.fromkeys(("moving_range", "mr_bar", "mean", "upl", "lpl", "upper_two_sigma", "lower_two_sigma"), "float64"),
    **dict.fromkeys(("is_trial_limits", "moving_range_screening", "rule_astronomical", "rule_shift", "rule_trend",
                     "rule_two_of_three", "signal_high", "signal_low"), "bool"),
    **dict.fromkeys(("point_type", "variation_icon", "assurance_icon"), "str"),
}  # fmt: skip
OUTPUT_COLUMNS: tuple[str, ...] = tuple(OUTPUT_DTYPES)


def _validated(points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Values as floats and the 1-based segment of each point, or ValueError naming the problem."""
    missing = {"period", "value"} - set(points.columns)
    if missing:
        raise ValueError(f"points need columns period and value; missing {', '.join(sorted(missing))}")
    if points.empty:
        raise ValueError("points is empty: SPC needs at least one point")
    _check_periods(points["period"])
    values = pd.to_numeric(points["value"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"value at row {bad[0] + 1} is missing or not a finite number")
    return values, _segments(points)


def _check_periods(period: pd.Series) -> None:
    if period.isna().any():
        raise ValueError(f"period at row {int(np.flatnonzero(period.isna())[0]) + 1} is missing")
    later, earlier = period.to_numpy()[1:], period.to_numpy()[:-1]
    try:
        ascending = np.asarray(later > earlier, dtype=bool)
    except TypeError as exc:
        raise ValueError(f"periods cannot be compared with each other: {exc}") from exc
    if not ascending.all():
        i = int(np.flatnonzero(~ascending)[0])
        problem = "duplicate period" if later[i] == earlier[i] else "periods not ascending at"
        raise ValueError(f"{problem} {later[i]!s} (rows {i + 1} and {i + 2}); periods must strictly ascend")


def _segments(points: pd.DataFrame) -> np.ndarray:
    """1-based segment ids; docs/spc.md: a rebase starts a new segment at its point."""
    if "rebase" not in points.columns:
        return np.ones(len(points), dtype=np.int64)
    rebase = points["rebase"]
    if not (rebase.isna() | rebase.isin([True, False])).all():
        raise ValueError("rebase must be True/False (or missing)")
    starts = rebase.fillna(False).to_numpy(dtype=bool, copy=True)
    starts[0] = False  # a rebase on the first point changes nothing
    return np.cumsum(starts) + 1


def _moving_ranges(values: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """|x_i − x_{i−1}|, NaN on each segment's first point: a range never spans a rebase."""
    mr = np.r_[np.nan, np.abs(np.diff(values))]
    mr[segment_starts(segment)] = np.nan
    return mr


def _segment_mean(x: np.ndarray, use: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Mean of the non-NaN `use` points of each segment, broadcast to all its points (NaN if none)."""
    use = use & ~np.isnan(x)
    total = np.bincount(segment, weights=np.where(use, x, 0.0))
    count = np.bincount(segment, weights=use.astype(float))
    with np.errstate(invalid="ignore"):
        return (total / count)[segment]


def _limits(
    values: np.ndarray, mr: np.ndarray, segment: np.ndarray, baseline: np.ndarray, screen: bool
) -> Limits:
    """Centre line and MR̄ of each segment's baseline points (docs/spc.md), extended over the whole segment."""
    mean = _segment_mean(values, baseline, segment)
    mr_bar = _segment_mean(mr, baseline, segment)
    if screen:
        # Ranges above the upper range limit (D4 · MR̄) are dropped and MR̄ recomputed once, no iteration.
        mr_bar = _segment_mean(mr, baseline & (compare(mr, RANGE_LIMIT_FACTOR * mr_bar) <= 0), segment)
    return Limits.around(mean, mr_bar)


def _point_in_segment(segment: np.ndarray) -> np.ndarray:
    first_index = np.flatnonzero(segment_starts(segment))  # segment k starts at first_index[k - 1]
    return np.arange(len(segment)) - first_index[segment - 1] + 1


def _target(points: pd.DataFrame) -> np.ndarray:
    if "target" not in points.columns:
        return np.full(len(points), np.nan)
    target = pd.to_numeric(points["target"], errors="coerce")
    bad = np.flatnonzero(target.isna() & points["target"].notna())
    if bad.size:
        raise ValueError(f"target at row {bad[0] + 1} is not a number")
    return target.to_numpy(dtype=float, na_value=np.nan)


def compute_spc(points: pd.DataFrame, settings: SpcSettings) -> pd.DataFrame:
    """One output row per point (same order, input columns kept) with limits, rule flags and icons."""
    values, segment = _validated(points)
    position = _point_in_segment(segment)
    # docs/spc.md: with a baseline length N, limits come from the first N points and extend forward.
    baseline = position <= (settings.baseline_points or len(values))
    mr = _moving_ranges(values, segment)
    lim = _limits(values, mr, segment, baseline, settings.screen_moving_ranges)
    signals = rule_signals(values, segment, lim, settings)
    point_type, icon = classify(signals, settings.direction)
    columns = {
        "segment_id": segment, "point_in_segment": position, "is_baseline_point": baseline,
        "moving_range": mr, "mr_bar": lim.mr_bar, "mean": lim.mean, "upl": lim.upl, "lpl": lim.lpl,
        "upper_two_sigma": lim.upper_two_sigma, "lower_two_sigma": lim.lower_two_sigma,
        "is_trial_limits": np.bincount(segment)[segment] < FIRM_LIMITS_MIN_POINTS,
        "moving_range_screening": np.full(len(values), settings.screen_moving_ranges),
        **{f"rule_{rule}": signals[rule][0] | signals[rule][1] for rule in RULES},
        "signal_high": np.logical_or.reduce([signals[rule][0] for rule in RULES]),
        "signal_low": np.logical_or.reduce([signals[rule][1] for rule in RULES]),
        "point_type": point_type, "variation_icon": icon,
        "assurance_icon": assurance(_target(points), lim, settings.direction),
    }  # fmt: skip
    # One concat, not 21 column inserts: this runs once per series in the dbt model.
    added = pd.DataFrame({name: columns[name] for name in OUTPUT_COLUMNS}, index=points.index).astype(OUTPUT_DTYPES)
    return pd.concat([points.drop(columns=list(OUTPUT_COLUMNS), errors="ignore"), added], axis=1)


