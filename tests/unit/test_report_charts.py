"""The SPC chart builder on hand-made series: what an MDC reader checks on the chart."""

import datetime as dt

import pytest

from pipelines.report_charts import POINT_COLOURS, TARGET_COLOUR, Marker, spc_figure, tidy


def month(i: int) -> dt.date:
    return dt.date(2022 + i // 12, i % 12 + 1, 1)


def series(values, *, target=None, types=None, segments=None, limits=None, trial=False, rebase_at=()):
    """Rows shaped like mart_metric_spc; limits per segment as (mean, upl, lpl)."""
    segments = segments or [1] * len(values)
    limits = limits or {1: (50.0, 70.0, 30.0)}
    return [{"period_month": month(i), "value": v, "target": target, "segment_id": s,
             "mean": limits[s][0], "upl": limits[s][1], "lpl": limits[s][2],
             "is_trial_limits": trial if isinstance(trial, bool) else trial[s],
             "point_type": (types or ["common_cause"] * len(values))[i], "starts_rebased_segment": i in rebase_at}
            for i, (v, s) in enumerate(zip(values, segments, strict=True))]


def trace(figure, name):
    found = [t for t in figure["data"] if t.get("name") == name]
    assert found, f"no trace {name!r} in {[t.get('name') for t in figure['data']]}"
    return found


def values_trace(figure):
    return next(t for t in figure["data"] if t["name"] == "Value")


def names(figure):
    return {t.get("name") for t in figure["data"]}


def test_points_are_coloured_by_their_type_in_the_mdc_colours():
    types = ["common_cause", "improvement", "concern", "neutral", "common_cause"]
    figure = spc_figure(series([50, 71, 29, 50, 50], types=types))
    assert values_trace(figure)["marker"]["color"] == ["#a6a6a6", "#00b0f0", "#e46c0a", "#490092", "#a6a6a6"]
    assert values_trace(figure)["mode"] == "lines+markers"
    legend = {t["name"]: t["marker"]["color"] for t in figure["data"] if t.get("x") == [None]}
    assert legend == {"common cause": "#a6a6a6", "special cause improvement": "#00b0f0",
                      "special cause concern": "#e46c0a", "special cause (neutral)": "#490092"}


def test_mean_and_dashed_process_limits_span_the_series():
    figure = spc_figure(series([48, 52, 50, 49, 51], target=40.0))
    mean = trace(figure, "Mean")[0]
    limits = trace(figure, "Process limits")[0]
    assert (mean["x"], mean["y"]) == (["2022-01-01", "2022-05-01"], [50.0, 50.0])
    assert limits["x"] == ["2022-01-01", "2022-05-01", None, "2022-01-01", "2022-05-01"]
    assert limits["y"] == [70.0, 70.0, None, 30.0, 30.0]
    assert limits["line"]["dash"] == "dash"
    assert "trial limits" not in [a["text"] for a in figure["layout"].get("annotations", [])]


def test_target_line_is_mdc_red():
    target = trace(spc_figure(series([48, 52, 50], target=45.0)), "Target")[0]
    assert target["line"]["color"] == TARGET_COLOUR == "#de1b1b"
    assert target["y"] == [45.0, 45.0]


def test_no_target_draws_no_target_line():
    assert "Target" not in names(spc_figure(series([48, 52, 50])))


def test_trial_limits_are_dotted_and_labelled():
    figure = spc_figure(series([48, 52, 50, 49], trial=True))
    limits = trace(figure, "Process limits (trial limits)")[0]
    assert limits["line"]["dash"] == "dot" and limits["y"] == [70.0, 70.0, None, 30.0, 30.0]
    assert "Process limits" not in names(figure)
    assert "trial limits" in [a["text"] for a in figure["layout"]["annotations"]]


def test_a_rebase_steps_the_limits_and_is_marked():
    limits = {1: (50.0, 70.0, 30.0), 2: (20.0, 26.0, 14.0)}
    figure = spc_figure(series([50, 51, 49, 21, 20, 19], segments=[1, 1, 1, 2, 2, 2], limits=limits,
                               rebase_at={3}))
    limits = trace(figure, "Process limits")[0]
    runs = ["2022-01-01", "2022-03-01", None, "2022-04-01", "2022-06-01"]
    assert limits["x"] == [*runs, None, *runs]
    assert limits["y"] == [70.0, 70.0, None, 26.0, 26.0, None, 30.0, 30.0, None, 14.0, 14.0]
    assert trace(figure, "Mean")[0]["y"] == [50.0, 50.0, None, 20.0, 20.0]
    rebase = [s for s in figure["layout"]["shapes"] if s["x0"] == "2022-04-01"]
    assert len(rebase) == 1 and rebase[0]["yref"] == "paper"
    assert "rebase" in [a["text"] for a in figure["layout"]["annotations"]]


def test_a_rebase_into_a_short_segment_gives_firm_then_trial_limits():
    limits = {1: (50.0, 70.0, 30.0), 2: (20.0, 26.0, 14.0)}
    figure = spc_figure(series([50, 51, 49, 21, 20], segments=[1, 1, 1, 2, 2], limits=limits,
                               trial={1: False, 2: True}, rebase_at={3}))
    assert trace(figure, "Process limits")[0]["y"] == [70.0, 70.0, None, 30.0, 30.0]
    assert trace(figure, "Process limits (trial limits)")[0]["y"] == [26.0, 26.0, None, 14.0, 14.0]


def test_neutral_special_cause_points_are_purple():
    figure = spc_figure(series([50, 75, 50], types=["common_cause", "neutral", "common_cause"]))
    assert values_trace(figure)["marker"]["color"][1] == POINT_COLOURS["neutral"] == "#490092"


def test_a_single_point_is_drawn_without_limits():
    only = series([42.0])
    only[0].update(upl=None, lpl=None)
    figure = spc_figure(only, unit="days")
    assert names(figure) <= {"Value", "common cause"}
    assert values_trace(figure)["y"] == [42.0]
    assert figure["layout"]["yaxis"]["title"]["text"] == "days"


def test_a_single_point_shows_its_target_as_a_mark_beside_it():
    target = trace(spc_figure(series([42.0], target=40.0)), "Target")[0]
    assert (target["mode"], target["y"], target["marker"]["color"]) == ("markers", [40.0], "#de1b1b")


def test_project_dates_are_vertical_lines_across_the_plot():
    markers = [Marker(dt.date(2022, 2, 10), "intervention", "intervention"),
               Marker(dt.date(2022, 3, 12), "re-measure (30 days)", "remeasure")]
    figure = spc_figure(series([50, 51, 49, 48]), markers)
    lines = {(s["x0"], s["x1"], s["y0"], s["y1"], s["line"]["dash"]) for s in figure["layout"]["shapes"]}
    assert lines == {("2022-02-10", "2022-02-10", 0, 1, "solid"), ("2022-03-12", "2022-03-12", 0, 1, "dot")}
    assert {"intervention", "re-measure (30 days)"} <= {a["text"] for a in figure["layout"]["annotations"]}


def test_compact_charts_hide_the_legend_and_no_template_is_serialised():
    figure = spc_figure(series([50, 51]), compact=True)
    assert figure["layout"]["showlegend"] is False
    assert names(figure) == {"Mean", "Process limits", "Value"}
    assert "template" not in figure["layout"]


@pytest.mark.parametrize("raw, shown", [(80.60653846153846, 80.61), (0.0123456, 0.0123), (float("nan"), None),
                                        (None, None), (-3.14159, -3.14)])
def test_floats_are_rounded_for_the_page(raw, shown):
    assert tidy(raw) == shown


def test_an_empty_series_is_refused():
    with pytest.raises(ValueError, match="at least one point"):
        spc_figure([])


def test_every_kind_of_chart_is_what_plotly_itself_would_build():
    """The charts are written as plotly.js JSON directly (plotly's graph objects validate every property on
    construction, seconds per report): plotly validates each kind here and builds the same figure back."""
    import plotly.graph_objects as go

    markers = [Marker(dt.date(2022, 2, 10), "intervention", "intervention")]
    kinds = [spc_figure(series([50, 71, 29, 50, 50], target=40.0,
                               types=["common_cause", "improvement", "concern", "neutral", "common_cause"]),
                        markers, unit="days"),
             spc_figure(series([50, 51, 49], trial=True), compact=True),
             spc_figure(series([50, 51, 49, 80, 82, 81], segments=[1, 1, 1, 2, 2, 2], rebase_at=(3,),
                               limits={1: (50.0, 60.0, 40.0), 2: (81.0, 90.0, 72.0)}, trial={1: False, 2: True})),
             spc_figure(series([50], target=45.0), unit="%")]
    for figure in kinds:
        built = go.Figure(figure).to_plotly_json()  # raises on any property plotly.js does not know
        built["layout"].pop("template", None)
        assert built == figure
