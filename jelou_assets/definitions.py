"""The code location: every module of `jelou_assets/defs/`, loaded as one `Definitions` object.

`dg dev`, `dg launch`, `dagster dev -w workspace.yaml` and `dagster asset materialize -m
jelou_assets.definitions` all load this module.
"""

from pathlib import Path

from dagster import Definitions, load_from_defs_folder

from jelou_assets.settings import Settings


def build_definitions() -> Definitions:
    """The definitions for the environment as it is now; tests call it again after changing the environment."""
    # Validated here first, so a bad setting fails with its own message rather than inside the folder loader's.
    Settings.from_env()
    return load_from_defs_folder(path_within_project=Path(__file__).parent)


defs = build_definitions()
