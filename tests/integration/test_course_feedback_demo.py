"""course_feedback end to end: the demo publishes the training programme's seed figures
(plugins/course_feedback/README.md), with rates recomputed from the summed monthly numerators and denominators,
and no free text."""

from pathlib import Path

import duckdb
import pytest

from plugins.course_feedback.synthetic import CRITICISM, PRAISE

pytestmark = pytest.mark.xdist_group("demo")
INTRO_AND_FOUNDATION = ("course:Introduction to value & waste", "course:Foundation day")


def window(home: Path, metric: str, series: tuple[str, ...], first: str, last: str) -> tuple[float, float | None]:
    with duckdb.connect(str(home / "published" / "kpo.duckdb"), read_only=True) as con:
        return con.execute(
            "select sum(numerator), sum(denominator) from mart_metric_monthly where metric_id = ? "
            "and series_key in (select unnest(?)) and period_month between ? and ?",
            [metric, list(series), first, last]).fetchone()


def test_introduction_and_foundation_sessions_539_participants_99_pct_recommend(demo_home):
    participants, _ = window(demo_home, "course_participants", INTRO_AND_FOUNDATION, "2021-09-01", "2023-04-01")
    recommending, responses = window(demo_home, "course_recommend_pct", INTRO_AND_FOUNDATION, "2021-09-01",
                                     "2023-04-01")
    assert participants == 539 and responses == 539
    assert abs(100 * recommending / responses - 99) <= 1


def test_intermediate_course_118_participants_93_pct_recommend_within_capacity(demo_home):
    series = ("course:Intermediate course",)
    participants, _ = window(demo_home, "course_participants", series, "2022-08-01", "2023-04-01")
    recommending, responses = window(demo_home, "course_recommend_pct", series, "2022-08-01", "2023-04-01")
    assert participants == 118 and responses == 118
    assert abs(100 * recommending / responses - 93) <= 1
    used, capacity = window(demo_home, "course_intermediate_capacity_used_pct", ("trust",), "2022-08-01", "2023-04-01")
    assert (used, capacity) == (118, 25 * 9)  # nine months at 25 new participants a month


def test_free_text_and_email_never_reach_a_published_file(demo_home):
    with duckdb.connect(str(demo_home / "published" / "kpo.duckdb"), read_only=True) as con:
        columns = {r[0] for r in con.execute("select column_name from duckdb_columns() where not internal").fetchall()}
    assert not columns & {"comment", "respondent_email", "respondent_pseudonym", "respondent_email_pseudonym"}
    for path in (demo_home / "published").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not [c for c in (*PRAISE, *CRITICISM, "@nhs.net") if c.encode() in content], path
