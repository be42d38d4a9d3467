"""The Dagster UI as a support lead opens it, for the browser tests and `make screenshots`.

`dagster dev` runs as `make dev` runs it (the repository's workspace.yaml, daemon included, automation
stopped), against the bundled emulator and a DuckDB warehouse in a temporary directory. Days are
materialized with the command-line contract (`dagster asset materialize --select '*'`) into the same
instance, so the UI shows them as it shows the daily schedule's runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from dagster import DagsterInstance

from jelou_assets.emulator import JelouEmulator
from jelou_assets.settings import PROJECT_ROOT
from jelou_assets_tests.support.production_processes import Processes, clean_environment, free_port

# No "join the community" dialog over the page, and nothing sent anywhere from a test.
INSTANCE_YAML = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
MATERIALIZED = """
query Materialized($assetKey: AssetKeyInput!, $partitions: [String!]) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode { assetMaterializations(partitions: $partitions, limit: 1) { partition } }
  }
}
"""


@dataclass(frozen=True)
class DagsterUI:
    url: str
    warehouse_url: str
    reports_dir: Path
    processes: Processes

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the UI's own pages ask the webserver; fails on any GraphQL error."""
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def shows_materialization(self, asset: str, partition: str) -> bool:
        node = self.graphql(MATERIALIZED, {"assetKey": {"path": [asset]}, "partitions": [partition]})["assetNodeOrError"]
        return node["__typename"] == "AssetNode" and bool(node["assetMaterializations"])


@contextmanager
def dagster_ui(
    root: Path, runs: Sequence[str], *, select: str = "*", per_day: int = 120, seed: int = 11
) -> Iterator[DagsterUI]:
    """`dagster dev` on a free port after one `dagster asset materialize --select <select>` per entry of
    `runs`, each a partition ("2025-03-09") or a range ("2025-03-03...2025-03-08"); every process
    stopped on exit."""
    home, logs = root / "dagster_home", root / "logs"
    home.mkdir(parents=True)
    logs.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    # SQLite storage created here, once: `dagster dev` and the first run would otherwise both create and
    # stamp it at the same moment, and one of them fails on the other's half-written migration table.
    DagsterInstance.from_config(str(home)).dispose()
    processes = Processes(logs, cwd=PROJECT_ROOT)
    with JelouEmulator(per_day=per_day, seed=seed) as emulator:
        ui = DagsterUI(
            url=f"http://127.0.0.1:{free_port()}",
            warehouse_url=f"duckdb:///{root / 'warehouse.duckdb'}",
            reports_dir=root / "reports",
            processes=processes,
        )
        env = clean_environment(
            DAGSTER_HOME=str(home),
            JELOU_BASE_URL=emulator.url,
            JELOU_CLIENT_ID=emulator.config.client_id,
            JELOU_CLIENT_SECRET=emulator.config.client_secret,
            JELOU_REQUESTS_PER_SECOND="200",
            JELOU_WAREHOUSE_URL=ui.warehouse_url,
            JELOU_REPORTS_DIR=str(ui.reports_dir),
            JELOU_AUTOMATION="stopped",
        )
        try:
            # The UI loads its code location while the days are materialized: the two overlap.
            processes.start("dagster-dev", ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
                                            "-p", ui.url.rsplit(":", 1)[1]], env)
            for number, run in enumerate(runs):
                flag = "--partition-range" if "..." in run else "--partition"
                argv = ["dagster", "asset", "materialize", "-m", "jelou_assets.definitions", "--select", select, flag, run]
                done = processes.run(f"materialize-{number}", argv, env, timeout=600)
                assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}"
            last = runs[-1].split("...")[-1]
            processes.wait_for(f"the UI to show team_sla_daily {last}",
                               lambda: ui.shows_materialization("team_sla_daily", last), timeout=180)
            yield ui
        finally:
            processes.stop()
