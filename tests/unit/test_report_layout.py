"""Where the report puts each series, and the Making Data Count icons beside it."""

import datetime as dt

from pipelines.report import check_results
from pipelines.report_data import ReportData
from pipelines.report_icons import assurance_icon, icon_symbols, variation_icon
from pipelines.report_layout import arrange


def metric(metric_id, commitment, project=None):
    return {"metric_id": metric_id, "metric_name": metric_id.title(), "unit": "days", "direction": "decrease",
            "project_id": project, "primary_commitment_id": commitment, "target": None, "description": None}


def summary(metric_id, series_key):
    breakdown, _, value = series_key.partition(":")
    return {"metric_id": metric_id, "series_key": series_key, "metric_name": metric_id.title(), "unit": "days",
            "direction": "decrease", "breakdown": breakdown, "breakdown_value": value or None,
            "is_trust_wide": series_key == "trust", "project_id": None, "target": None,
            "latest_period_month": dt.date(2024, 1, 1)}


def report_data(series):
    return ReportData(
        commitments=[{"commitment_id": "a", "commitment_name": "A"}, {"commitment_id": "b", "commitment_name": "B"}],
        metrics={m["metric_id"]: m for m in [metric("waits", "a"), metric("leadtime", "a", "p1"),
                                             metric("orphan", "retired"), metric("quiet", "b")]},
        projects={"p1": {"project_id": "p1", "metric_id": "leadtime", "series_key": "specialty:Bronchoscopy"}},
        projects_by_commitment={"a": ["p1"], "b": ["p1"]},
        projects_by_series={("leadtime", "specialty:Bronchoscopy"): ["p1"]},
        remeasures={}, series=series, points={}, csu_names={"CAR": "Cardio-Respiratory"}, site_names={})


def test_every_series_is_placed_once_in_reading_order():
    series = [summary(*key) for key in [("waits", "csu:CAR"), ("waits", "trust"), ("leadtime", "csu:ABD"),
                                        ("leadtime", "specialty:Bronchoscopy"), ("leadtime", "trust"),
                                        ("orphan", "trust"), ("unregistered", "site:LGI")]]
    sections = arrange(report_data(series))
    assert [s.commitment["commitment_name"] for s in sections] == ["A", "B", "Other metrics"]
    first = sections[0]
    assert [m.metric["metric_id"] for m in first.metrics] == ["leadtime", "waits"]  # the project's metric first
    leadtime = first.metrics[0]
    assert [(p.label, p.project_ids) for p in leadtime.lead] == [("Trust-wide", []),
                                                                 ("Specialty: Bronchoscopy", ["p1"])]
    assert [(title, [p.label for p in group]) for title, group in leadtime.groups] == [("CSU", ["CSU: ABD"])]
    assert [p.label for _, group in first.metrics[1].groups for p in group] == ["Cardio-Respiratory (CAR)"]
    assert sections[1].metrics[0].lead == [] and sections[1].metrics[0].groups == []
    assert [m.metric["metric_id"] for m in sections[2].metrics] == ["orphan", "unregistered"]
    placed = [p for section in sections for p in section.series()]
    assert [p.index for p in placed] == list(range(1, len(series) + 1))
    assert sorted((p.summary["metric_id"], p.summary["series_key"]) for p in placed) == \
        sorted((s["metric_id"], s["series_key"]) for s in series)


def test_other_metrics_section_is_left_out_when_nothing_needs_it():
    sections = arrange(report_data([summary("waits", "trust")]))
    assert [s.commitment["commitment_name"] for s in sections] == ["A", "B"]


def test_a_project_serving_no_known_commitment_still_gets_its_card():
    data = report_data([summary("waits", "trust")])
    data.projects["p2"] = {"project_id": "p2", "metric_id": "waits", "series_key": "trust"}
    sections = arrange(data)
    assert [(s.commitment["commitment_name"], s.project_ids) for s in sections] == \
        [("A", ["p1"]), ("B", ["p1"]), ("Other metrics", ["p2"])]


def test_icons_use_the_mdc_colours_and_say_why_assurance_is_missing():
    symbols = icon_symbols()
    for code, colour in [("improvement_low", "#00b0f0"), ("concern_high", "#e46c0a"), ("neutral_low", "#490092"),
                         ("common_cause", "#a6a6a6"), ("pass", "#00b0f0"), ("fail", "#e46c0a")]:
        symbol = symbols[symbols.index(f'id="mdc-{code}"'):]
        assert f'stroke="{colour}"' in symbol[:symbol.index("</symbol>")], code
    assert '<use href="#mdc-improvement_high"/>' in variation_icon("improvement_high")
    assert "Special cause improvement (high)" in variation_icon("improvement_high")
    assert "no assurance: no target" in assurance_icon(None, "decrease", None)
    assert "neutral metric" in assurance_icon(None, "neutral", 5.0)
    assert "Consistently fails the target" in assurance_icon("fail", "increase", 5.0)


def test_footer_lists_failed_checks_without_hash_like_tokens():
    token = "ab" * 32
    manifest = {"checks": [{"asset": "a", "check": "ok", "passed": True, "severity": "ERROR", "description": None},
                           {"asset": "b", "check": "late", "passed": False, "severity": "WARN",
                            "description": f"file {token} arrived late"}]}
    results = check_results(manifest)
    assert (results["total"], results["passed"], results["warned"], results["failed"]) == (2, 1, 1, 0)
    assert [(c["check"], c["description"]) for c in results["failing"]] == [("late", "file [hash] arrived late")]
