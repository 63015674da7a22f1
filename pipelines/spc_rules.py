"""The Making Data Count special-cause rules and judgements, vectorised over a whole series (docs/spc.md
§ Statistical process control, rules 1-4, point types, icons). Used by pipelines/spc.py."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np

Direction = Literal["increase", "decrease", "neutral"]
DIRECTIONS: tuple[str, ...] = ("increase", "decrease", "neutral")

# 2.66 = 3 / d2 with d2 = 1.128 for ranges of two points; 3.267 = D4, the upper range limit.
LIMIT_FACTOR = 2.66
TWO_SIGMA_FACTOR = 2 / 3 * LIMIT_FACTOR
REL_TOL = 1e-9  # "equal" for the rules; see the module docstring
RULES = ("astronomical", "two_of_three", "shift", "trend")  # also the neutral side priority


def _is_count(value: object, minimum: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum


@dataclass(frozen=True)
class SpcSettings:
    """Per-metric SPC options; docs/spc.md makes direction, run lengths, baseline and screening per metric."""

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


def segment_starts(segment: np.ndarray) -> np.ndarray:
    return np.r_[True, segment[1:] != segment[:-1]]


@dataclass(frozen=True)
class Limits:
    mean: np.ndarray
    mr_bar: np.ndarray
    upl: np.ndarray
    lpl: np.ndarray
    upper_two_sigma: np.ndarray
    lower_two_sigma: np.ndarray

    @classmethod
    def around(cls, mean: np.ndarray, mr_bar: np.ndarray) -> Limits:
        sigma3, sigma2 = LIMIT_FACTOR * mr_bar, TWO_SIGMA_FACTOR * mr_bar
        return cls(mean, mr_bar, mean + sigma3, mean - sigma3, mean + sigma2, mean - sigma2)


def compare(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sign of a − b (−1, 0, 1); 0 within float rounding or when either side is NaN."""
    with np.errstate(invalid="ignore"):
        diff, tol = a - b, REL_TOL * np.maximum(np.abs(a), np.abs(b))
        return np.where(diff > tol, 1, np.where(diff < -tol, -1, 0))


def run_lengths(keys: np.ndarray) -> np.ndarray:
    """For each position, the length of the run of equal consecutive keys it belongs to."""
    starts = np.r_[True, keys[1:] != keys[:-1]]
    run_id = np.cumsum(starts) - 1
    return np.bincount(run_id)[run_id]


def shift_points(side: np.ndarray, segment: np.ndarray, run: int) -> np.ndarray:
    """docs/spc.md rule 2: `run`+ consecutive points strictly one side of the mean; on-the-mean breaks it."""
    keys = segment * 3 + side + 1  # a run never spans a rebase
    return (side != 0) & (run_lengths(keys) >= run)


def trend_points(values: np.ndarray, segment: np.ndarray, run: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """docs/spc.md rule 3: `run` points = run − 1 strict steps one way; a tie breaks it. Returns (rising,
    falling, arriving): a peak ends a rising trend (arriving +1) and may start a falling one."""
    step = np.r_[0, compare(values[1:], values[:-1])]
    step[segment_starts(segment)] = 0  # no step across a rebase
    arriving = np.where((step != 0) & (run_lengths(step) >= run - 1), step, 0)
    leaving = np.r_[arriving[1:], 0]
    return (arriving > 0) | (leaving > 0), (arriving < 0) | (leaving < 0), arriving


def two_of_three_points(side: np.ndarray, beyond: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """docs/spc.md rule 4 for one side: windows of 3 points all on `side`'s side of the mean (within a
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


def rule_signals(values: np.ndarray, segment: np.ndarray, lim: Limits, settings: SpcSettings) -> dict:
    """(high, low) flags per rule, plus the trend arriving at each point (the neutral tie-break)."""
    side = compare(values, lim.mean)
    above_2s, below_2s = compare(values, lim.upper_two_sigma) > 0, compare(values, lim.lower_two_sigma) < 0
    rising, falling, arriving = trend_points(values, segment, settings.trend_run)
    shift = shift_points(side, segment, settings.shift_run)
    return {
        "astronomical": (compare(values, lim.upl) > 0, compare(values, lim.lpl) < 0),
        "two_of_three": (
            two_of_three_points(side > 0, above_2s, segment),
            two_of_three_points(side < 0, below_2s, segment),
        ),
        "shift": (shift & (side > 0), shift & (side < 0)),
        "trend": (rising, falling),
        "trend_arriving": (arriving > 0, arriving < 0),
    }


def classify(signals: dict, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """point_type and variation_icon. docs/spc.md: improvement wins when rules disagree."""
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


def assurance(target: np.ndarray, lim: Limits, direction: str) -> np.ndarray:
    """docs/spc.md, assurance: increase passes when target ≤ LPL, fails when target ≥ UPL; decrease mirrored."""
    icon = np.full(len(target), None, dtype=object)
    if direction == "neutral":
        return icon
    vs_upl, vs_lpl = compare(target, lim.upl), compare(target, lim.lpl)
    passes, fails = (vs_lpl <= 0, vs_upl >= 0) if direction == "increase" else (vs_upl >= 0, vs_lpl <= 0)
    known = ~np.isnan(target) & ~np.isnan(lim.upl)
    icon[known] = "hit_and_miss"
    icon[known & fails] = "fail"
    icon[known & passes] = "pass"  # only both when MR̄ = 0 and target = mean
    return icon


