"""The client side of tests against the emulator: a resource pointed at it, and the records it holds for a day."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from jelou_assets.client import JelouResource
from jelou_assets.emulator import JelouEmulator
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.project import day_window


def jelou_for(emu: JelouEmulator, **overrides: Any) -> JelouResource:
    """A JelouResource with the emulator's address and credentials, fast enough for tests."""
    settings = dict(
        base_url=emu.url,
        client_id=emu.config.client_id,
        client_secret=emu.config.client_secret,
        requests_per_second=200.0,
        # Retries are counted, not waited out: a tenth of the production backoff, waits capped at 2 s.
        retry_backoff_s=0.05,
        max_retry_wait_s=2.0,
    )
    settings.update(overrides)
    return JelouResource(**settings)


def truth(emu: JelouEmulator, day: date) -> list[dict]:
    """The emulator's records of local `day` (the default partitions' zone): what ingesting the day must store."""
    return emu.dataset.conversations_between(*day_window(day))


def stored(warehouse: WarehouseResource, table: str, order: str = "partition_date, conversation_id") -> pd.DataFrame:
    """Every row of warehouse table `table`, in a stable order."""
    return warehouse.read_frame(sa.text(f"SELECT * FROM jelou.{table} ORDER BY {order}"))


def facts_from_emulator(emu: JelouEmulator, days: list[str], warehouse: WarehouseResource) -> pd.DataFrame:
    """The API's documented meaning, read directly: no reply is 0, active conversations have no duration and
    no end, times are UTC. Only when each record was fetched comes from the pipeline (raw_conversations)."""
    fetched = warehouse.read_frame(sa.text("SELECT conversation_id, fetched_at FROM jelou.raw_conversations"))
    fetched_at = dict(zip(fetched["conversation_id"], pd.to_datetime(fetched["fetched_at"])))
    rows = []
    for key in days:
        for record in emu.dataset.conversations_between(*day_window(date.fromisoformat(key))):
            active = record["state"] == "active"
            rows.append(
                {
                    "conversation_id": record["_id"],
                    "partition_date": date.fromisoformat(key),
                    "team_name": record["assignationMethod"]["teamName"],
                    "operator_name": record["operator"]["names"],
                    "origin": record["origin"],
                    "state": record["state"],
                    "started_at": pd.Timestamp(record["startAt"]),
                    "ended_at": pd.Timestamp(record["endAt"]) if record["endAt"] else pd.NaT,
                    "fetched_at": fetched_at[record["_id"]],
                    "first_reply_ms": record["timeRepliedOperator"] or None,
                    "duration_ms": None if active else record["conversationDuration"],
                }
            )
    frame = pd.DataFrame(rows)
    frame["first_reply_ms"] = frame["first_reply_ms"].astype("Float64")
    frame["duration_ms"] = frame["duration_ms"].astype("Float64")
    return frame
