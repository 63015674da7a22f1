"""The great-expectations suites of the marts and metric rows, on the demo's build: each passes, and each
conditional expectation judges some rows. One whose condition no row meets (a misspelt metric id, a value
the column never takes) passes without checking anything; the check's summary names it."""

import pytest

from pipelines.gx_suites import discover_suites, validate_batches, warehouse_batches
from pipelines.settings import Settings
from plugins import registry

pytestmark = pytest.mark.xdist_group("demo")

# Rules written ahead of the data: they judge rows once a metric they cover is published.
DORMANT = {
    ("mart_metric_daily", "unit == days"): "no daily metric is in days (time to hire is monthly)",
    ("mart_metric_summary", "direction == neutral"): "no published metric has a neutral direction",
}


def test_every_conditional_expectation_judges_rows_of_the_demo_build(demo_home, tmp_path):
    settings = Settings(home=demo_home)
    suites = [s for s in discover_suites(settings, registry.discover()) if s.kind == "model"]
    judged, unmatched = {}, set()
    for suite in suites:
        result = validate_batches(suite, warehouse_batches(settings, suite.target, settings.gx_batch_rows),
                                  tmp_path / "gx")
        assert result.success, f"{suite.name}: {result.summary()}"
        judged.update({(suite.name, o.condition, key): o.rows_checked for key, o in result.outcomes.items()
                       if o.condition is not None})
        unmatched |= {(suite.name, o.condition) for o in result.unmatched()}
        assert all(f"[{o.condition}]" in result.summary() for o in result.unmatched())
    assert unmatched <= DORMANT.keys(), f"conditions no row of the demo meets: {sorted(unmatched - DORMANT.keys())}"
    written = sum("row_condition" in e["kwargs"] for s in suites for e in s.definition()["expectations"])
    assert len(judged) == written >= 20
    assert sum(rows > 0 for rows in judged.values()) == written - len(unmatched)
