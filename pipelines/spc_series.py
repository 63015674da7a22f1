"""One series at a time: the summary a report shows (icons of the last point, the latest segment's
limits, a suggested rebase) and the per-group helpers the dbt Python models call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.spc import OUTPUT_COLUMNS, OUTPUT_DTYPES, SpcSettings, compute_spc
from pipelines.spc_rules import compare


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


# SeriesSummary's columns as summarise_groups types them (latest_period takes the series' period type): typed,
# not inferred, so that no summary yet, or a column blank in every series (no rebase suggested anywhere), still
# reaches the warehouse as the mart's contract declares.
SUMMARY_DTYPES: dict[str, str] = {
    **dict.fromkeys(("latest_value", "latest_target", "mean", "upl", "lpl"), "float64"),
    **dict.fromkeys(("variation_icon", "assurance_icon", "rebase_reason"), "str"),
    **dict.fromkeys(("points_in_segment", "segment_id"), "int64"),
    **dict.fromkeys(("is_trial_limits", "rebase_suggested"), "bool"),
}


def _typed(dtype: Any) -> Any:
    """A column's type, with objects taken for text: DuckDB hands an empty VARCHAR column to pandas as objects
    (a column with values as text), and pandas hands objects back to DuckDB as INTEGER."""
    return "str" if pd.api.types.is_object_dtype(dtype) else dtype


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
    """docs/spc.md: the pipeline may suggest (never apply) a rebase after a sustained shift, e.g. one that
    began in or after the period holding a project's intervention date (a month's point cannot tell the
    days before the intervention from those after)."""
    side = compare(segment["value"].to_numpy(dtype=float), segment["mean"].to_numpy(dtype=float))
    in_shift = segment["rule_shift"].to_numpy(dtype=bool) & (side == side[-1]) & (side != 0)
    length = int(np.cumprod(in_shift[::-1]).sum())  # the trailing run that includes the last point
    if length < settings.shift_run:
        return False, None
    start = segment["period"].iloc[-length]
    if intervention_period is not None:
        intervention = _as_period_like(intervention_period, segment["period"])
        if isinstance(intervention, pd.Timestamp) and bool((segment["period"].dt.day == 1).all()):
            intervention = intervention.normalize().replace(day=1)  # months given as their first day
        if start < intervention:
            return False, None
    where = "above" if side[-1] > 0 else "below"
    return True, f"sustained shift of {length} points {where} the mean since {_format_period(start)}"


def _optional(value: Any) -> Any:
    return None if pd.isna(value) else value


def summarise_series(
    spc: pd.DataFrame, settings: SpcSettings, intervention_period: Any = None
) -> SeriesSummary:
    """Icons from the last point (docs/spc.md: the variation icon is the last point's), limits from its segment."""
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
    if frame.empty:  # no metric has a point yet: the columns still have their types
        typed = frame.astype({name: _typed(dtype) for name, dtype in frame.dtypes.items()})
        return typed.reindex(columns=[*frame.columns, *OUTPUT_COLUMNS]).astype(OUTPUT_DTYPES)
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
    types = {**{key: _typed(spc[key].dtype) for key in keys}, "latest_period": spc["period"].dtype, **SUMMARY_DTYPES}
    return pd.DataFrame(rows, columns=columns).astype(types)
