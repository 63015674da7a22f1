"""How kpo reads great-expectations results. A `mostly` rule states a proportion of a whole extract: kpo
enforces it over every batch of a load together, and only over enough rows (MIN_ROWS_FOR_PROPORTION, or the
expectation's `meta.min_rows`). On fewer, such as a correction of five vacancies, it is named as not judged
instead of rejecting the load. A failure in a landed load names the file and lines of its first rows."""

import json

import pandas as pd
import pytest

from pipelines.gx_suites import MIN_ROWS_FOR_PROPORTION, Suite, validate_batches

NOT_NULL = "expect_column_values_to_not_be_null"


def suite(tmp_path, mostly: float, **meta) -> Suite:
    path = tmp_path / "landing__vacancies.json"
    expectation = {"type": NOT_NULL, "kwargs": {"column": "shortlisted_at", "mostly": mostly}}
    if meta:
        expectation["meta"] = meta
    rule = {"type": NOT_NULL, "kwargs": {"column": "vacancy_id"}}  # an exact rule, for contrast
    path.write_text(json.dumps({"name": "vacancies", "expectations": [rule, expectation]}))
    return Suite("vacancies", path, "landing", "vacancies")


def extract(rows: int, blanks: int, first_id: int = 1) -> pd.DataFrame:
    """`rows` vacancies of which the first `blanks` are not yet shortlisted."""
    return pd.DataFrame({"vacancy_id": [str(first_id + i) for i in range(rows)],
                         "shortlisted_at": [None if i < blanks else "2024-05-01" for i in range(rows)]})


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return tmp_path_factory.mktemp("gx")


def test_a_small_correction_is_not_judged_on_a_proportion_but_on_its_exact_rules(tmp_path, project):
    # 3 of 5 not shortlisted is 40 % shortlisted, under mostly 0.5: GX alone fails it; 5 rows prove nothing
    result = validate_batches(suite(tmp_path, 0.5), [extract(5, 3)], project)
    assert result.success, result.summary()
    [unjudged] = result.unjudged()
    assert unjudged.column == "shortlisted_at" and unjudged.considered == 5
    assert (f"too few rows to judge the proportion of {NOT_NULL}(shortlisted_at) on 5 of the "
            f"{MIN_ROWS_FOR_PROPORTION} rows it needs") in result.summary()
    broken = extract(5, 0)
    broken.loc[2, "vacancy_id"] = None  # the exact rule still holds on any number of rows
    result = validate_batches(suite(tmp_path, 0.5), [broken], project)
    assert not result.success and [o.column for o in result.failures()] == ["vacancy_id"]


@pytest.mark.parametrize("blanks, passes", [(MIN_ROWS_FOR_PROPORTION // 2, True),
                                            (MIN_ROWS_FOR_PROPORTION // 2 + 1, False)])
def test_from_the_least_rows_on_the_proportion_is_enforced_at_its_boundary(tmp_path, project, blanks, passes):
    result = validate_batches(suite(tmp_path, 0.5), [extract(MIN_ROWS_FOR_PROPORTION, blanks)], project)
    assert result.success is passes and not result.unjudged()


def test_an_expectation_may_ask_for_fewer_rows(tmp_path, project):
    result = validate_batches(suite(tmp_path, 0.5, min_rows=5), [extract(5, 3)], project)
    assert not result.success and [o.column for o in result.failures()] == ["shortlisted_at"]
    assert "too few rows" not in result.summary()


def test_the_proportion_is_over_every_batch_of_a_load_together(tmp_path, project):
    # a load of 150 split 100 + 50: the last batch alone is 40 % shortlisted, the load 80 % (120 of 150)
    batches = [extract(100, 0), extract(50, 30, first_id=101)]
    result = validate_batches(suite(tmp_path, 0.5), batches, project)
    assert result.success and result.rows == 150 and result.batches == 2
    # a load failing the rule is reported with its blanks over every batch: 25 of 200 is 87.5 % shortlisted
    batches = [extract(100, 5), extract(100, 20, first_id=101)]
    result = validate_batches(suite(tmp_path, 0.9), batches, project)
    assert not result.success and result.failures()[0].unexpected_count == 25


def test_a_rule_that_raises_fails_whatever_the_rows(tmp_path, project):
    result = validate_batches(suite(tmp_path, 0.5), [extract(5, 0).drop(columns="shortlisted_at")], project)
    assert not result.success and "error" in (result.failures()[0].observed or "")


def test_a_rule_that_raised_on_one_batch_fails_the_load(tmp_path, project):
    # either batch may be the one that lacks the column (GX raises); the other meets the proportion
    for batches in ([extract(100, 0), extract(100, 0, first_id=101).drop(columns="shortlisted_at")],
                    [extract(100, 0).drop(columns="shortlisted_at"), extract(100, 0, first_id=101)]):
        result = validate_batches(suite(tmp_path, 0.5), batches, project)
        assert not result.success and [o.column for o in result.failures()] == ["shortlisted_at"]


def test_a_failed_rule_on_landed_rows_names_their_file_and_lines_never_their_values(tmp_path, project):
    path = tmp_path / "landing__vacancies.json"
    path.write_text(json.dumps({"name": "vacancies", "expectations": [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "vacancy_id"}}]}))
    load = extract(4, 0).assign(_source_file="trac_vacancies.csv", _source_line=[2, 3, 4, 22])
    load.loc[3, "vacancy_id"] = "1"  # line 22 repeats line 2's vacancy
    result = validate_batches(Suite("vacancies", path, "landing", "vacancies"), [load], project)
    assert result.summary() == ("expect_column_values_to_be_unique(vacancy_id) failed: 2 unexpected rows, "
                                "e.g. trac_vacancies.csv lines 2, 22")
    # rows without lineage (a model's) are counted as before
    result = validate_batches(Suite("vacancies", path, "landing", "vacancies"),
                              [load.drop(columns=["_source_file", "_source_line"])], project)
    assert result.summary() == "expect_column_values_to_be_unique(vacancy_id) failed: 2 unexpected rows"


def test_locating_rows_costs_nothing_when_many_rows_are_unexpected(tmp_path, project):
    # 150,000 of 200,000 landed rows blank under a passing mostly 0.05: GX asked for the lineage columns of
    # unexpected rows lists every one (~20 s here); kpo reads the first few from the frame instead (~0.2 s)
    import time

    rows = 200_000
    load = pd.DataFrame({"vacancy_id": [str(i) for i in range(rows)],
                         "shortlisted_at": [None if i % 4 else "2024-05-01" for i in range(rows)],
                         "_source_file": "trac_vacancies.csv", "_source_line": range(2, rows + 2)})
    started = time.perf_counter()
    result = validate_batches(suite(tmp_path, 0.05), [load], project)
    assert result.success and time.perf_counter() - started < 5
