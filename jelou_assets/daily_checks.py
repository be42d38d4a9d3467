"""What the per-day checks share: one query per check over the run's days, one result per partition.

Each check is a partitioned `@multi_asset_check` that yields one evaluation per day, so a 30-day
single-run backfill shows which day failed (Dagster would otherwise record one range-wide result).
"""

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from functools import partial
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DailyPartitionsDefinition,
    PreviewWarning,
    multi_asset_check,
)

from jelou_assets.partitions import partition_days
from jelou_assets.warehouse.resource import WarehouseResource

DayResult = tuple[bool, Mapping[str, Any], str]
# A check's evaluator: the warehouse and the run's days in, each day's result out.
DaysEvaluator = Callable[[WarehouseResource, Sequence[date]], Mapping[date, DayResult]]


# What the check's Partitions tab can and cannot show, said where a lead reads it (see `evaluate_per_day`).
PARTITIONS_TAB_NOTE = (
    " Partitions tab: a day shows its result there when a one-day run built it last (the daily schedule, a "
    "one-day materialization); a day built last by a multi-day run (a backfill, the late-arrival refresh) shows "
    "as Missing there, and its result is in Execution history."
)


def daily_check_spec(
    name: str, asset: str, description: str, partitions: DailyPartitionsDefinition, blocking: bool = False
) -> AssetCheckSpec:
    """A check evaluated per daily partition (see `evaluate_per_day`)."""
    description += PARTITIONS_TAB_NOTE
    # Partitioned checks are a Dagster preview, chosen knowingly: a day's result belongs to that day.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return AssetCheckSpec(name, asset=asset, blocking=blocking, partitions_def=partitions, description=description)


def daily_checks(
    name: str,
    asset: str,
    checks: Mapping[str, tuple[str, DaysEvaluator]],
    partitions: DailyPartitionsDefinition,
    *,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    blocking: bool = False,
) -> AssetChecksDefinition:
    """One step evaluating `checks` (check name -> (description, evaluator)) of `asset` for each day of a run."""

    @multi_asset_check(
        name=name,
        specs=[daily_check_spec(check, asset, description, partitions, blocking) for check, (description, _) in checks.items()],
        can_subset=True,
    )
    def evaluate(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[AssetCheckEvaluation]:
        evaluators = {check: partial(evaluator, warehouse) for check, (_, evaluator) in checks.items()}
        yield from evaluate_per_day(context, asset, evaluators, severity=severity, blocking=blocking)

    return evaluate


def days_window(days: Sequence[date]) -> dict[str, date]:
    """Bind parameters `first`/`last` of a `partition_date BETWEEN :first AND :last` query over the days."""
    return {"first": min(days), "last": max(days)}


def evaluate_per_day(
    context: AssetCheckExecutionContext,
    asset: str,
    evaluators: Mapping[str, Callable[[Sequence[date]], Mapping[date, DayResult]]],
    *,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    blocking: bool = False,
) -> Iterator[AssetCheckResult | AssetCheckEvaluation]:
    """One evaluation per (selected check, day of the run), each recorded against its own partition."""
    selected = {key.name for key in context.selected_asset_check_keys}
    keys = list(context.partition_keys)
    days = partition_days(keys)
    results = {name: evaluate(days) for name, evaluate in evaluators.items() if name in selected}
    for key, day in zip(keys, days):
        for name, by_day in results.items():
            passed, metadata, description = by_day[day]
            if not passed:
                context.log.warning(f"{asset}.{name} failed for {key}: {description}")
            if len(keys) == 1:
                # Dagster records a one-day run's result with the day's materialization it checked, which
                # is what the check's Partitions tab counts; an evaluation from a multi-day run has no
                # public way to name that materialization, so there the day shows only in the history.
                yield AssetCheckResult(
                    asset_key=AssetKey(asset), check_name=name, passed=passed, metadata=dict(metadata),
                    description=description, severity=severity,
                )
                continue
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
