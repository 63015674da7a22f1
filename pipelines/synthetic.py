"""Synthetic extracts for the demo and the tests: every plugin's generator, into its inbox folder."""

from __future__ import annotations

from pathlib import Path

from pipelines.reference import load_reference
from pipelines.settings import Settings
from plugins import registry
from plugins.contract import Plugin, SyntheticRequest


def generate_extracts(settings: Settings, seed: int = 42, scale: float = 1.0,
                      plugins: tuple[Plugin, ...] | None = None) -> list[Path]:
    plugins = plugins if plugins is not None else registry.discover()
    reference = load_reference(registry.discover())
    written: list[Path] = []
    for plugin in plugins:
        request = SyntheticRequest(inbox=settings.inbox / plugin.name, seed=seed, projects=reference.projects,
                                   scale=scale)
        written += plugin.generate(request)
    return written
