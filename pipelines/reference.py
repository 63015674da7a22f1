"""Reference data as Python values: the KPO-edited seeds (commitments, CSUs, projects) merged with
the projects plugins bring. Generators tell their story around these projects' dates, and the
contract tests check plugin metrics against these commitments."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass

from pipelines.settings import REPO_ROOT
from plugins.contract import Plugin, Project

SEEDS = REPO_ROOT / "dbt_project" / "seeds"


@dataclass(frozen=True)
class Reference:
    commitments: frozenset[str]
    csus: frozenset[str]
    sites: frozenset[str]
    projects: dict[str, Project]

    def allowed_values(self, name: str) -> tuple[str, ...]:
        return tuple(sorted({"csu_code": self.csus, "site_code": self.sites}[name]))


def _rows(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _number(text: str) -> float | None:
    return float(text) if text else None


def seed_projects() -> dict[str, Project]:
    projects = {}
    for row in _rows("projects"):
        projects[row["project_id"]] = Project(
            project_id=row["project_id"],
            name=row["project_name"],
            csu_code=row["csu_code"],
            commitment_ids=tuple(row["commitment_ids"].split()),
            metric_id=row["metric_id"],
            series_key=row["series_key"],
            baseline_value=_number(row["baseline_value"]),
            baseline_start=_date(row["baseline_start"]),
            baseline_end=_date(row["baseline_end"]),
            target=_number(row["target"]),
            intervention_date=dt.date.fromisoformat(row["intervention_date"]),
            remeasure_dates=tuple(dt.date.fromisoformat(d) for d in row["remeasure_dates"].split()),
            description=row["description"],
        )
    return projects


def load_reference(plugins: tuple[Plugin, ...]) -> Reference:
    """The reference data, with every plugin's projects. A row of the KPO's `projects.csv` with a plugin project's
    id replaces that plugin's declaration (its target, say, changed without touching the plugin), as dim_projects
    does: the seed is the KPO's to edit."""
    projects, declared_by = seed_projects(), {}
    for plugin in plugins:
        for project in plugin.projects:
            if project.project_id in declared_by:  # two plugins: neither is the KPO's to prefer
                raise ValueError(f"project {project.project_id!r} of plugin {plugin.name} is also declared by plugin "
                                 f"{declared_by[project.project_id]}")
            declared_by[project.project_id] = plugin.name
            projects.setdefault(project.project_id, project)
    return Reference(
        commitments=frozenset(r["commitment_id"] for r in _rows("commitments")),
        csus=frozenset(r["csu_code"] for r in _rows("csus")),
        sites=frozenset(r["site_code"] for r in _rows("sites")),
        projects=projects,
    )
