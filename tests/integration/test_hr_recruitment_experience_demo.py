"""Recruitment experience end to end: < 20 % positive before the recruitment project's go-live, then
applicants 100 % and hiring managers 67 % (plugins/hr_recruitment/README.md), recomputed from the published parts."""

import duckdb
import pytest

pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="module")
def rounds(demo_home) -> dict[tuple[str, bool], float]:
    """% positive per metric before / after go-live: summed numerators over summed denominators."""
    with duckdb.connect(str(demo_home / "published" / "kpo.duckdb"), read_only=True) as con:
        rows = con.execute("""
            select m.metric_id, m.period_month < p.intervention_date as before,
                100 * sum(m.numerator) / sum(m.denominator) as positive_pct
            from mart_metric_monthly as m
            inner join dim_projects as p on p.project_id = 'recruitment_lead_time'
            where m.metric_id like 'recruitment_%_experience_positive_pct' and m.series_key = 'trust'
            group by all""").fetchall()
    return {(metric, before): pct for metric, before, pct in rows}


def test_recruitment_experience_is_under_20_pct_positive_at_baseline(rounds):
    assert rounds[("recruitment_applicant_experience_positive_pct", True)] < 20
    assert rounds[("recruitment_manager_experience_positive_pct", True)] < 20


def test_after_the_project_applicants_are_100_pct_and_hiring_managers_67_pct_positive(rounds):
    assert rounds[("recruitment_applicant_experience_positive_pct", False)] == 100
    assert abs(rounds[("recruitment_manager_experience_positive_pct", False)] - 67) <= 1
