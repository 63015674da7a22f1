"""The plugins the contract suite runs on: every built-in one, a freshly scaffolded one, and one
installed as its own package (tests/fixtures/kpo-outpatient-dna) into a throwaway site folder."""

import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from pipelines.scaffold import scaffold
from plugins import registry
from plugins.contract import Plugin
from tests.helpers import BIN, REPO

FIXTURE_PACKAGE = REPO / "tests" / "fixtures" / "kpo-outpatient-dna"
EXTRA = ("scaffolded", "installed")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "plugin" in metafunc.fixturenames:
        names = [entry.name for entry in registry.built_in_entry_points()] + list(EXTRA)
        metafunc.parametrize("plugin", names, indirect=True)


def install_fixture_package(site: Path) -> Path:
    """`uv pip install --target`: a real install (wheel build, entry points) into a folder of its own."""
    subprocess.run([str(BIN / "uv"), "pip", "install", "--quiet", "--target", str(site), str(FIXTURE_PACKAGE)],
                   check=True)
    return site


@pytest.fixture(scope="session")
def installed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_fixture_package(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def scaffolded_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scaffolded")
    scaffold("scaffold_probe", root, title="Scaffold probe")
    return root


@pytest.fixture(scope="session")
def plugin(request: pytest.FixtureRequest) -> Plugin:
    if request.param == "scaffolded":
        root = request.getfixturevalue("scaffolded_root")
        sys.path.insert(0, str(root))
        return registry.load_entry_point(EntryPoint("scaffold_probe", "scaffold_probe:PLUGIN", "kpo.plugins"),
                                         "scaffolded")
    if request.param == "installed":
        site = request.getfixturevalue("installed_site")
        sys.path.insert(0, str(site))
        [entry] = [e for e in registry.installed_entry_points() if e.name == "outpatient_dna"]
        return registry.load_entry_point(entry, "package kpo-outpatient-dna")
    return registry.get(request.param)
