"""Plugin discovery: built-in folders and the `kpo.plugins` entry-point group share one code path."""

import dataclasses
import datetime as dt
from importlib.metadata import EntryPoint

import pytest

from plugins import registry
from plugins.hr_recruitment import PLUGIN as HR
from plugins.validation import declaration_problems


def test_built_in_plugins_are_entry_points_of_the_same_group():
    entries = registry.built_in_entry_points()
    assert "hr_recruitment" in [e.name for e in entries]
    assert all(e.group == "kpo.plugins" and e.value.endswith(":PLUGIN") for e in entries)


def test_an_installed_entry_point_loads_like_a_built_in_one(monkeypatch):
    fake = EntryPoint("hr_copy", "plugins.hr_recruitment:PLUGIN", "kpo.plugins")
    loaded = registry.load_entry_point(fake, "package test")
    assert loaded.origin == "package test" and loaded.tables == HR.tables


def test_two_plugins_with_one_name_are_refused(monkeypatch):
    registry.discover.cache_clear()
    monkeypatch.setattr(registry, "installed_entry_points",
                        lambda: [EntryPoint("again", "plugins.hr_recruitment:PLUGIN", "kpo.plugins")])
    with pytest.raises(registry.PluginError, match="two plugins are named 'hr_recruitment'"):
        registry.discover()
    registry.discover.cache_clear()


def test_a_module_that_is_not_a_plugin_is_refused():
    with pytest.raises(registry.PluginError, match="is not a plugins.contract.Plugin"):
        registry.load_entry_point(EntryPoint("x", "plugins.contract:Column", "kpo.plugins"), "test")


def test_declaration_problems_are_all_reported():
    table = HR.tables[0]
    broken = dataclasses.replace(
        HR, name="HR Recruitment",
        tables=(dataclasses.replace(table, primary_key=("nope",), event_date="job_title", max_quarantined_share=20),),
        metrics=(dataclasses.replace(HR.metrics[0], direction="up", commitment_ids=()),))
    problems = declaration_problems(broken)
    assert any("not a lowercase identifier" in p for p in problems)
    assert any("primary key column 'nope'" in p for p in problems)
    assert any("event_date 'job_title'" in p for p in problems)
    assert any("max_quarantined_share 20 is not a share above 0 and at most 1" in p for p in problems)  # 20 %: 0.2
    assert any("direction 'up'" in p for p in problems)
    assert any("aligned to no commitment" in p for p in problems)


def test_every_registered_plugin_declaration_is_valid():
    for plugin in registry.discover():
        assert declaration_problems(plugin) == [], plugin.name


def test_a_typo_in_a_metric_or_project_is_a_declaration_problem_not_a_failed_run():
    """Each of these passed `kpo plugin check` and failed the run 30 s into dbt, naming no plugin."""
    from plugins.contract import Project

    project = Project(project_id="falls", name="Falls", csu_code="SIM", commitment_ids="patient_safety",
                      metric_id="m", series_key="trustwide", baseline_value=None, baseline_start=None,
                      baseline_end=None, target=None, intervention_date=dt.date(2024, 1, 1))
    broken = dataclasses.replace(
        HR, metrics=(dataclasses.replace(HR.metrics[0], unit="counts", kind="ratio", direction="Decrease",
                                         commitment_ids="workforce"),),
        projects=(project, dataclasses.replace(project, project_id="ward", series_key="ward:4", commitment_ids=())))
    problems = declaration_problems(broken)
    metric = f"metric {HR.metrics[0].metric_id}"
    assert f"{metric}: unit 'counts' is not one of days/minutes/percent/count" in problems
    assert f"{metric}: kind 'ratio' is not one of rate/count/statistic" in problems
    assert f"{metric}: direction 'Decrease' is not one of increase/decrease/neutral" in problems
    assert (f"{metric}: commitment_ids must be a tuple of ids, e.g. ('workforce',), not str 'workforce'"
            in problems)
    assert "project falls: commitment_ids must be a tuple of ids, e.g. ('patient_safety',), not str " \
           "'patient_safety'" in problems
    assert any(p.startswith("project falls: series_key 'trustwide' is neither 'trust'") for p in problems)
    assert any(p.startswith("project ward: series_key 'ward:4' is neither") for p in problems)
    assert "project ward: is aligned to no commitment" in problems
    listed = dataclasses.replace(HR, metrics=(dataclasses.replace(HR.metrics[0], commitment_ids=["a", "b"]),))
    assert f"metric {HR.metrics[0].metric_id}: commitment_ids must be a tuple of ids, e.g. ('a', 'b'), not list " \
           "['a', 'b']" in declaration_problems(listed)
