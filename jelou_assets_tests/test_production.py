"""The production deployment (`docker/`), tested without a Docker engine.

- The daemon, the webserver and the code-location gRPC server run natively with the production
  `docker/dagster.yaml` (copied unchanged) and `docker/workspace.yaml`, against the PostgreSQL at
  JELOU_TEST_POSTGRES_URL (Dagster's instance and the warehouse, each in a fresh database), with the
  emulator as the API, using the compose services' own commands (`production_commands.py`).
  A 3-day backfill goes through the webserver's GraphQL API; the daemon runs it, the sensors tick.
- The compose file validates with Debian's `docker-compose` (1.29, no engine needed), and its services'
  commands, health checks, environment and mounted files are the ones the native test runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from jelou_assets.emulator import EmulatorConfig
from jelou_assets.emulator.dataset import SyntheticDataset
from jelou_assets.settings import PROJECT_ROOT
from jelou_assets_tests.support import production_commands as commands
from jelou_assets_tests.support import production_graphql as gql
from jelou_assets_tests.support.postgres import private_database
from jelou_assets_tests.support.production_processes import Processes, clean_environment, free_port
from jelou_assets_tests.support.receiver import Receiver

DAYS = ["2025-03-01", "2025-03-02", "2025-03-03"]
JOB = "jelou_sla_job"
API_POOL_LIMIT = 2
# Every per-day Python check of the job, recorded once per partition.
DAILY_CHECKS = [
    ("raw_conversations", "stored_matches_api_total"),
    ("raw_conversations", "unique_conversation_ids"),
    ("conversation_facts", "matches_raw_conversations"),
    ("conversation_facts", "keys_not_null"),
    ("conversation_facts", "no_sanity_flags"),
    ("team_sla_daily", "sla_attainment_meets_goal"),
]
DAGSTER_SERVICES = ("jelou-code", "dagster-init", "dagster-webserver", "dagster-daemon")
COMPOSE_BINARY = shutil.which("docker-compose")


# ---------------------------------------------------------------------------------------------------------
# The compose deployment, checked against what the native test runs
# ---------------------------------------------------------------------------------------------------------


def compose_services() -> dict:
    return yaml.safe_load(commands.COMPOSE_FILE.read_text())["services"]


def env_example() -> dict[str, str]:
    """docker/.env.example's assignments (commented demo lines excluded)."""
    pairs = (line.split("=", 1) for line in commands.ENV_EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_]+=", line))
    return {name: value for name, value in pairs}


def throwaway_env_file(tmp_path: Path, demo: bool = False) -> Path:
    """docker/.env.example with a password set (and, for the demo, its commented block turned on)."""
    text = commands.ENV_EXAMPLE.read_text().replace("\nPOSTGRES_PASSWORD=\n", "\nPOSTGRES_PASSWORD=throwaway0123\n")
    if demo:
        text = re.sub(r"^# ((?:COMPOSE_PROFILES|JELOU_[A-Z_]+)=)", r"\1", text, flags=re.M)
    path = tmp_path / ("demo.env" if demo else ".env")
    path.write_text(text)
    return path


def compose(*args: str, env_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [COMPOSE_BINARY, "-f", str(commands.COMPOSE_FILE), "--env-file", str(env_file), *args],
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
    )


@pytest.mark.reliability
@pytest.mark.skipif(COMPOSE_BINARY is None, reason="docker-compose is not installed (.ci/run installs Debian's docker-compose 1.29)")
def test_compose_file_validates(tmp_path):
    env_file = throwaway_env_file(tmp_path)
    checked = compose("config", "-q", env_file=env_file)
    assert checked.returncode == 0, checked.stderr

    # Resolved as compose would run it: the same commands, the emulator only under profile `demo`.
    resolved = yaml.safe_load(compose("config", env_file=env_file).stdout)["services"]
    assert set(resolved) == {"postgres", *DAGSTER_SERVICES, "emulator"}
    assert [name for name, service in resolved.items() if service.get("profiles")] == ["emulator"]
    assert resolved["emulator"]["profiles"] == ["demo"]
    expected = commands.compose_commands(env_example()["JELOU_API_POOL_LIMIT"])
    for name in DAGSTER_SERVICES:
        assert resolved[name]["command"] == expected[name], name

    demo = yaml.safe_load(compose("config", env_file=throwaway_env_file(tmp_path, demo=True)).stdout)["services"]
    assert demo["emulator"]["command"] == expected["emulator"]
    code_env = demo["jelou-code"]["environment"]
    assert code_env["JELOU_BASE_URL"] == f"http://emulator:{commands.CONTAINER_PORTS['emulator']}"
    assert (code_env["JELOU_CLIENT_ID"], code_env["JELOU_CLIENT_SECRET"]) == (commands.DEMO_CLIENT_ID, commands.DEMO_CLIENT_SECRET)
    assert code_env["JELOU_WAREHOUSE_URL"] == "postgresql+psycopg://jelou:throwaway0123@postgres:5432/jelou_warehouse"

    # Without a password compose refuses to start, and says where to set it.
    (tmp_path / "empty.env").write_text("")
    refused = compose("config", "-q", env_file=tmp_path / "empty.env")
    assert refused.returncode != 0
    assert "set POSTGRES_PASSWORD in docker/.env" in refused.stderr


def test_compose_and_native_test_run_the_same_commands():
    services = compose_services()
    pool_limit = "${JELOU_API_POOL_LIMIT:-2}"
    for name, command in commands.compose_commands(pool_limit).items():
        assert services[name]["command"] == command, f"{name}: compose and production_commands.py differ"
    for name, check in commands.compose_healthchecks().items():
        assert services[name]["healthcheck"]["test"] == ["CMD", *check], f"{name}: health check differs"
    assert services["emulator"]["profiles"] == ["demo"]

    for name in DAGSTER_SERVICES:
        service = services[name]
        # The same dagster.yaml and workspace.yaml files the native test copies and reads.
        volumes = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert volumes[f"{commands.CONTAINER_DAGSTER_HOME}/dagster.yaml"] == "./dagster.yaml", name
        assert volumes[commands.CONTAINER_WORKSPACE] == "./workspace.yaml", name
        # Exactly the variables the native test gives the same process.
        environment = service["environment"]
        assert sorted(environment) == sorted(commands.SERVICE_ENV[name]), name
        assert environment["DAGSTER_HOME"] == commands.CONTAINER_DAGSTER_HOME
        assert (environment["DAGSTER_PG_HOST"], environment["DAGSTER_PG_DB"]) == ("postgres", "dagster")
        assert service["restart"] == ("no" if name == "dagster-init" else "unless-stopped")
        if name in ("dagster-webserver", "dagster-daemon"):
            assert environment["DAGSTER_CODE_SERVER_HOST"] == "jelou-code"
            assert environment["DAGSTER_CODE_SERVER_PORT"] == str(commands.CONTAINER_PORTS["code"])
            assert service["depends_on"]["dagster-init"] == {"condition": "service_completed_successfully"}
            assert service["depends_on"]["jelou-code"] == {"condition": "service_healthy"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["jelou-code"]["environment"]["JELOU_AUTOMATION"] == "${JELOU_AUTOMATION:-running}"
    assert services["postgres"]["restart"] == "unless-stopped"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])

    # The image's default command is the code server's, and it prepares the dbt manifest at build time.
    dockerfile = commands.DOCKERFILE.read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, flags=re.M)
    assert cmd and yaml.safe_load(cmd.group(1)) == commands.compose_commands(pool_limit)["jelou-code"]
    assert "python -m jelou_assets.sla.prepare" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, flags=re.M), "the image must not run as root"


@pytest.mark.reliability
def test_env_example_lists_every_variable_and_commits_no_secret():
    example = env_example()
    compose_text = commands.COMPOSE_FILE.read_text()
    referenced = set(re.findall(r"\$\{([A-Z_]+)", compose_text))
    assert referenced - set(example) == set(), "variables compose reads but .env.example does not list"
    assert set(example) - referenced - {"COMPOSE_PROFILES"} == set(), ".env.example lists variables compose ignores"
    # Every project setting reaches the code server, and is documented in .env.example.
    text = commands.ENV_EXAMPLE.read_text()
    assert [name for name in commands.PIPELINE_ENV if name not in text] == []
    # No secret or password is committed.
    for name in ("POSTGRES_PASSWORD", *commands.SECRET_ENV):
        assert example[name] == "", f"{name} must be empty in .env.example"
    assert "POSTGRES_PASSWORD:?" in compose_text
    # PostgreSQL and the webserver are published on localhost only.
    services = compose_services()
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published), published


# ---------------------------------------------------------------------------------------------------------
# The production instance, natively, on PostgreSQL
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductionDatabases:
    host: str
    port: int
    username: str
    password: str
    dagster_db: str
    warehouse_url: str

    def instance_env(self, dagster_home: Path) -> dict[str, str]:
        return commands.instance_env(dagster_home, self.host, self.port, self.username, self.password, self.dagster_db)


@pytest.fixture
def production_databases() -> Iterator[ProductionDatabases]:
    """Two fresh databases on the test server, one for Dagster's instance and one for the warehouse."""
    with private_database("jelou_prod_dagster") as dagster_url, private_database("jelou_prod_warehouse") as warehouse_url:
        server = sa.make_url(dagster_url)
        yield ProductionDatabases(
            host=server.host or "127.0.0.1",
            port=server.port or 5432,
            username=server.username or "postgres",
            password=server.password or "",
            dagster_db=server.database,
            warehouse_url=warehouse_url,
        )


def production_home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME holding docker/dagster.yaml, byte for byte."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(commands.DAGSTER_YAML, home / "dagster.yaml")
    assert (home / "dagster.yaml").read_bytes() == commands.DAGSTER_YAML.read_bytes()
    return home


def open_instance(home: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> DagsterInstance:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return DagsterInstance.from_config(str(home))


@pytest.mark.postgres
def test_production_instance_queues_runs_and_limits_pools(production_databases, tmp_path, monkeypatch):
    home = production_home(tmp_path)
    env = production_databases.instance_env(home)
    processes = Processes(tmp_path, PROJECT_ROOT)
    init = processes.run("dagster-init", commands.api_pool_limit(API_POOL_LIMIT), clean_environment(**env))
    assert init.returncode == 0, processes.logs()
    assert processes.run("dagster-init", commands.api_pool_limit(API_POOL_LIMIT), clean_environment(**env)).returncode == 0  # idempotent

    instance = open_instance(home, env, monkeypatch)
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        assert concurrency.run_queue_config.tag_concurrency_limits == [{"key": "dagster/backfill", "limit": 3}]
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.pool_config.pool_granularity.value == "op"
        # jelou_api: its own limit; jelou_warehouse: dagster.yaml's default, as soon as a step asks for it.
        instance.event_log_storage.initialize_concurrency_limit_to_default(commands.WAREHOUSE_POOL)
        assert pool_limits(instance) == {commands.API_POOL: (API_POOL_LIMIT, False), commands.WAREHOUSE_POOL: (1, True)}
    finally:
        instance.dispose()


def pool_limits(instance: DagsterInstance) -> dict[str, tuple[int, bool]]:
    return {p.name: (p.limit, p.from_default) for p in instance.event_log_storage.get_pool_limits()}


def expected_per_team(day: str) -> Counter:
    """Ground truth: what the emulator (started with its defaults, as compose starts it) serves for the day."""
    config = EmulatorConfig()
    dataset = SyntheticDataset(seed=config.seed, per_day=config.per_day, timezone=config.timezone,
                               response_timezone=config.response_timezone)
    return Counter((record.get("assignationMethod") or {}).get("teamName") for record in dataset.day(date.fromisoformat(day)))


def warehouse_counts(url: str, days: list[str]) -> dict[str, dict]:
    """What the warehouse holds for `days` (a schedule firing during the test may add other days)."""
    window = {"first": date.fromisoformat(days[0]), "last": date.fromisoformat(days[-1])}
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            def rows(sql: str) -> list:
                where = "partition_date BETWEEN :first AND :last"
                return list(connection.execute(sa.text(sql.format(where=where)), window))

            def per_day(sql: str) -> dict[str, int]:
                return {str(day): int(n) for day, n in rows(sql)}

            return {
                "raw": per_day("SELECT partition_date, count(*) FROM jelou.raw_conversations WHERE {where} GROUP BY 1"),
                "raw_ids": per_day(
                    "SELECT partition_date, count(DISTINCT conversation_id) FROM jelou.raw_conversations WHERE {where} GROUP BY 1"),
                "facts": per_day("SELECT partition_date, count(*) FROM jelou.conversation_facts WHERE {where} GROUP BY 1"),
                "operators": per_day("SELECT partition_date, sum(conversations) FROM jelou.operator_sla_daily WHERE {where} GROUP BY 1"),
                "teams": {(str(day), team): int(n) for day, team, n in rows(
                    "SELECT partition_date, team_name, conversations FROM jelou.team_sla_daily WHERE {where}")},
                "breaches": {f"breach:{day}:{team}" for day, team in rows(
                    "SELECT partition_date, team_name FROM jelou.team_sla_daily WHERE {where} AND breached AND conversations >= 10")},
            }
    finally:
        engine.dispose()


def check_history(instance: DagsterInstance, asset: str, check: str) -> dict[str, str]:
    records = instance.event_log_storage.get_asset_check_execution_history(AssetCheckKey(AssetKey(asset), check), limit=100)
    return {record.partition: record.status.value for record in records}


@pytest.mark.production
@pytest.mark.postgres
@pytest.mark.slow
def test_daemon_and_webserver_run_a_backfill_end_to_end(production_databases, tmp_path, monkeypatch):
    home = production_home(tmp_path)
    (logs := tmp_path / "logs").mkdir()
    code_port, web_port, emulator_port = free_port(), free_port(), free_port()
    instance_env = production_databases.instance_env(home)
    workspace_env = commands.workspace_env("127.0.0.1", code_port)
    shutil.copyfile(commands.WORKSPACE_YAML, workspace := tmp_path / "workspace.yaml")
    webhook = Receiver()
    code_env = clean_environment(
        **instance_env,
        JELOU_AUTOMATION="running",  # as compose sets it: every schedule and sensor starts on its own
        JELOU_WAREHOUSE_URL=production_databases.warehouse_url,
        JELOU_BASE_URL=f"http://127.0.0.1:{emulator_port}",
        JELOU_CLIENT_ID=commands.DEMO_CLIENT_ID,
        JELOU_CLIENT_SECRET=commands.DEMO_CLIENT_SECRET,
        JELOU_ALERT_WEBHOOK_URL=webhook.url,
        JELOU_ALERT_MAX_AGE_DAYS="36500",  # the backfilled days are from 2025: alert on them anyway
        JELOU_DAGSTER_UI_URL=f"http://127.0.0.1:{web_port}",
    )
    dagster_env = clean_environment(**instance_env, **workspace_env)
    processes = Processes(logs, PROJECT_ROOT)
    instance = None

    def healthy(name: str, argv: list[str]) -> bool:
        return processes.run(f"{name}-health", argv, dagster_env, timeout=30).returncode == 0

    try:
        processes.start("emulator", commands.emulator("127.0.0.1", emulator_port), clean_environment())
        processes.wait_for("the emulator", lambda: healthy("emulator", commands.emulator_health(emulator_port)), 60)
        init = processes.run("dagster-init", commands.api_pool_limit(API_POOL_LIMIT), clean_environment(**instance_env))
        assert init.returncode == 0, processes.logs()

        processes.start("jelou-code", commands.code_server("127.0.0.1", code_port), code_env)
        processes.wait_for("the code server's health check", lambda: healthy("jelou-code", commands.code_server_health(code_port)), 120, 2)
        processes.start("dagster-webserver", commands.webserver("127.0.0.1", web_port, str(workspace)), dagster_env)
        processes.start("dagster-daemon", commands.daemon(str(workspace)), dagster_env)
        processes.wait_for("the webserver's health check", lambda: healthy("dagster-webserver", commands.webserver_health(web_port)), 120, 2)

        client = DagsterGraphQLClient("127.0.0.1", port_number=web_port)
        location = commands.CODE_LOCATION_NAME

        def first_tick(sensor: str):
            status, ticks = gql.sensor_ticks(client, location, sensor)
            # A tick is listed as STARTED while it runs; its outcome is there once it has ended.
            return ticks if status == "RUNNING" and ticks and ticks[0]["status"] != "STARTED" else None

        # The daemon ticks the sensors on its own (JELOU_AUTOMATION=running): the breach sensor starts from now.
        ticks = processes.wait_for("sla_breach_sensor's first tick", lambda: first_tick("sla_breach_sensor"), 120, 2)
        assert ticks[0]["status"] == "SKIPPED" and ticks[0]["skipReason"].startswith("initialized"), ticks
        processes.wait_for("run_failure_alert_sensor's first tick", lambda: first_tick("run_failure_alert_sensor"), 60, 2)

        backfill_id = gql.launch_job_backfill(client, location, JOB, DAYS)
        started = time.monotonic()

        def finished():
            backfill = gql.backfill(client, backfill_id)
            return backfill if backfill["status"] in gql.TERMINAL_BACKFILL_STATUSES else None

        backfill = processes.wait_for(f"backfill {backfill_id} to finish", finished, 420, 3)
        backfill_seconds = time.monotonic() - started
        assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), f"{backfill}\n{processes.logs()}"
        # Every asset has BackfillPolicy.single_run(): the three days are one run over the range.
        runs = backfill["runs"]
        assert len(runs) == 1, backfill
        tags = {tag["key"]: tag["value"] for tag in runs[0]["tags"]}
        assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (DAYS[0], DAYS[-1])
        for run in runs:
            assert client.get_run_status(run["runId"]) == DagsterRunStatus.SUCCESS, f"{run}\n{processes.logs()}"

        # The three days are in the PostgreSQL warehouse, with exactly what the API served.
        counts = warehouse_counts(production_databases.warehouse_url, DAYS)
        expected = {day: expected_per_team(day) for day in DAYS}
        totals = {day: sum(teams.values()) for day, teams in expected.items()}
        assert all(total > 0 for total in totals.values())
        for table in ("raw", "raw_ids", "facts", "operators"):
            assert counts[table] == totals, table
        assert counts["teams"] == {(day, team): n for day, teams in expected.items() for team, n in teams.items()}

        # The runs went through the run queue, recorded every per-day check, and used the production pools.
        instance = open_instance(home, instance_env, monkeypatch)
        for run in runs:
            assert instance.all_logs(run["runId"], of_type=DagsterEventType.RUN_ENQUEUED), run
        for asset, check in DAILY_CHECKS:
            history = check_history(instance, asset, check)
            assert set(DAYS) <= set(history), (asset, check, history)
            if (asset, check) != ("team_sla_daily", "sla_attainment_meets_goal"):  # a warning that may fire
                assert {history[day] for day in DAYS} == {"SUCCEEDED"}, (asset, check, history)
        assert pool_limits(instance) == {commands.API_POOL: (API_POOL_LIMIT, False), commands.WAREHOUSE_POOL: (1, True)}

        # A later tick of the breach sensor read the new marts and alerted each breached team-day, once.
        def alerted():
            keys = [body["key"] for body in webhook.bodies if body.get("kind") == "sla_breach" and body["fields"]["day"] in DAYS]
            return keys if set(keys) >= counts["breaches"] else None

        assert counts["breaches"], "the emulator's slow teams should breach on some day"
        keys = processes.wait_for("the breach alerts", alerted, 150, 2)
        assert sorted(keys) == sorted(counts["breaches"])
        _, ticks = gql.sensor_ticks(client, location, "sla_breach_sensor")
        assert [t for t in ticks if t["status"] == "FAILURE"] == []
        assert any(re.search(r"\b[1-9]\d* new breach alerts", t["skipReason"] or "") for t in ticks), ticks
        assert [body for body in webhook.bodies if body.get("kind") == "run_failure"] == []

        # The compose health check of the daemon passes against this daemon.
        assert healthy("dagster-daemon", commands.DAEMON_HEALTH), processes.logs()
        print(f"backfill of {len(DAYS)} days: {len(runs)} run(s), {backfill_seconds:.0f}s from launch to completion")
    except BaseException:
        print(processes.logs())
        raise
    finally:
        if instance is not None:
            instance.dispose()
        processes.stop()
        webhook.close()
