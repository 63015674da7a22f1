"""The dbt project as Dagster assets: one `dbt build` per run (seeds, models and tests together).

dbt is the only writer of build.duckdb, so the dbt step holds the `warehouse` pool. Sources map to
the landing assets; models are grouped by the plugin that owns them (or by layer for core models).
"""


import json
import re
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from packaging import version

from pipelines.dbt_assembly import inputs_fingerprint, metric_models
from pipelines.files import replace_text, write_if_changed
from pipelines.ingest import LOAD_DATES, ONE_LOAD_DATE_A_RUN
from pipelines.landing import landed_load_date, relanded_marker
from pipelines.settings import Settings
from plugins.contract import Plugin


class DbtRunConfig(dg.Config):
    full_refresh: bool = False


class KpoTranslator(DagsterDbtTranslator):
    """Asset keys and groups: a plugin's staging and fact models sit in the plugin's group (beside its
    landing assets), its metric rows in the group of the commitment they serve, core models by layer."""

    def __init__(self, commitment_of_model: Mapping[str, str], **kwargs: Any):
        super().__init__(**kwargs)
        self.commitment_of_model = commitment_of_model

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["landing", dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        path = Path(dbt_resource_props.get("original_file_path", ""))
        if dbt_resource_props["name"] in self.commitment_of_model:
            return f"commitment_{self.commitment_of_model[dbt_resource_props['name']]}"
        if path.parts[:1] == ("plugin_models",):
            return path.parts[1]
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        return "metrics" if "published" in dbt_resource_props.get("tags", []) else "core"


def commitment_groups(plugins: tuple[Plugin, ...]) -> dict[str, str]:
    """Each plugin metric-rows model → the commitment its plugin's first metric serves first."""
    return {model: plugin.metrics[0].commitment_ids[0] for plugin in plugins if plugin.metrics
            for folder in ("metric_rows", "metric_rows_daily") for model in metric_models(plugin, folder)}


def build_dbt_assets(settings: Settings, manifest: Path, plugins: tuple[Plugin, ...]) -> dg.AssetsDefinition:
    translator = KpoTranslator(commitment_groups(plugins),
                               settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    # No retry policy: a failing dbt test is not transient, and a rebuild costs the whole dbt start-up.
    # Partitioned by load date as landing is (a build is the warehouse as of that load date): a Dagster asset
    # backfill, as the UI launches one, then runs a date's landing, build and publication in one run, so that run
    # judges every check and knows its date. Unpartitioned, each went in a run of its own with no date, and
    # publication refused every one for checks its run had not evaluated.
    @dbt_assets(manifest=manifest, dagster_dbt_translator=translator, pool="warehouse", name="dbt_build",
                partitions_def=LOAD_DATES, backfill_policy=ONE_LOAD_DATE_A_RUN)
    def _dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtRunConfig):
        fingerprint = inputs_fingerprint(settings, plugins)
        built = settings.dbt_build_dir / "target" / "kpo_built_fingerprint"
        marker = relanded_marker(settings)
        relanded = marker.stat().st_mtime_ns if marker.exists() else None
        args, reasons = build_arguments(config.full_refresh, built.read_text() if built.exists() else None,
                                        fingerprint, relanded=relanded is not None,
                                        file_log_level=settings.dbt_file_log_level)
        for reason in reasons:
            context.log.info(reason)
        # A fixed target path (not dagster-dbt's per-invocation one) keeps dbt's partial parse warm.
        target = settings.dbt_build_dir / "target"
        try:
            yield from dbt.cli(args, context=context, raise_on_error=True, target_path=target).stream()
        except DagsterDbtCliRuntimeError as exc:
            raise dg.Failure(description=build_failure(failed_nodes(target)), allow_retries=False) from exc
        replace_text(built, fingerprint)
        # Every model rebuilt in full since the last re-landing (none re-landed while it ran): the marker is spent.
        whole = set(context.selected_asset_keys) == set(context.assets_def.keys)
        if relanded is not None and "--full-refresh" in args and whole and marker.exists() \
                and marker.stat().st_mtime_ns == relanded:
            marker.unlink()

    return _dbt


def build_arguments(asked_full_refresh: bool, built_fingerprint: str | None, fingerprint: str,
                    relanded: bool = False, file_log_level: str = "none") -> tuple[list[str], list[str]]:
    """The `dbt build` arguments of one run, and why (for the run log).

    Incremental models are rebuilt in full when asked, on the first build, when the dbt project or a
    plugin changed since the last successful build (a changed model must not be merged into a table built
    by its old definition), and when a backfill has `relanded` archived extracts since the last full build: after
    a plugin fix they can lack rows (now quarantined) that an incremental model still holds, and only a rebuild
    drops them (landing.relanded_marker). dbt unit tests check model logic on fixed inputs, so they run only with
    such a full build. dbt's own log file is written at `file_log_level` (KPO_DBT_FILE_LOG_LEVEL): its events
    reach the run log anyway."""
    reasons = []
    if asked_full_refresh:
        reasons.append("full refresh asked for: incremental models are rebuilt")
    elif built_fingerprint is None:
        reasons.append("first build: incremental models are built from every landed version")
    elif built_fingerprint != fingerprint:
        reasons.append("the dbt project changed since the last build: incremental models are rebuilt")
    elif relanded:
        reasons.append("a backfill re-landed archived extracts since the last full build: incremental models are "
                       "rebuilt, so rows the re-landed extracts no longer hold are dropped")
    # no colour codes: dbt's output goes to the run log file, not a terminal
    log = ["--log-level-file", file_log_level, "--no-use-colors"]
    if reasons:
        return ["build", "--full-refresh", *log], reasons
    return (["build", "--exclude-resource-type", "unit_test", *log],
            ["dbt unit tests passed on this code at its last full build: not run again"])


class KpoDbtCliResource(DbtCliResource):
    """DbtCliResource without two fixed costs per run that kpo does not use (measured ~8 s and ~3 s):
    `dbt --version`, which asks PyPI for the latest release (no internet in a trust's data centre),
    and an in-process dbt adapter used only to fetch row counts and column metadata."""

    @property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ANN001, ANN202 - private dagster-dbt hook
        return None


def failed_nodes(target: Path) -> list[str]:
    """What failed in the last dbt invocation, one line per node, from dbt's run_results.json."""
    try:
        results = json.loads((target / "run_results.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        return ["see the run log (no run_results.json)"]
    lines = []
    for result in results:
        if result["status"] in {"error", "fail", "runtime error"}:
            raw = [line.rstrip() for line in ANSI.sub("", result.get("message") or "").splitlines() if line.strip()]
            message = [line.strip() for line in raw]
            # dbt's first line names the node; the database's own error (a file DuckDB cannot read, say) follows
            cause = next((line for line in message[1:] if "Error" in line.split(":", 1)[0]), None)
            text = "; ".join(filter(None, [message[0] if message else "", cause]))
            if result["unique_id"].startswith("unit_test.") and len(message) > 1:
                # a failed unit test's diff (its own fixture rows, never data), aligned as dbt prints it: a header
                # (@@), then each row, marked --- (expected, missing), +++ (there, not expected) or not (as expected)
                diff = raw[1:UNIT_TEST_DIFF_LINES + 1]
                more = len(message) - 1 - len(diff)
                text += "\n    " + "\n    ".join(diff + ([f"... {more} more line(s) in the run log"] if more else []))
            lines.append(f"{result['unique_id'].split('.', 2)[-1]} {result['status']}: {text}")
    return lines or ["see the run log"]


# dbt colours a unit test's diff even in run_results.json
ANSI = re.compile(r"\x1b\[[0-9;]*m")
UNIT_TEST_DIFF_LINES = 8


SHOWN_FAILURES = 5
# a landed load named, quoted, in DuckDB's error for a file it cannot read ("Failed to read file \"...\"", "No
# magic bytes found at end of file '...'")
UNREADABLE_LOAD = re.compile(r"""["'](?P<path>[^"']*/load_date=\d{4}-\d{2}-\d{2}/[0-9a-f]{64}\.parquet)["']""")


def build_failure(nodes: list[str]) -> str:
    """The dbt step's failure for its alert and summary: the first failed nodes (one damaged landed file fails every
    test that reads it, and a hundred lines would bury the cause), and the remedy for each landed load DuckDB could
    not read, which landing (reading its footer) could not tell damaged."""
    shown = nodes[:SHOWN_FAILURES] + ([f"and {len(nodes) - SHOWN_FAILURES} more (the run log lists them)"]
                                      if len(nodes) > SHOWN_FAILURES else [])
    unreadable = {match["path"]: landed_load_date(Path(match["path"])) for node in nodes
                  for match in UNREADABLE_LOAD.finditer(node)}
    remedies = [f"landed load {path} cannot be read: re-land its load date from the archive with `kpo backfill "
                f"--start {day} --end {day}`" for path, day in sorted(unreadable.items())]
    return "dbt build failed: " + "; ".join(shown + remedies)


# dbt started by a run dies with the run's process. Killed (the OOM killer, a SIGKILL), a run worker would
# otherwise leave its dbt build running, orphaned, and still writing the build warehouse that the retry or the
# next run needs. Linux's parent-death signal does it; subprocess.Popen, which dagster-dbt calls, offers no
# hook for it, so dbt is started through this small launcher (written beside the assembled project).
DBT_LAUNCHER = """#!{python}
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the run
except (OSError, AttributeError):
    pass  # not Linux: dbt runs as before
if os.getppid() == 1:  # the run died before the line above took effect
    sys.exit(1)
os.execv({dbt!r}, [{dbt!r}, *sys.argv[1:]])
"""


def dbt_launcher(settings: Settings) -> Path:
    """The executable dagster-dbt starts for dbt: dbt itself, set to die with the process that started it."""
    launcher = settings.dbt_build_dir / "kpo-dbt"
    write_if_changed(launcher, DBT_LAUNCHER.format(python=sys.executable, dbt=str(Path(sys.executable).parent / "dbt")),
                     mode=0o755)
    return launcher


def dbt_resource(settings: Settings) -> DbtCliResource:
    return KpoDbtCliResource(project_dir=str(settings.dbt_build_dir), profiles_dir=str(settings.dbt_project_dir),
                             dbt_executable=str(dbt_launcher(settings)))


def published_models(manifest: dict, tag: str = "published") -> list[str]:
    """Models tagged `published` (the marts and dimensions BI may see, never row-level facts), or
    `share` (the disclosure-controlled share pack)."""
    return sorted(node["name"] for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and tag in node.get("tags", []))
