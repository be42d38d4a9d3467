"""The GraphQL the production test sends to the webserver: what the UI sends to launch a backfill and to
show a backfill's runs and a sensor's ticks."""

from __future__ import annotations

from typing import Any

from dagster_graphql import DagsterGraphQLClient

REPOSITORY = "__repository__"  # the repository Dagster builds around a `Definitions`

LAUNCH_BACKFILL = """
mutation LaunchBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
    ... on PythonError { stack }
  }
}
"""

BACKFILL = """
query Backfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      status
      numPartitions
      error { message }
      runs { runId status tags { key value } }
    }
    ... on Error { message }
  }
}
"""

SENSOR_TICKS = """
query SensorTicks($sensorSelector: SensorSelector!) {
  sensorOrError(sensorSelector: $sensorSelector) {
    __typename
    ... on Sensor {
      sensorState {
        status
        ticks(limit: 50) { status timestamp skipReason cursor error { message } }
      }
    }
    ... on Error { message }
  }
}
"""

TERMINAL_BACKFILL_STATUSES = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def launch_job_backfill(client: DagsterGraphQLClient, location: str, job: str, partitions: list[str]) -> str:
    """A backfill of a partitioned job over `partitions`, as the job's *Backfill* dialog launches it."""
    data = client._execute(  # noqa: SLF001 - the client has no public backfill method; this is its transport
        LAUNCH_BACKFILL,
        {
            "backfillParams": {
                "selector": {
                    "partitionSetName": f"{job}_partition_set",
                    "repositorySelector": {"repositoryLocationName": location, "repositoryName": REPOSITORY},
                },
                "partitionNames": partitions,
                "fromFailure": False,
                "tags": [],
            }
        },
    )
    result = data["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", f"backfill not launched: {result}"
    return result["backfillId"]


def backfill(client: DagsterGraphQLClient, backfill_id: str) -> dict[str, Any]:
    result = client._execute(BACKFILL, {"backfillId": backfill_id})["partitionBackfillOrError"]  # noqa: SLF001
    assert result["__typename"] == "PartitionBackfill", result
    return result


def sensor_ticks(client: DagsterGraphQLClient, location: str, sensor: str) -> tuple[str, list[dict[str, Any]]]:
    """The sensor's status and its ticks, oldest first."""
    selector = {"repositoryLocationName": location, "repositoryName": REPOSITORY, "sensorName": sensor}
    result = client._execute(SENSOR_TICKS, {"sensorSelector": selector})["sensorOrError"]  # noqa: SLF001
    assert result["__typename"] == "Sensor", result
    state = result["sensorState"]
    return state["status"], sorted(state["ticks"], key=lambda tick: tick["timestamp"])
