-- Runs once, when the `postgres` service initializes an empty data volume, as POSTGRES_USER.
-- Database `dagster` (POSTGRES_DB) holds Dagster's instance; `jelou_warehouse` holds the warehouse
-- (schema `jelou`). Two databases on one server: they are backed up, restored and sized separately.
CREATE DATABASE jelou_warehouse;
