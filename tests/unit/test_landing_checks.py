"""A landing suite's verdict on a load, through Dagster as a run gives it: a load the suite fails is rejected
(moved to quarantine with its reason) and blocks publication; a backfill re-landing it judges it again. Rejected
again, the rejection stands and only warns, or every backfill of the date would fail on it; once the load
passes (the suite put right), its rejection is cleared, so a later rejection is news again."""

import json
from pathlib import Path

import dagster as dg
import pytest

from pipelines.gx_suites import Suite
from pipelines.ingest import landing_asset
from pipelines.quality import landing_check, rejection_reason
from pipelines.settings import Settings
from plugins.hr_recruitment import PLUGIN as HR

VACANCIES = HR.table("vacancies")
DAY = "2024-03-01"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", pseudonymisation_key="k")
    settings.ensure_folders()
    return settings


def suite(tmp_path: Path, failing: bool) -> Suite:
    """The vacancies suite, with a rule every load fails (`failing`: eight-digit references, where Trac writes seven;
    a repeated vacancy no longer reaches the suite, landing keeps a record written twice once) or without it (the
    suite 'put right')."""
    path = tmp_path / f"landing__vacancies_{failing}.json"
    rules = [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "vacancy_id"}}]
    if failing:
        rules.append({"type": "expect_column_values_to_match_regex",
                      "kwargs": {"column": "vacancy_id", "regex": "^[0-9]{8}$"}})
    path.write_text(json.dumps({"name": "hr_recruitment__landing__vacancies", "expectations": rules}))
    return Suite("hr_recruitment__landing__vacancies", path, "landing", "vacancies", "hr_recruitment")


def judge(settings: Settings, checked: Suite, backfill: bool) -> dg.AssetCheckEvaluation:
    tags = {"dagster/backfill": "b1"} if backfill else {}
    with dg.instance_for_test() as instance:
        assets = [landing_asset(settings, HR, VACANCIES), landing_check(settings, HR, VACANCIES, checked)]
        result = dg.materialize(assets, partition_key=DAY, instance=instance, tags=tags, raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def test_a_rejection_stands_through_backfills_until_the_load_passes(settings, tmp_path):
    fixture = Path(__file__).parent / "fixtures_vacancies.csv"
    header, row = fixture.read_text().splitlines()
    inbox = settings.inbox / "hr_recruitment"
    inbox.mkdir(parents=True)
    (inbox / "trac_vacancies_dup.csv").write_text("\n".join([header, row]) + "\n")
    strict, lenient = suite(tmp_path, failing=True), suite(tmp_path, failing=False)
    landed = settings.landing / "hr_recruitment" / "vacancies" / f"load_date={DAY}"

    first = judge(settings, strict, backfill=False)
    assert not first.passed and first.severity == dg.AssetCheckSeverity.ERROR
    assert "still rejected" not in first.description
    [load] = (settings.quarantine / "hr_recruitment" / "vacancies" / "rejected-loads").rglob("*.parquet")
    reason = rejection_reason(settings, HR, VACANCIES, landed / load.name)
    assert len(reason.read_text().splitlines()) == 1 and not list(landed.glob("*.parquet"))

    again = judge(settings, strict, backfill=True)  # the date's archived extract, re-landed and judged again
    assert not again.passed and again.severity == dg.AssetCheckSeverity.WARN
    assert "trac_vacancies_dup.csv: still rejected, as before: expect_column_values_to_match_regex(vacancy_id)" \
        in again.description
    assert "a rejection that stands does not block the publication" in again.description
    first_reason, second_reason = reason.read_text().splitlines()
    assert second_reason.startswith("rejected again by run ") and second_reason.endswith(first_reason)
    assert not list(landed.glob("*.parquet"))

    mended = judge(settings, lenient, backfill=True)
    assert mended.passed
    assert [p.name for p in landed.glob("*.parquet")] == [load.name]
    assert json.loads((landed / load.name).with_suffix(".load.json").read_text())["audited"] is True
    assert not reason.exists() and not load.exists()  # its rejection no longer stands

    relapsed = judge(settings, strict, backfill=True)  # the rule back as it was: a rejection now is news again
    assert not relapsed.passed and relapsed.severity == dg.AssetCheckSeverity.ERROR
    assert "still rejected" not in relapsed.description and len(reason.read_text().splitlines()) == 1
