"""Issue 4 on the demo publication: SPC marts agree with `kpo spc`, projects show special cause
improvement after their interventions, the scorecard attributes them, and the share pack obeys the
disclosure rules (checked against the rules, recomputed here from the exact internal mart)."""

import csv
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.helpers import kpo

pytestmark = pytest.mark.xdist_group("demo")

COMPARED = ("segment_id", "mean", "mr_bar", "upl", "lpl", "upper_two_sigma", "lower_two_sigma", "is_trial_limits",
            "rule_astronomical", "rule_shift", "rule_trend", "rule_two_of_three", "point_type", "variation_icon",
            "assurance_icon")


def published(home: Path, sql: str, params: list | None = None) -> list[dict]:
    with duckdb.connect(str(home / "published" / "kpo.duckdb"), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_cli_value(value: object) -> object:
    if value in ("True", "False"):
        return value == "True"
    if value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return value


def test_kpo_spc_and_the_marts_agree_on_every_trust_wide_series(demo_home, tmp_path):
    series = published(demo_home, "select s.metric_id, s.direction, m.baseline_points, m.shift_run, m.trend_run "
                                  "from mart_metric_summary s join dim_metrics m using (metric_id) "
                                  "where s.series_key = 'trust' order by 1")
    assert len(series) >= 2
    for item in series:
        points = published(demo_home, "select * from mart_metric_spc where metric_id = ? and series_key = 'trust' "
                                      "order by period_month", [item["metric_id"]])
        source = tmp_path / f"{item['metric_id']}.csv"
        with source.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["period", "value", "target", "rebase"])
            for point in points:
                writer.writerow([point["period_month"].isoformat(), repr(point["value"]),
                                 "" if point["target"] is None else repr(point["target"]),
                                 str(point["starts_rebased_segment"]).lower()])
        out = tmp_path / f"{item['metric_id']}.out.csv"
        args = ["spc", "--input", str(source), "--output", str(out), "--direction", item["direction"],
                "--shift-run", str(item["shift_run"]), "--trend-run", str(item["trend_run"])]
        if item["baseline_points"] is not None:
            args += ["--baseline-points", str(item["baseline_points"])]
        result = CliRunner().invoke(app, args)  # in-process (the subprocess form is tested below)
        assert result.exit_code == 0, result.output
        with out.open(newline="") as handle:
            cli_rows = list(csv.DictReader(handle))
        assert len(cli_rows) == len(points)
        for mart, cli in zip(points, cli_rows, strict=True):
            for column in COMPARED:
                expected, got = mart[column], as_cli_value(cli[column])
                if isinstance(expected, float) and not math.isnan(expected):
                    assert got == pytest.approx(expected, rel=1e-9), (item["metric_id"], column, mart["period_month"])
                else:
                    assert (got if got is not None else None) == expected, (item["metric_id"], column)


@pytest.mark.parametrize("metric_id, series_key, project_id, commitment_id", [
    ("recruitment_lead_time_days", "trust", "recruitment_lead_time", "workforce"),
    ("theatre_avoidable_cancellation_rate", "specialty:Bronchoscopy", "bronchoscopy_cancellations", "elective_access"),
])
def test_projects_show_special_cause_improvement_after_their_intervention(demo_home, metric_id, series_key,
                                                                          project_id, commitment_id):
    [project] = published(demo_home, "select * from dim_projects where project_id = ?", [project_id])
    points = published(demo_home, "select * from mart_metric_spc where metric_id = ? and series_key = ? "
                                   "order by period_month", [metric_id, series_key])
    after = [p for p in points if p["period_month"] > project["intervention_date"]]
    assert after, "no points after the intervention"
    improving = [p for p in after if p["point_type"] == "improvement"]
    # docs/spc.md: a decrease metric improves below the mean (shift) or below the LPL (astronomical).
    assert all(p["value"] < p["mean"] for p in improving)
    assert len(improving) >= 6 and any(p["rule_shift"] or p["rule_astronomical"] for p in improving)
    [summary] = published(demo_home, "select * from mart_metric_summary where metric_id = ? and series_key = ?",
                          [metric_id, series_key])
    assert summary["variation_icon"] == "improvement_low" and summary["project_id"] == project_id
    [scorecard] = published(demo_home, "select * from mart_commitment_scorecard where commitment_id = ?",
                            [commitment_id])
    assert metric_id in scorecard["metric_ids"].split(", ")
    assert project["project_name"] in scorecard["project_names"].split("; ")
    assert scorecard["series_improvement"] >= 1


def test_remeasures_cover_30_60_90_days_and_recorded_dates(demo_home):
    rows = published(demo_home, "select * from mart_project_remeasure where project_id = 'recruitment_lead_time'")
    labels = sorted(r["remeasure"] for r in rows)
    assert labels == ["30 days", "60 days", "90 days", "recorded"]
    for row in rows:
        assert (row["remeasure_date"] - row["intervention_date"]).days in {30, 60, 90} or row["remeasure"] == "recorded"
        assert row["status"] == "measured" and row["improved_on_baseline"] is True


def rule_rounded(count: float | None, trust_wide: bool) -> float | None:
    """docs/disclosure.md: "sub-trust counts of 1-7 are suppressed, other counts rounded to the nearest 5 (half up, not
    Python's banker's rounding)"."""
    if count is None:
        return None
    if 1 <= count <= 7 and not trust_wide:
        return None
    return float((Decimal(count) / 5).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 5)


def test_rule_rounded_matches_the_worked_examples():
    assert [rule_rounded(n, False) for n in (8, 12, 13, 7, 1, 0, 22.5)] == [10, 10, 15, None, None, 0, 25]
    assert [rule_rounded(n, True) for n in (7, 3, 2, 1, 0)] == [5, 5, 0, 0, 0]


def test_the_share_pack_obeys_disclosure_control(demo_home):
    share = demo_home / "published" / "share"
    assert (share / "share_metric_monthly.csv").exists() and (share / "README.txt").exists()
    shared = {(r["metric_id"], r["series_key"], r["period_month"]): r
              for r in pq.read_table(share / "share_metric_monthly.parquet").to_pylist()}
    exact = published(demo_home, "select * from mart_metric_monthly")
    assert len(shared) == len(exact)
    for row in exact:
        got = shared[(row["metric_id"], row["series_key"], row["period_month"])]
        # below trust level: every breakdown, and every row of a unit inside a department (the RAU)
        assert got["is_sub_trust"] == (not row["is_trust_wide"] or row["metric_id"].startswith("ed_rau_")), row
        for column in ("numerator", "denominator"):
            # a count is the rule's rounding of the exact one, or blank (suppressed to protect another)
            rounded = rule_rounded(row[column], not got["is_sub_trust"])
            assert got[column] is None or got[column] == rounded, (row, column)
            assert rounded is not None or got[column] is None, (row, column)
            assert got[column] is None or got[column] % 5 == 0
            assert not got["is_sub_trust"] or got[column] is None or not 1 <= got[column] <= 7
        if row["kind"] == "rate":
            if got["numerator"] is not None and got["denominator"] is not None and got["denominator"] >= 50:
                assert got["value"] == pytest.approx(100 * got["numerator"] / got["denominator"])
            else:
                assert got["value"] is None  # no rate from a suppressed part, nor over a small denominator
        if row["kind"] == "count":
            assert got["value"] == got["numerator"]
        if row["kind"] == "statistic":  # a median of few records is nearly theirs, trust-wide too
            few = got["denominator"] is None or got["denominator"] < 20
            assert got["value"] == (None if few else row["value"]) and (not few or got["is_suppressed"])
    with duckdb.connect(str(demo_home / "published" / "kpo.duckdb"), read_only=True) as con:
        internal = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert not any(name.startswith("share_") for name in internal)  # the internal warehouse stays exact


def test_kpo_spc_names_the_row_of_a_malformed_csv(tmp_path):
    source = tmp_path / "series.csv"
    source.write_text("period,value\n2023-01,4\n2023-01,5\n")
    result = kpo(tmp_path, "spc", "--input", str(source), "--output", str(tmp_path / "out.csv"))
    assert result.returncode == 2 and not result.stdout  # a refusal goes to stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "lines 2 and 3" in message and "duplicate period" in message
