"""`kpo plugin new NAME`: a working plugin folder from the template in pipelines/scaffold_template/.

The template is a complete plugin (an event log: declaration, CSV/xlsx reader, synthetic story, dbt
models with a unit test, great-expectations suites, README and tests), so the scaffold passes
`kpo plugin check` and publishes its metrics with SPC before the analyst edits anything. Files are
written only under `plugins/NAME/`: nothing outside the plugin's folder changes.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from plugins import registry

TEMPLATE = Path(__file__).resolve().parent / "scaffold_template"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
PLACEHOLDER = "__plugin__"


class ScaffoldError(ValueError):
    """The name is unusable or taken."""


def check_name(name: str, plugins_dir: Path) -> None:
    if not NAME.match(name) or keyword.iskeyword(name) or name.endswith("_"):
        raise ScaffoldError(f"{name!r} is not a valid plugin name: use lowercase letters, digits and underscores, "
                            "starting with a letter (e.g. falls_log)")
    if (plugins_dir / name).exists():
        raise ScaffoldError(f"plugins/{name} already exists")
    if (plugins_dir / f"{name}.py").exists():  # plugins/nhs_number/ would shadow the core's plugins/nhs_number.py
        raise ScaffoldError(f"plugins/{name}.py is part of kpo: a plugin named {name!r} would hide it, choose "
                            "another name")
    if name in {p.name for p in registry.discover()}:
        raise ScaffoldError(f"a plugin named {name!r} already exists")


def scaffold(name: str, plugins_dir: Path = registry.BUILT_IN_DIR, *, title: str | None = None,
             commitment: str = "patient_safety", csu: str = "SIM", source_system: str = "its system",
             target: float | None = None) -> list[Path]:
    """Write plugins/<name>/ from the template and return the files written."""
    check_name(name, plugins_dir)
    values = {"plugin": name, "title": title or name.replace("_", " ").capitalize(), "commitment": commitment,
              "csu": csu, "source_system": source_system, "target": repr(target)}
    written = []
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")
        target_path = plugins_dir / name / str(relative).replace(PLACEHOLDER, name)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        target_path.write_text(Template(source.read_text()).substitute(values))
        written.append(target_path)
    return written
