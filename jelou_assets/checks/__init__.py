"""Data-quality checks. Each is a partitioned `@multi_asset_check` that yields one evaluation per day, so a
30-day single-run backfill shows which day failed (Dagster would otherwise record one range-wide result)."""
