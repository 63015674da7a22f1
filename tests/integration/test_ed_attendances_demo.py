"""ED attendances end to end: the demo publishes the RAU project's story and the department's 4-hour
performance by site; no raw NHS number gets past the inbox; a month sent again changes no number."""

import csv
from pathlib import Path

import duckdb
import pytest

from pipelines.reference import seed_projects

pytestmark = pytest.mark.xdist_group("demo")

MEASURES = ("median_minutes", "p95_minutes", "within_4_hours_pct", "over_12_hours_pct", "12_hour_dta_waits")
METRICS = [f"{prefix}_{measure}" for prefix in ("ed", "ed_rau") for measure in MEASURES]


def published(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / "published" / "kpo.duckdb"), read_only=True)


def test_rau_median_falls_from_the_290_minute_baseline_to_the_200_minute_target(demo_home):
    project = seed_projects()["rau_time_in_department"]
    with published(demo_home) as con:
        rows = con.execute("""
            select period_month, value from mart_metric_monthly
            where metric_id = 'ed_rau_median_minutes' and series_key = 'trust' order by period_month""").fetchall()
    baseline = sorted(v for month, v in rows if project.baseline_start <= month <= project.baseline_end)
    after = sorted(v for month, v in rows if month > project.intervention_date)
    assert len(baseline) == 12 and len(after) >= 12
    assert abs(baseline[6] - project.baseline_value) <= 10
    assert abs(after[len(after) // 2] - project.target) <= 10


def test_four_hour_performance_is_published_for_each_site_and_the_trust(demo_home):
    with published(demo_home) as con:
        pooled = dict(con.execute("""
            select series_key, 100 * sum(numerator) / sum(denominator) from mart_metric_monthly
            where metric_id = 'ed_within_4_hours_pct' group by series_key""").fetchall())
        daily = con.execute("""
            select count(*), count(distinct period_date), sum(numerator), sum(denominator) from mart_metric_daily
            where metric_id = 'ed_within_4_hours_pct' and series_key = 'trust'""").fetchone()
        monthly_total = con.execute("""
            select sum(numerator), sum(denominator) from mart_metric_monthly
            where metric_id = 'ed_within_4_hours_pct' and series_key = 'trust'""").fetchone()
    assert set(pooled) == {"trust", "site:LGI", "site:SJUH"}
    assert all(66 <= share <= 78 for share in pooled.values()), pooled
    assert daily[0] == daily[1] > 1000  # one trust row per day of arrival, October 2020 to December 2023
    assert daily[2:] == monthly_total   # days and months count the same attendances


def test_every_ed_metric_has_trust_and_site_series_and_only_rates_and_counts_are_daily(demo_home):
    with published(demo_home) as con:
        monthly = con.execute("""
            select metric_id, list(distinct series_key order by series_key) from mart_metric_monthly
            where metric_id like 'ed%' group by metric_id""").fetchall()
        daily = {row[0] for row in con.execute(
            "select distinct metric_id from mart_metric_daily where metric_id like 'ed%'").fetchall()}
        targets = dict(con.execute("select metric_id, target from dim_metrics where metric_id like 'ed%'").fetchall())
    assert dict(monthly) == dict.fromkeys(METRICS, ["site:LGI", "site:SJUH", "trust"])
    assert daily == {m for m in METRICS if not m.endswith("minutes")}
    assert (targets["ed_within_4_hours_pct"], targets["ed_rau_median_minutes"], targets["ed_12_hour_dta_waits"]) == (
        78, 200, 0)


def raw_nhs_numbers(home: Path) -> list[str]:
    numbers = set()
    for path in sorted((home / "archive" / "ed_attendances").rglob("*.csv"))[:3]:
        with path.open(newline="") as handle:
            numbers |= {row["NHS Number"] for row in csv.DictReader(handle) if row["NHS Number"]}
    return sorted(numbers)


def relations_holding(con: duckdb.DuckDBPyConnection, relations: list[str], numbers: list[str]) -> list[str]:
    """The relations with a text column holding any of `numbers` (one scan per relation)."""
    con.execute("create or replace temp table raw_numbers as select unnest(?) as number", [numbers])
    found = []
    for relation in relations:
        columns = [c for c, kind in con.execute(f"select column_name, column_type from (describe select * from "
                                                f"{relation})").fetchall() if kind == "VARCHAR"]
        condition = " or ".join(f'"{c}" in (select number from raw_numbers)' for c in columns)
        if columns and con.execute(f"select count(*) from {relation} where {condition}").fetchone()[0]:
            found.append(relation)
    return found


def test_no_raw_nhs_number_reaches_landing_warehouse_or_publication(demo_home):
    numbers = raw_nhs_numbers(demo_home)
    assert len(numbers) > 1000
    landing = demo_home / "landing" / "ed_attendances" / "attendances"
    with duckdb.connect() as con:
        assert relations_holding(con, [f"read_parquet('{landing}/**/*.parquet', union_by_name = true)"],
                                    numbers) == []
    for database in (demo_home / "warehouse" / "build.duckdb", demo_home / "published" / "kpo.duckdb"):
        with duckdb.connect(str(database), read_only=True) as con:
            relations = [f'"{schema}"."{name}"' for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() union all "
                "select schema_name, view_name from duckdb_views() where not internal").fetchall()]
            assert relations_holding(con, relations, numbers) == [], database
