"""The referee of disclosure control (tests/differencing.py) on adversarial small counts: it must find the
recoveries primary suppression alone leaves (the two found in the demo's first share pack), and none once
the blanks are protected as the share model protects them (its dbt unit tests work the same fixtures)."""

import duckdb

from pipelines.publication import _csv_select
from tests.differencing import propagate, share_attack

MONTH = "2023-09-01"


def row(metric, series, exact, shown, parent=None, kind="count"):
    return {"metric_id": metric, "series_key": series, "period_month": MONTH, "breakdown": series.split(":")[0],
            "parent_series_key": parent, "kind": kind, "exact_numerator": exact, "exact_denominator": None,
            "numerator": shown, "denominator": None, "value": shown, "is_sub_trust": series != "trust"}


def thoracic(car, bronchoscopy, cardiac):
    return [row("c", "csu:CAR", 17, car), row("c", "specialty:Bronchoscopy", 8, bronchoscopy, "csu:CAR"),
            row("c", "specialty:Cardiac Surgery", 8, cardiac, "csu:CAR"),
            row("c", "specialty:Thoracic Surgery", 1, None, "csu:CAR")]


def attack(rows, part_of=None):
    result = share_attack(rows, part_of or {})
    propagate(result)
    return result


def test_primary_suppression_alone_is_recovered_by_differencing():
    sites = attack([row("w", "trust", 2, 0), row("w", "site:A", 1, None), row("w", "site:B", 1, None)])
    assert sorted(k[2] for k in sites.recovered()) == ["site:A", "site:B"]
    specialties = attack(thoracic(15, 10, 10))
    assert [k[2] for k in specialties.recovered()] == ["specialty:Thoracic Surgery"]


def test_the_attack_reads_a_blank_numerator_back_from_the_rate_beside_it():
    rate = {**row("r", "site:A", 3, None, kind="rate"), "exact_denominator": 60, "denominator": 60, "value": 5.0}
    cell = attack([rate]).cells[("r", "numerator", "site:A", MONTH)]
    # 5 % of a rounded 60 is a rounded 3: the true numerator is 1-5, not the blank's 1-7
    assert (cell.low, cell.high) == (1, 5)


def test_suppressing_the_total_or_the_siblings_leaves_nothing_recovered_or_narrowed():
    sites = attack([row("w", "trust", 2, None), row("w", "site:A", 1, None), row("w", "site:B", 1, None)])
    specialties = attack(thoracic(None, None, None))
    for result in (sites, specialties):
        assert (len(result.recovered()), len(result.narrowed(2))) == (0, 0)


def test_a_unit_inside_a_department_is_differenced_against_it():
    rows = [row("d", "trust", 2, 0), {**row("u", "trust", 2, None), "is_sub_trust": True}]
    assert attack(rows, {"u": "d"}).narrowed(2), "a department of 0-2 pins its unit's blank to 1 or 2"


def test_the_share_csv_prints_counts_as_integers_and_other_values_with_one_decimal():
    with duckdb.connect() as con:
        con.execute("create table t as select * from (values ('count', 10.0, 10.0), ('rate', 30.0, 33.33333333333333),"
                    " ('statistic', 25.0, 442.6999999999989)) as v(kind, numerator, value)")
        printed = con.execute(f"select {_csv_select(con, 't')} from t").fetchall()
    assert printed == [("count", "10", "10"), ("rate", "30", "33.3"), ("statistic", "25", "442.7")]
