"""The differencing attack on the demo's share pack (tests/differencing.py is the referee): no blank of
published/share/share_metric_monthly can be recovered, or narrowed to two values or fewer, by subtracting
published parts from published totals across every hierarchy, nor given back by a rate beside it."""

import duckdb
import pytest

from tests.differencing import propagate, share_attack

pytestmark = pytest.mark.xdist_group("demo")


def demo_attack(home):
    published = home / "published"
    with duckdb.connect() as con:
        con.execute(f"attach '{published / 'kpo.duckdb'}' as warehouse (read_only)")
        part_of = dict(con.execute("select metric_id, part_of_metric_id from warehouse.dim_metrics "
                                   "where part_of_metric_id is not null").fetchall())
        cursor = con.execute(
            "select share.*, exact.numerator as exact_numerator, exact.denominator as exact_denominator "
            f"from read_parquet('{published / 'share' / 'share_metric_monthly.parquet'}') as share "
            "join warehouse.mart_metric_monthly as exact using (metric_id, series_key, period_month)")
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return share_attack(rows, part_of), rows


def test_no_blank_of_the_share_pack_is_recovered_or_narrowed_by_differencing(demo_home):
    attack, rows = demo_attack(demo_home)
    propagate(attack)
    # the attack is sound: every true count lies in the interval it ends with
    unsound = [k for k, c in attack.cells.items() if not c.low <= c.exact <= c.high]
    assert not unsound, unsound[:5]
    blanks, recovered, narrowed = attack.blanks(), attack.recovered(), attack.narrowed(2)
    print(f"\ndifferencing attack on the demo share pack: {len(blanks)} blank counts, {len(attack.groups)} groups; "
          f"recovered exactly: {len(recovered)}; narrowed to two values or fewer: {len(narrowed)}; primary blanks "
          f"narrowed within 1-7 at all: {len(attack.primary_narrowed_within_1_to_7())}")
    assert len(blanks) > 100, "the demo's share pack has small counts to protect"
    assert any(k[0].startswith("ed_rau") and k[2] == "trust" for k in blanks), "the RAU's trust row is sub-trust"
    assert (len(recovered), len(narrowed)) == (0, 0), (recovered[:5], narrowed[:5])
