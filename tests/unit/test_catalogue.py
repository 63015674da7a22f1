"""The dbt docs site is generated once per version of the dbt project and reused until that changes; a new
version's site replaces the earlier ones instead of piling up beside them."""

from pathlib import Path

import pytest

from pipelines import catalogue
from pipelines.settings import Settings


@pytest.fixture
def docs_generated(monkeypatch, tmp_path):
    """`dbt docs generate` stood in for by what it writes to target/; returns the list of its invocations."""
    calls = []

    def fake_run_dbt(settings: Settings, args: list[str]):
        calls.append(args)
        target = settings.dbt_build_dir / "target"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("static_index.html", "manifest.json", "catalog.json"):
            (target / name).write_text(f"{name} #{len(calls)}")

    monkeypatch.setattr(catalogue, "run_dbt", fake_run_dbt)
    return calls


def docs_for(monkeypatch, settings: Settings, fingerprint: str) -> Path:
    monkeypatch.setattr(catalogue, "inputs_fingerprint", lambda *_: fingerprint)
    return catalogue.dbt_docs(settings, ())


def test_the_docs_site_is_made_once_per_project_version_and_replaces_the_earlier_one(tmp_path, monkeypatch,
                                                                                     docs_generated):
    settings = Settings(home=tmp_path / "home")
    first = docs_for(monkeypatch, settings, "a" * 64)
    assert (first / "index.html").read_text() == "static_index.html #1"
    assert docs_for(monkeypatch, settings, "a" * 64) == first and len(docs_generated) == 1  # reused

    stale = first.parent / ".cccccccccccccccc.tmp"  # what a run killed while copying would have left
    stale.mkdir()
    second = docs_for(monkeypatch, settings, "b" * 64)
    assert (second / "index.html").read_text() == "static_index.html #2"
    assert {p.name: sorted(f.name for f in p.iterdir()) for p in second.parent.iterdir()} == {
        "b" * 16: ["catalog.json", "index.html", "manifest.json"]}
