"""The production deployment's processes, defined once.

`docker/docker-compose.yml` runs these commands in containers; `test_production.py` runs the very same
argv natively (only addresses, ports and paths differ, and they are parameters here), and
`test_compose_and_native_test_run_the_same_commands` checks the compose file against this module, so
the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from jelou_assets.settings import PROJECT_ROOT, Settings, env_name

DOCKER_DIR = PROJECT_ROOT / "docker"
COMPOSE_FILE = DOCKER_DIR / "docker-compose.yml"
DAGSTER_YAML = DOCKER_DIR / "dagster.yaml"
WORKSPACE_YAML = DOCKER_DIR / "workspace.yaml"
ENV_EXAMPLE = DOCKER_DIR / ".env.example"
DOCKERFILE = DOCKER_DIR / "Dockerfile"

CODE_LOCATION_MODULE = "jelou_assets.definitions"
CODE_LOCATION_NAME = "jelou_sla"  # docker/workspace.yaml's location_name, as in pyproject's [tool.dagster]
API_POOL = "jelou_api"
WAREHOUSE_POOL = "jelou_warehouse"

# Inside the containers (docker-compose.yml); the native test uses a temporary directory instead.
CONTAINER_DAGSTER_HOME = "/opt/dagster/home"
CONTAINER_WORKSPACE = "/opt/dagster/workspace.yaml"
CONTAINER_PORTS = {"code": 4000, "webserver": 3000, "emulator": 8765}
# The emulator's own defaults, written out: the demo block of docker/.env.example uses them.
DEMO_CLIENT_ID, DEMO_CLIENT_SECRET = "demo", "demo-secret"


def code_server(host: str, port: int | str) -> list[str]:
    return ["dagster", "api", "grpc", "-m", CODE_LOCATION_MODULE, "-h", host, "-p", str(port)]


def webserver(host: str, port: int | str, workspace: str) -> list[str]:
    return ["dagster-webserver", "-h", host, "-p", str(port), "-w", workspace]


def daemon(workspace: str) -> list[str]:
    return ["dagster-daemon", "run", "-w", workspace]


def api_pool_limit(limit: int | str) -> list[str]:
    """The one-shot `dagster-init` service: the `jelou_api` pool's limit (every other pool: dagster.yaml's default)."""
    return ["dagster", "instance", "concurrency", "set", API_POOL, str(limit)]


def emulator(host: str, port: int | str) -> list[str]:
    return ["python", "-m", "jelou_assets.emulator", "--host", host, "--port", str(port),
            "--client-id", DEMO_CLIENT_ID, "--client-secret", DEMO_CLIENT_SECRET]


# Health checks: compose runs them inside each container; the native test runs them against its processes.
def code_server_health(port: int | str) -> list[str]:
    return ["dagster", "api", "grpc-health-check", "-p", str(port)]


def webserver_health(port: int | str) -> list[str]:
    return ["python", "-c", f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/server_info', timeout=5)"]


DAEMON_HEALTH = ["dagster-daemon", "liveness-check"]


def emulator_health(port: int | str) -> list[str]:
    return ["python", "-c", f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5).close()"]


# Environment, by what reads it. docker/dagster.yaml reads the instance variables, docker/workspace.yaml
# the workspace ones, jelou_assets (in the code server and the runs it launches) the pipeline ones.
INSTANCE_ENV = ("DAGSTER_HOME", "DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB")
WORKSPACE_ENV = ("DAGSTER_CODE_SERVER_HOST", "DAGSTER_CODE_SERVER_PORT")
SECRET_ENV = ("JELOU_CLIENT_ID", "JELOU_CLIENT_SECRET", "JELOU_PSEUDONYM_KEY", "JELOU_ALERT_WEBHOOK_URL", "SLACK_BOT_TOKEN")
PIPELINE_ENV = tuple(sorted({*(env_name(f.name) for f in fields(Settings)), *SECRET_ENV, "JELOU_SLACK_CHANNEL"}))

SERVICE_ENV = {
    "jelou-code": INSTANCE_ENV + PIPELINE_ENV,
    "dagster-init": INSTANCE_ENV,
    "dagster-webserver": INSTANCE_ENV + WORKSPACE_ENV,
    "dagster-daemon": INSTANCE_ENV + WORKSPACE_ENV,
}


def instance_env(dagster_home: str | Path, host: str, port: int | str, username: str, password: str, db: str) -> dict[str, str]:
    return {
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": host,
        "DAGSTER_PG_PORT": str(port),
        "DAGSTER_PG_USERNAME": username,
        "DAGSTER_PG_PASSWORD": password,
        "DAGSTER_PG_DB": db,
    }


def workspace_env(host: str, port: int | str) -> dict[str, str]:
    return {"DAGSTER_CODE_SERVER_HOST": host, "DAGSTER_CODE_SERVER_PORT": str(port)}


def compose_commands(api_pool_limit_value: str) -> dict[str, list[str]]:
    """Each compose service's command, as compose runs it."""
    ports, workspace = CONTAINER_PORTS, CONTAINER_WORKSPACE
    return {
        "jelou-code": code_server("0.0.0.0", ports["code"]),
        "dagster-init": api_pool_limit(api_pool_limit_value),
        "dagster-webserver": webserver("0.0.0.0", ports["webserver"], workspace),
        "dagster-daemon": daemon(workspace),
        "emulator": emulator("0.0.0.0", ports["emulator"]),
    }


def compose_healthchecks() -> dict[str, list[str]]:
    ports = CONTAINER_PORTS
    return {
        "jelou-code": code_server_health(ports["code"]),
        "dagster-webserver": webserver_health(ports["webserver"]),
        "dagster-daemon": DAEMON_HEALTH,
        "emulator": emulator_health(ports["emulator"]),
    }
