"""XmR statistical process control, drawn the way NHS England's Making Data Count (MDC) tool draws it.

One vectorised implementation shared by the dbt Python model (`compute_spc_groups`) and `kpo spc`.
The rules are DOMAIN.md § "Statistical process control"; comments cite them as "DOMAIN rule N".
Interpretations this module had to choose:
- values within 1e-9 (relative) of each other compare as equal: a decimal series' mean or limit is
  rarely exactly representable, and the rules hinge on "exactly on the mean" / "target = UPL";
- a neutral point flagged on both sides takes the side of astronomical, then two-of-three, then
  shift (these follow the point's position, so they agree), then of the trend *arriving* at the
  point — the only trend it would show if it were the last point;
- assurance with MR̄ = 0 and target = mean (both "pass" and "fail" hold) reports "pass";
- `variation_icon` on an earlier point is read from that point's flags as computed on the whole
  series (a shift completed later still marks it), which is what MDC charts colour;
- `is_trial_limits` follows DOMAIN literally: the segment (not its frozen baseline) has < 12 points.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Direction = Literal["increase", "decrease", "neutral"]
DIRECTIONS: tuple[str, ...] = ("increase", "decrease", "neutral")

# 2.66 = 3 / d2 with d2 = 1.128 for ranges of two points; 3.267 = D4, the upper range limit.
LIMIT_FACTOR = 2.66
TWO_SIGMA_FACTOR = 2 / 3 * LIMIT_FACTOR
RANGE_LIMIT_FACTOR = 3.267
FIRM_LIMITS_MIN_POINTS = 12  # DOMAIN: a segment with fewer than 12 points has trial limits.
REL_TOL = 1e-9  # "equal" for the rules; see the module docstring
RULES = ("astronomical", "two_of_three", "shift", "trend")  # also the neutral side priority

OUTPUT_COLUMNS: tuple[str, ...] = (
    "segment_id", "point_in_segment", "is_baseline_point", "moving_range", "mr_bar", "mean",
    "upl", "lpl", "upper_two_sigma", "lower_two_sigma", "is_trial_limits", "moving_range_screening",
    "rule_astronomical", "rule_shift", "rule_trend", "rule_two_of_three", "signal_high", "signal_low",
    "point_type", "variation_icon", "assurance_icon",
)  # fmt: skip


def _is_count(value: object, minimum: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum


@dataclass(frozen=True)
class SpcSettings:
    """Per-metric SPC options; DOMAIN makes direction, run lengths, baseline and screening per metric."""

    direction: Direction
    baseline_points: int | None = None
    shift_run: int = 7
    trend_run: int = 7
    screen_moving_ranges: bool = False

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}; got {self.direction!r}")
        for name in ("shift_run", "trend_run"):
            if not _is_count(getattr(self, name), 2):
                raise ValueError(f"{name} must be an integer >= 2; got {getattr(self, name)!r}")
        if self.baseline_points is not None and not _is_count(self.baseline_points, 2):
            raise ValueError(f"baseline_points must be None or an integer >= 2; got {self.baseline_points!r}")
        if not isinstance(self.screen_moving_ranges, bool):
            raise ValueError(f"screen_moving_ranges must be a bool; got {self.screen_moving_ranges!r}")


@dataclass(frozen=True)
class SeriesSummary:
    """What a report shows for one series: the last point's icons and the latest segment's limits."""

    latest_period: Any
    latest_value: float
    latest_target: float | None
    variation_icon: str
    assurance_icon: str | None
    mean: float
    upl: float
    lpl: float
    points_in_segment: int
    segment_id: int
    is_trial_limits: bool
    rebase_suggested: bool
    rebase_reason: str | None


@dataclass(frozen=True)
class _Limits:
    mean: np.ndarray
    mr_bar: np.ndarray
    upl: np.ndarray
    lpl: np.ndarray
    upper_two_sigma: np.ndarray
    lower_two_sigma: np.ndarray

    @classmethod
    def around(cls, mean: np.ndarray, mr_bar: np.ndarray) -> _Limits:
        sigma3, sigma2 = LIMIT_FACTOR * mr_bar, TWO_SIGMA_FACTOR * mr_bar
        return cls(mean, mr_bar, mean + sigma3, mean - sigma3, mean + sigma2, mean - sigma2)


def _compare(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sign of a − b (−1, 0, 1); 0 within float rounding or when either side is NaN."""
    with np.errstate(invalid="ignore"):
        diff, tol = a - b, REL_TOL * np.maximum(np.abs(a), np.abs(b))
        return np.where(diff > tol, 1, np.where(diff < -tol, -1, 0))


def _run_lengths(keys: np.ndarray) -> np.ndarray:
    """For each position, the length of the run of equal consecutive keys it belongs to."""
    starts = np.r_[True, keys[1:] != keys[:-1]]
    run_id = np.cumsum(starts) - 1
    return np.bincount(run_id)[run_id]


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
    """1-based segment ids; DOMAIN: a rebase starts a new segment at its point."""
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
    mr[_segment_starts(segment)] = np.nan
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
) -> _Limits:
    """Centre line and MR̄ of each segment's baseline points (DOMAIN), extended over the whole segment."""
    mean = _segment_mean(values, baseline, segment)
    mr_bar = _segment_mean(mr, baseline, segment)
    if screen:
        # Ranges above the upper range limit (D4 · MR̄) are dropped and MR̄ recomputed once, no iteration.
        mr_bar = _segment_mean(mr, baseline & (_compare(mr, RANGE_LIMIT_FACTOR * mr_bar) <= 0), segment)
    return _Limits.around(mean, mr_bar)


def _segment_starts(segment: np.ndarray) -> np.ndarray:
    return np.r_[True, segment[1:] != segment[:-1]]


def _point_in_segment(segment: np.ndarray) -> np.ndarray:
    first_index = np.flatnonzero(_segment_starts(segment))  # segment k starts at first_index[k - 1]
    return np.arange(len(segment)) - first_index[segment - 1] + 1


def _shift(side: np.ndarray, segment: np.ndarray, run: int) -> np.ndarray:
    """DOMAIN rule 2: `run`+ consecutive points strictly one side of the mean; on-the-mean breaks it."""
    keys = segment * 3 + side + 1  # a run never spans a rebase
    return (side != 0) & (_run_lengths(keys) >= run)


def _trend(values: np.ndarray, segment: np.ndarray, run: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DOMAIN rule 3: `run` points = run − 1 strict steps one way; a tie breaks it. Returns (rising,
    falling, arriving): a peak ends a rising trend (arriving +1) and may start a falling one."""
    step = np.r_[0, _compare(values[1:], values[:-1])]
    step[_segment_starts(segment)] = 0  # no step across a rebase
    arriving = np.where((step != 0) & (_run_lengths(step) >= run - 1), step, 0)
    leaving = np.r_[arriving[1:], 0]
    return (arriving > 0) | (leaving > 0), (arriving < 0) | (leaving < 0), arriving


def _two_of_three(side: np.ndarray, beyond: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """DOMAIN rule 4 for one side: windows of 3 points all on `side`'s side of the mean (within a
    segment) holding 2+ points beyond that side's 2σ line flag their points beyond 2σ."""
    n = len(side)
    if n < 3:
        return np.zeros(n, dtype=bool)
    on_side = np.lib.stride_tricks.sliding_window_view(side, 3).all(axis=1)
    count = np.lib.stride_tricks.sliding_window_view(beyond, 3).sum(axis=1)
    window = on_side & (count >= 2) & (segment[:-2] == segment[2:])
    covered = np.zeros(n, dtype=bool)
    for offset in range(3):
        covered[offset : offset + n - 2] |= window
    return covered & beyond


def _signals(values: np.ndarray, segment: np.ndarray, lim: _Limits, settings: SpcSettings) -> dict:
    """(high, low) flags per rule, plus the trend arriving at each point (the neutral tie-break)."""
    side = _compare(values, lim.mean)
    above_2s, below_2s = _compare(values, lim.upper_two_sigma) > 0, _compare(values, lim.lower_two_sigma) < 0
    rising, falling, arriving = _trend(values, segment, settings.trend_run)
    shift = _shift(side, segment, settings.shift_run)
    return {
        "astronomical": (_compare(values, lim.upl) > 0, _compare(values, lim.lpl) < 0),
        "two_of_three": (
            _two_of_three(side > 0, above_2s, segment),
            _two_of_three(side < 0, below_2s, segment),
        ),
        "shift": (shift & (side > 0), shift & (side < 0)),
        "trend": (rising, falling),
        "trend_arriving": (arriving > 0, arriving < 0),
    }


def _classify(signals: dict, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """point_type and variation_icon. DOMAIN: improvement wins when rules disagree."""
    high = np.logical_or.reduce([signals[rule][0] for rule in RULES])
    low = np.logical_or.reduce([signals[rule][1] for rule in RULES])
    if direction == "neutral":
        # Position rules agree on a point's side; only a trend can disagree, and at a peak or trough
        # the trend arriving at the point wins: it is the one the point would show as the last point.
        priority = [*RULES[:3], "trend_arriving", "trend"]
        side = np.select([flag for key in priority for flag in signals[key]], ["high", "low"] * 5, "")
        point_type = np.where(high | low, "neutral", "common_cause")
        return point_type, np.where(high | low, np.char.add("neutral_", side), "common_cause")
    good, bad = ("high", "low") if direction == "increase" else ("low", "high")
    improving, worsening = (high, low) if direction == "increase" else (low, high)
    point_type = np.select([improving, worsening], ["improvement", "concern"], "common_cause")
    icon = np.select([improving, worsening], [f"improvement_{good}", f"concern_{bad}"], "common_cause")
    return point_type, icon


def _assurance(target: np.ndarray, lim: _Limits, direction: str) -> np.ndarray:
    """DOMAIN assurance: increase passes when target ≤ LPL, fails when target ≥ UPL; decrease mirrored."""
    icon = np.full(len(target), None, dtype=object)
    if direction == "neutral":
        return icon
    vs_upl, vs_lpl = _compare(target, lim.upl), _compare(target, lim.lpl)
    passes, fails = (vs_lpl <= 0, vs_upl >= 0) if direction == "increase" else (vs_upl >= 0, vs_lpl <= 0)
    known = ~np.isnan(target) & ~np.isnan(lim.upl)
    icon[known] = "hit_and_miss"
    icon[known & fails] = "fail"
    icon[known & passes] = "pass"  # only both when MR̄ = 0 and target = mean
    return icon


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
    # DOMAIN: with a baseline length N, limits come from the first N points and extend forward.
    baseline = position <= (settings.baseline_points or len(values))
    mr = _moving_ranges(values, segment)
    lim = _limits(values, mr, segment, baseline, settings.screen_moving_ranges)
    signals = _signals(values, segment, lim, settings)
    point_type, icon = _classify(signals, settings.direction)
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
        "assurance_icon": _assurance(_target(points), lim, settings.direction),
    }  # fmt: skip
    # One concat, not 21 column inserts: this runs once per series in the dbt model.
    added = pd.DataFrame({name: columns[name] for name in OUTPUT_COLUMNS}, index=points.index)
    return pd.concat([points.drop(columns=list(OUTPUT_COLUMNS), errors="ignore"), added], axis=1)


def _as_period_like(value: Any, period: pd.Series) -> Any:
    """Coerce an intervention period (often a string) to the series' period type so they compare."""
    if isinstance(period.dtype, pd.PeriodDtype):
        return pd.Period(value, freq=period.dtype.freq)
    if pd.api.types.is_datetime64_any_dtype(period):
        return pd.Timestamp(value)
    return value


def _format_period(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value)


def _rebase_suggestion(
    segment: pd.DataFrame, settings: SpcSettings, intervention_period: Any
) -> tuple[bool, str | None]:
    """DOMAIN: the pipeline may suggest (never apply) a rebase after a sustained shift, e.g. one that
    began at or after a project's intervention date."""
    side = _compare(segment["value"].to_numpy(dtype=float), segment["mean"].to_numpy(dtype=float))
    in_shift = segment["rule_shift"].to_numpy(dtype=bool) & (side == side[-1]) & (side != 0)
    length = int(np.cumprod(in_shift[::-1]).sum())  # the trailing run that includes the last point
    if length < settings.shift_run:
        return False, None
    start = segment["period"].iloc[-length]
    if intervention_period is not None and start < _as_period_like(intervention_period, segment["period"]):
        return False, None
    where = "above" if side[-1] > 0 else "below"
    return True, f"sustained shift of {length} points {where} the mean since {_format_period(start)}"


def _optional(value: Any) -> Any:
    return None if pd.isna(value) else value


def summarise_series(
    spc: pd.DataFrame, settings: SpcSettings, intervention_period: Any = None
) -> SeriesSummary:
    """Icons from the last point (DOMAIN: the variation icon is the last point's), limits from its segment."""
    if spc.empty:
        raise ValueError("cannot summarise an empty series")
    last = spc.iloc[-1]
    segment = spc[spc["segment_id"] == last["segment_id"]]
    suggested, reason = _rebase_suggestion(segment, settings, intervention_period)
    return SeriesSummary(
        latest_period=last["period"],
        latest_value=float(last["value"]),
        latest_target=_optional(float(last["target"])) if "target" in spc.columns else None,
        variation_icon=str(last["variation_icon"]),
        assurance_icon=_optional(last["assurance_icon"]),
        mean=float(last["mean"]),
        upl=float(last["upl"]),
        lpl=float(last["lpl"]),
        points_in_segment=len(segment),
        segment_id=int(last["segment_id"]),
        is_trial_limits=bool(last["is_trial_limits"]),
        rebase_suggested=suggested,
        rebase_reason=reason,
    )


def compute_spc_groups(
    frame: pd.DataFrame, keys: list[str], settings_for: Callable[[tuple], SpcSettings]
) -> pd.DataFrame:
    """compute_spc per series (e.g. metric_id × series_key), concatenated, for the dbt Python model.
    Each group is sorted by period first: warehouse tables carry no row order."""
    if frame.empty:
        return frame.reindex(columns=[*frame.columns, *OUTPUT_COLUMNS])
    parts = []
    for key, group in frame.groupby(keys, sort=False, dropna=False):
        try:
            parts.append(compute_spc(group.sort_values("period", kind="stable"), settings_for(key)))
        except ValueError as exc:
            raise ValueError(f"series {dict(zip(keys, key, strict=True))}: {exc}") from exc
    return pd.concat(parts, ignore_index=True)


def _int_or_none(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def settings_from_registry(metrics: pd.DataFrame) -> dict[str, SpcSettings]:
    """SpcSettings per metric_id from registry rows (dim_metrics: direction, baseline_points, runs, screening)."""
    return {
        row.metric_id: SpcSettings(
            direction=row.direction,
            baseline_points=_int_or_none(row.baseline_points),
            shift_run=int(row.shift_run),
            trend_run=int(row.trend_run),
            screen_moving_ranges=bool(row.screen_moving_ranges),
        )
        for row in metrics.itertuples()
    }


def summarise_groups(
    spc: pd.DataFrame, keys: list[str], settings_for: Callable[[tuple], SpcSettings],
    intervention_for: Callable[[tuple], Any] = lambda key: None,
) -> pd.DataFrame:
    """summarise_series per series of a compute_spc_groups result: one row per group, keys first."""
    rows = []
    for key, group in spc.groupby(keys, sort=True, dropna=False):
        ordered = group.sort_values("period", kind="stable")
        summary = summarise_series(ordered, settings_for(key), intervention_for(key))
        rows.append({**dict(zip(keys, key, strict=True)), **summary.__dict__})
    columns = [*keys, *SeriesSummary.__dataclass_fields__]
    return pd.DataFrame(rows, columns=columns)
