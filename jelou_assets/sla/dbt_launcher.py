"""`jelou-dbt`: dbt's own command line, except that `jelou-dbt --version` answers from the installed
package's metadata.

dagster-dbt runs `<dbt executable> --version` before every invocation (to tell dbt Core from dbt Fusion).
`dbt --version` imports all of dbt and asks PyPI for the latest release just to print that line: about
4 s of every dbt step here, and a wait on a network timeout where PyPI is unreachable. Everything else
goes to dbt's own entry point unchanged.
"""

from __future__ import annotations

import sys
from importlib.metadata import version


def version_text() -> str:
    """What `dbt --version` prints first, which is all dagster-dbt reads of it."""
    return f"Core:\n  - installed: {version('dbt-core')}"


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print(version_text())
        return
    from dbt.cli.main import cli

    sys.exit(cli())
