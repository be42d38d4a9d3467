"""What the per-day checks share: one query per check over the run's days, reported per partition."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import warnings

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    PreviewWarning,
)

from jelou_assets.partitions import daily_partitions

DayResult = tuple[bool, Mapping[str, Any], str]
# A check's evaluator: the run's days in, each day's result out.
DaysEvaluator = Callable[[Sequence[date]], Mapping[date, DayResult]]


def daily_check_spec(name: str, asset: str, description: str, blocking: bool = False) -> AssetCheckSpec:
    """A check evaluated per daily partition (see `evaluate_per_day`)."""
    # Partitioned checks are a Dagster preview, chosen knowingly: a day's result belongs to that day.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return AssetCheckSpec(name, asset=asset, blocking=blocking, partitions_def=daily_partitions, description=description)


def days_window(days: Sequence[date]) -> dict[str, date]:
    """Bind parameters `first`/`last` of a `partition_date BETWEEN :first AND :last` query over the days."""
    return {"first": min(days), "last": max(days)}


def evaluate_per_day(
    context: AssetCheckExecutionContext,
    asset: str,
    evaluators: Mapping[str, DaysEvaluator],
    *,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    blocking: bool = False,
) -> Iterator[AssetCheckEvaluation]:
    """One evaluation per (selected check, day of the run), each recorded against its own partition."""
    selected = {key.name for key in context.selected_asset_check_keys}
    keys = list(context.partition_keys)
    days = [date.fromisoformat(key) for key in keys]
    results = {name: evaluate(days) for name, evaluate in evaluators.items() if name in selected}
    for key, day in zip(keys, days):
        for name, by_day in results.items():
            passed, metadata, description = by_day[day]
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
