"""What the per-day checks share: running a query per day of the run and reporting per partition."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

from dagster import AssetCheckEvaluation, AssetCheckExecutionContext, AssetCheckSeverity, AssetCheckSpec, AssetKey

from jelou_assets.partitions import daily_partitions

DayResult = tuple[bool, Mapping[str, Any], str]


def daily_check_spec(name: str, asset: str, description: str, blocking: bool = False) -> AssetCheckSpec:
    """A check evaluated per daily partition (see `evaluate_per_day`)."""
    return AssetCheckSpec(name, asset=asset, blocking=blocking, partitions_def=daily_partitions, description=description)


def evaluate_per_day(
    context: AssetCheckExecutionContext,
    asset: str,
    evaluators: Mapping[str, Callable[[date], DayResult]],
    *,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    blocking: bool = False,
) -> Iterator[AssetCheckEvaluation]:
    """One evaluation per (selected check, day of the run), each recorded against its own partition."""
    selected = {key.name for key in context.selected_asset_check_keys}
    for key in context.partition_keys:
        day = date.fromisoformat(key)
        for name, evaluate in evaluators.items():
            if name not in selected:
                continue
            passed, metadata, description = evaluate(day)
            if not passed:
                context.log.warning(f"{asset}.{name} failed for {key}: {description}")
            yield AssetCheckEvaluation(
                asset_key=AssetKey(asset),
                check_name=name,
                passed=passed,
                partition=key,
                metadata=dict(metadata),
                description=description,
                severity=severity,
                blocking=blocking,
            )
