"""Plugin discovery: built-in folders under `plugins/` and installed packages in the `kpo.plugins`
entry-point group, through one code path.

A built-in plugin `plugins/<name>/__init__.py` exposing `PLUGIN` is turned into the same
`EntryPoint` an installed package declares (`name = "package.module:PLUGIN"`), so both are loaded,
validated and ordered identically.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from plugins.contract import Plugin
from plugins.validation import declaration_problems

ENTRY_POINT_GROUP = "kpo.plugins"
BUILT_IN_DIR = Path(__file__).resolve().parent


class PluginError(RuntimeError):
    """A plugin could not be loaded or its declaration is invalid."""


def built_in_entry_points() -> list[EntryPoint]:
    folders = sorted(p.parent for p in BUILT_IN_DIR.glob("*/__init__.py"))
    return [EntryPoint(f.name, f"plugins.{f.name}:PLUGIN", ENTRY_POINT_GROUP) for f in folders]


def installed_entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def load_entry_point(entry: EntryPoint, origin: str) -> Plugin:
    try:
        plugin = entry.load()
    except Exception as exc:  # an analyst's syntax error must name the plugin, not crash anonymously
        raise PluginError(f"plugin {entry.name!r} ({entry.value}) failed to import: {exc}") from exc
    if not isinstance(plugin, Plugin):
        raise PluginError(f"plugin {entry.name!r} ({entry.value}) is not a plugins.contract.Plugin")
    problems = declaration_problems(plugin)
    if problems:
        raise PluginError(f"plugin {plugin.name!r} has an invalid declaration: " + "; ".join(problems))
    return dataclasses.replace(plugin, origin=origin)


@cache
def discover() -> tuple[Plugin, ...]:
    """Every registered plugin, built-in first then installed, each name once."""
    found: dict[str, Plugin] = {}
    sources = [(ep, "built-in") for ep in built_in_entry_points()]
    sources += [(ep, f"package {ep.dist.name if ep.dist else ep.value}") for ep in installed_entry_points()]
    for entry, origin in sources:
        plugin = load_entry_point(entry, origin)
        if plugin.name in found:
            raise PluginError(
                f"two plugins are named {plugin.name!r}: {found[plugin.name].origin} and {origin}"
            )
        found[plugin.name] = plugin
    plugins = tuple(found.values())
    _check_metric_ids_unique(plugins)
    return plugins


def get(name: str) -> Plugin:
    for plugin in discover():
        if plugin.name == name:
            return plugin
    raise PluginError(f"no plugin named {name!r}; registered: {', '.join(p.name for p in discover())}")


def _check_metric_ids_unique(plugins: tuple[Plugin, ...]) -> None:
    owner: dict[str, str] = {}
    for plugin in plugins:
        for metric in plugin.metrics:
            if metric.metric_id in owner:
                raise PluginError(
                    f"metric {metric.metric_id!r} is declared by {owner[metric.metric_id]} and {plugin.name}"
                )
            owner[metric.metric_id] = plugin.name
    kinds = {m.metric_id: m.kind for p in plugins for m in p.metrics}
    for plugin in plugins:
        for metric in plugin.metrics:
            # disclosure control differences a part against its whole: a whole no plugin declares, or of another
            # kind (a count against a rate's numerator), would leave the part unprotected
            if metric.part_of is not None and kinds.get(metric.part_of) != metric.kind:
                raise PluginError(
                    f"metric {metric.metric_id!r} of {plugin.name} is declared part_of {metric.part_of!r}, which is "
                    + ("no registered metric" if metric.part_of not in kinds else f"a {kinds[metric.part_of]}, "
                       f"not a {metric.kind}")
                )
