"""Delivery that never drops an alert: what a sink refused waits in the sensor's cursor for the next tick.

(Dagster's run-status sensors advance their cursor even when the sensor fails, so a sink outage would lose
alerts; these sensors keep their own cursor instead.)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from jelou_assets.alerts.alert import Alert
from jelou_assets.alerts.sinks import AlertSinks, log_alert

MAX_PENDING = 1000


@dataclass
class SensorState:
    """Everything a sensor remembers between ticks, persisted as its cursor (survives daemon restarts)."""

    after_storage_id: int | None = None
    alerted: dict[str, str] = field(default_factory=dict)  # alert key -> fingerprint of what was sent
    pending: list[dict[str, Any]] = field(default_factory=list)  # {"alert": ..., "sinks": [...]}

    @classmethod
    def from_cursor(cls, cursor: str | None) -> "SensorState | None":
        return cls(**json.loads(cursor)) if cursor else None

    def to_cursor(self) -> str:
        return json.dumps(
            {"after_storage_id": self.after_storage_id, "alerted": self.alerted, "pending": self.pending},
            sort_keys=True,
        )


def deliver(sinks: AlertSinks, alerts: list[Alert], pending: list[dict[str, Any]], log: logging.Logger) -> list[dict[str, Any]]:
    """Log every new alert, send it to every external sink, retry earlier failures; returns what still failed."""
    attempts = [(Alert.from_json(item["alert"]), item["sinks"]) for item in pending]
    for alert in alerts:
        log_alert(log, alert)
        attempts.append((alert, sinks.sink_names()))
    still_pending = []
    for alert, sink_names in attempts:
        failed = []
        for sink in sink_names:
            try:
                sinks.send(sink, alert)
            except Exception as error:  # any sink failure: keep the alert for the next tick
                log.error(f"alert {alert.key} not delivered to {sink}: {type(error).__name__}: {str(error)[:200]}")
                failed.append(sink)
        if failed:
            still_pending.append({"alert": alert.to_json(), "sinks": failed})
    if len(still_pending) > MAX_PENDING:
        log.error(f"{len(still_pending) - MAX_PENDING} oldest undelivered alerts dropped: sinks failing for long")
        still_pending = still_pending[-MAX_PENDING:]
    return still_pending
