"""One series' SPC chart as a plotly figure, drawn the way NHS England's Making Data Count (MDC) draws it.

Input is a series' rows of `mart_metric_spc` (oldest first) and the dates to mark. Limits are drawn
per run of equal values within a segment, so a rebase shows as a step; trial limits are dotted and
labelled; a series with a single point (no moving range, so no limits) shows the point alone. The
figure is returned as a plain dict (`data`, `layout`) without plotly's template: the report applies
one shared base layout in the browser instead of repeating it ~300 times. It is built as plotly.js's JSON
directly, not through plotly's graph objects: those validate every property on construction, ~15 ms a chart
(2.5 s of each run's publication for ~170 charts). The unit tests validate every kind of chart through
`plotly.graph_objects.Figure` instead, once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

# The MDC colours (docs/spc.md, icons).
POINT_COLOURS = {"common_cause": "#a6a6a6", "improvement": "#00b0f0", "concern": "#e46c0a", "neutral": "#490092"}
POINT_LABELS = {"common_cause": "common cause", "improvement": "special cause improvement",
                "concern": "special cause concern", "neutral": "special cause (neutral)"}
TARGET_COLOUR = "#de1b1b"
MEAN_COLOUR = "#404040"
LIMIT_COLOUR = "#7f7f7f"
MARKER_STYLES = {"intervention": ("#1f1f1f", "solid"), "remeasure": ("#595959", "dot"), "rebase": ("#490092", "dash")}

Point = Mapping[str, Any]
Trace = dict[str, Any]


def _scatter(**properties: Any) -> Trace:
    """A plotly.js scatter trace."""
    return {"type": "scatter", **properties}


@dataclass(frozen=True)
class Marker:
    """A dated vertical line: a project's intervention, a re-measure, or an approved rebase."""

    date: dt.date
    label: str
    kind: Literal["intervention", "remeasure", "rebase"]


def tidy(value: float | None) -> float | None:
    """Enough precision to read a value off the chart, not the 17 digits a double prints with."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(value, 2) if abs(value) >= 1 else float(f"{value:.3g}")


def _day(value: dt.date) -> str:
    return value.isoformat()[:10]


def _level_runs(points: Sequence[Point], column: str) -> tuple[list[str | None], list[float | None]]:
    """Horizontal lines for `column` over each run of equal values within a segment, gaps in between."""
    xs: list[str | None] = []
    ys: list[float | None] = []
    run: list[Point] = []
    for point in [*points, None]:
        continues = point is not None and bool(run) and point["segment_id"] == run[0]["segment_id"] \
            and tidy(point[column]) == tidy(run[0][column])
        if run and not continues:
            xs += [_day(run[0]["period_month"]), _day(run[-1]["period_month"]), None]
            ys += [tidy(run[0][column])] * 2 + [None]
            run = []
        if point is not None and tidy(point[column]) is not None:
            run.append(point)
    return xs[:-1], ys[:-1]


def _values_traces(points: Sequence[Point], legend: bool) -> list[Trace]:
    """The values, each point in its MDC colour, plus (for a full-size chart) a legend entry per point type."""
    types = [p["point_type"] or "common_cause" for p in points]
    values = _scatter(
        x=[_day(p["period_month"]) for p in points], y=[tidy(p["value"]) for p in points], name="Value", uid="values",
        mode="lines+markers", line={"color": POINT_COLOURS["common_cause"], "width": 1.5}, showlegend=False,
        marker={"color": [POINT_COLOURS[t] for t in types], "size": 7},
        customdata=[POINT_LABELS[t] for t in types], hovertemplate="%{x|%b %Y}: %{y}<br>%{customdata}<extra></extra>")
    entries = [_scatter(x=[None], y=[None], mode="markers", name=POINT_LABELS[kind], hoverinfo="skip",
                        marker={"color": POINT_COLOURS[kind], "size": 7}) for kind in POINT_COLOURS if kind in types]
    return [values, *entries] if legend else [values]


def _limit_traces(points: Sequence[Point]) -> tuple[list[Trace], list[dict]]:
    """Mean (solid), and UPL with LPL as one dashed trace - dotted and labelled where the limits are trial."""
    drawn = [p for p in points if tidy(p["upl"]) is not None]
    if not drawn:
        return [], []
    xs, ys = _level_runs(drawn, "mean")
    traces = [_scatter(x=xs, y=ys, mode="lines", name="Mean", line={"color": MEAN_COLOUR, "width": 1.5},
                       hoverinfo="skip")]
    annotations = []
    for trial in (False, True):
        chosen = [p for p in drawn if bool(p["is_trial_limits"]) is trial]
        if not chosen:
            continue
        (upper_x, upper_y), (lower_x, lower_y) = _level_runs(chosen, "upl"), _level_runs(chosen, "lpl")
        traces.append(_scatter(x=[*upper_x, None, *lower_x], y=[*upper_y, None, *lower_y], mode="lines",
                               name="Process limits (trial limits)" if trial else "Process limits", hoverinfo="skip",
                               line={"color": LIMIT_COLOUR, "width": 1.2, "dash": "dot" if trial else "dash"}))
        if trial:
            last = chosen[-1]
            annotations.append({"x": _day(last["period_month"]), "y": tidy(last["upl"]), "text": "trial limits",
                                "showarrow": False, "xanchor": "right", "yanchor": "bottom",
                                "font": {"size": 10, "color": LIMIT_COLOUR}})
    return traces, annotations


def _target_trace(points: Sequence[Point]) -> Trace | None:
    xs, ys = _level_runs([{**p, "segment_id": 0} for p in points], "target")
    if not xs:
        return None
    if len(points) == 1:  # a line one point long is invisible: mark the target beside the point instead
        return _scatter(x=xs[:1], y=ys[:1], mode="markers", name="Target", hovertemplate="target %{y}<extra></extra>",
                        marker={"color": TARGET_COLOUR, "symbol": "line-ew-open", "size": 28, "line": {"width": 2}})
    return _scatter(x=xs, y=ys, mode="lines", name="Target", line={"color": TARGET_COLOUR, "width": 1.5},
                    hovertemplate="target %{y}<extra></extra>")


def _marker_shapes(markers: Sequence[Marker]) -> tuple[list[dict], list[dict]]:
    shapes, annotations = [], []
    for marker in markers:
        colour, dash = MARKER_STYLES[marker.kind]
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": _day(marker.date), "x1": _day(marker.date),
                       "y0": 0, "y1": 1, "line": {"color": colour, "width": 1.2, "dash": dash}})
        annotations.append({"x": _day(marker.date), "y": 1, "xref": "x", "yref": "paper", "text": marker.label,
                            "showarrow": False, "textangle": -90, "xanchor": "right", "yanchor": "top",
                            "font": {"size": 10, "color": colour}})
    return shapes, annotations


def _single_month_axis(period: dt.date) -> dict:
    """A month either side of a lone point; plotly would otherwise zoom in to hours."""
    return {"range": [_day(period - dt.timedelta(days=45)), _day(period + dt.timedelta(days=45))], "dtick": "M1"}


def rebase_markers(points: Sequence[Point]) -> list[Marker]:
    """A marker where each approved rebase starts a new segment."""
    return [Marker(p["period_month"], "rebase", "rebase") for p in points if p["starts_rebased_segment"]]


def spc_figure(points: Sequence[Point], markers: Sequence[Marker] = (), unit: str = "",
               compact: bool = False) -> dict:
    """The SPC chart of one series as {"data": [...], "layout": {...}} ready for `Plotly.newPlot`."""
    if not points:
        raise ValueError("an SPC chart needs at least one point")
    traces: list[Trace] = []
    annotations: list[dict] = []
    if len(points) > 1:
        traces, annotations = _limit_traces(points)
    target = _target_trace(points)
    traces += [target] if target else []
    traces += _values_traces(points, legend=not compact)
    shapes, marker_labels = _marker_shapes([*markers, *rebase_markers(points)])
    layout = {"showlegend": not compact}
    if shapes:
        layout["shapes"] = shapes
    if annotations + marker_labels:
        layout["annotations"] = annotations + marker_labels
    if unit:
        layout["yaxis"] = {"title": {"text": unit}}
    if len(points) == 1:
        layout["xaxis"] = _single_month_axis(points[0]["period_month"])
    return {"data": traces, "layout": layout}
