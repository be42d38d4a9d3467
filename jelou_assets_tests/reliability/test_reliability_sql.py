"""SQL is parameterized everywhere; table and schema names come from code, never from data or config.

Statically: every SQL string our source builds at run time interpolates only names listed here, each a
name the code itself defines. Behaviourally: conversations whose text is hostile SQL or quoting are stored
and cleaned byte for byte on DuckDB and PostgreSQL, and every table is still there afterwards.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from dagster import materialize

from jelou_assets.client import JelouResource
from jelou_assets_tests.support.dbt_marts import Warehouse
from jelou_assets_tests.support.project import conversation_facts
from jelou_assets.defs.ingestion.raw_conversations import RAW_SCHEMA
from jelou_assets.privacy.pseudonyms import user_keys
from jelou_assets.settings import PROJECT_ROOT
from jelou_assets.defs.sla.marts import MARTS
from jelou_assets.warehouse import tables
from jelou_assets.warehouse.resource import WarehouseResource

pytestmark = pytest.mark.reliability

SOURCE = PROJECT_ROOT / "jelou_assets"
# Calls whose first argument is SQL text (SQLAlchemy, DB-API cursors, DuckDB, psycopg's COPY, pandas).
SQL_SINKS = frozenset({"text", "execute", "executemany", "exec_driver_sql", "copy", "sql", "read_sql", "read_sql_query"})

# (file, interpolated expression) -> why it is a name from code. Anything else interpolated into SQL fails.
ALLOWED_INTERPOLATIONS = {
    ("warehouse/partition_writer.py", "table.fullname"): "an sa.Table of warehouse/tables.py (schema.table)",
    ("warehouse/partition_writer.py", "placeholders"): "'?, ?, ...': one DuckDB bind marker per day, the days are bound",
    ("warehouse/partition_writer.py", "columns"): "the sa.Table's own column names; _columns rejects data that differs",
    ("sla/mart_metadata.py", "mart"): "an output name in MARTS, the dbt models' names; the dates are bound (:min_date)",
    ("defs/automation/sensors.py", "BREACHED_TEAMS"): "a literal FROM/WHERE clause of that module; :day and :min_conversations are bound",
    ("defs/privacy/raw_retention.py", "'redacted_payloads'"): "a literal: the name of the redaction's own temporary table",
    ("defs/privacy/raw_retention.py", "'?'"): "a literal: DuckDB's bind marker; the day is bound",
    ("defs/privacy/raw_retention.py", "'%s'"): "a literal: psycopg's bind marker; the day is bound",
    ("warehouse/resource.py", "table.fullname"): "an sa.Table of warehouse/tables.py (schema.table)",
    ("warehouse/resource.py", "column.name"): "a column name of that sa.Table",
    ("warehouse/resource.py", "kind"): "that column's SQLAlchemy type, compiled for the dialect",
    ("warehouse/resource.py", "name"): "a column name in tables.RETIRED_COLUMNS",
}
# (file, parameter) -> why SQL arriving through that parameter is from code: checked at every call site.
ALLOWED_SQL_PARAMETERS = {
    ("demo.py", "query"): "print_table's callers pass literal SELECTs with :first/:last binds",
    ("warehouse/resource.py", "statement"): "read_frame's sa.Executable: callers pass sa.text (checked above) or sa.select",
}


@dataclass(frozen=True)
class Interpolation:
    file: str
    line: int
    expression: str


def _interpolated(node: ast.expr) -> list[ast.expr] | None:
    """The expressions spliced into a SQL string expression; None when `node` is no string being built."""
    if isinstance(node, ast.Constant):
        return [] if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return [part.value for part in node.values if isinstance(part, ast.FormattedValue)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _interpolated(node.left) is not None:
        return [*_interpolated(node.left), *(node.right.elts if isinstance(node.right, ast.Tuple) else [node.right])]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts = []
        for side in (node.left, node.right):
            inner = _interpolated(side)
            parts += [side] if inner is None else inner
        return parts
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return [*(_interpolated(node.func.value) or []), *node.args, *(k.value for k in node.keywords)]
    return None


def _assignments(scope: ast.AST) -> dict[str, ast.expr]:
    return {
        target.id: statement.value
        for statement in ast.walk(scope)
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }


def sql_interpolations() -> tuple[list[Interpolation], list[Interpolation]]:
    """(expressions spliced into SQL text, SQL received as a function parameter) across jelou_assets/."""
    spliced: list[Interpolation] = []
    passed_in: list[Interpolation] = []
    for path in sorted(SOURCE.rglob("*.py")):
        module = ast.parse(path.read_text(), filename=str(path))
        name = path.relative_to(SOURCE).as_posix()
        module_names = _assignments(module)
        functions = [n for n in ast.walk(module) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        seen: set[int] = set()
        # Innermost scopes first, so each call is read once, with the parameters of the function it is in.
        for function in [*reversed(functions), module]:
            local_names = _assignments(function) if function is not module else {}
            parameters = {a.arg for a in function.args.args + function.args.kwonlyargs} if function is not module else set()
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call) and call.args) or id(call) in seen:
                    continue
                seen.add(id(call))
                sink = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
                if sink not in SQL_SINKS:
                    continue
                statement = call.args[0]
                if isinstance(statement, ast.Name) and statement.id in parameters:
                    passed_in.append(Interpolation(name, call.lineno, statement.id))
                    continue
                if isinstance(statement, ast.Name):
                    statement = local_names.get(statement.id, module_names.get(statement.id, statement))
                for expression in _interpolated(statement) or []:
                    spliced.append(Interpolation(name, call.lineno, ast.unparse(expression)))
    return spliced, passed_in


def test_sql_text_interpolates_only_names_defined_in_code() -> None:
    spliced, _ = sql_interpolations()
    unexpected = [i for i in spliced if (i.file, i.expression) not in ALLOWED_INTERPOLATIONS]
    assert not unexpected, f"bind these as parameters, or list them with a reason: {unexpected}"
    # The walk really sees the dynamic SQL there is; an allowance nobody uses any more is removed.
    assert {(i.file, i.expression) for i in spliced} == set(ALLOWED_INTERPOLATIONS)


def test_sql_passed_in_as_a_parameter_is_a_literal_at_every_call_site() -> None:
    _, passed_in = sql_interpolations()
    assert {(i.file, i.expression) for i in passed_in} == set(ALLOWED_SQL_PARAMETERS)
    demo = ast.parse((SOURCE / "demo.py").read_text())
    calls = [n for n in ast.walk(demo) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print_table"]
    queries = [c.args[2] for c in calls]
    assert calls and all(_interpolated(q) == [] for q in queries), [ast.unparse(q) for q in queries]


def test_read_frame_is_only_given_sqlalchemy_statements() -> None:
    # A str here would reach pandas unchecked; sa.text(...) bodies are covered by the interpolation test.
    given: list[str] = []
    for path in sorted(SOURCE.rglob("*.py")):
        module = ast.parse(path.read_text())
        names = _assignments(module)
        for call in ast.walk(module):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "read_frame":
                statement = call.args[0]
                if isinstance(statement, ast.Name):
                    statement = names.get(statement.id, statement)
                while isinstance(statement, ast.Call) and isinstance(statement.func, ast.Attribute) and isinstance(
                    statement.func.value, ast.Call
                ):  # sa.select(...).where(...).order_by(...) -> sa.select(...)
                    statement = statement.func.value
                given.append(ast.unparse(statement.func) if isinstance(statement, ast.Call) else ast.unparse(statement))
    assert given and set(given) <= {"sa.text", "sa.select"}, given


@pytest.mark.parametrize(
    "statement",
    [
        "sa.text(f\"DELETE FROM jelou.raw_conversations WHERE partition_date = '{day}'\")",
        "cursor.execute(\"SELECT * FROM t WHERE id = '%s'\" % conversation_id)",
        "connection.exec_driver_sql(\"SELECT * FROM t WHERE d = '{}'\".format(day))",
        "connection.execute(\"SELECT * FROM t WHERE d = '\" + day + \"'\")",
    ],
)
def test_the_walk_sees_a_value_spliced_into_sql_in_every_spelling(statement: str) -> None:
    call = ast.parse(statement).body[0].value
    spliced = [ast.unparse(e) for e in _interpolated(call.args[0]) or []]
    assert spliced and set(spliced) <= {"day", "conversation_id"}


def test_every_name_interpolated_into_sql_is_a_plain_identifier() -> None:
    # What the allowed expressions can evaluate to: the tables' full names, their columns, the marts.
    identifier = re.compile(r"[a-z_][a-z0-9_]*")
    names = [tables.SCHEMA, *MARTS]
    for table in tables.metadata.sorted_tables:
        names += [*table.fullname.split("."), *(column.name for column in table.columns)]
    assert all(identifier.fullmatch(name) for name in names), names


# ---------------------------------------------------------------- behaviour on both warehouses

DAY = date(2025, 3, 1)
HOSTILE = [
    "'; DROP TABLE jelou.raw_conversations; --",
    '"; DROP TABLE jelou.conversation_facts; --',
    "Robert'); DELETE FROM jelou.raw_conversations WHERE ('1'='1",
    "O'Brien \"the\" back\\slash \\' \\\\ \\n",
    "$$ language plpgsql $$ $tag$ x $tag$",
    "%s %(x)s :day ? {0} ${1} @p1",
    "José Núñez — 日本語 🙂 \u202e reversed \u200b zero-width",
    "tab\tnew\nline\rreturn inside",
    "/* comment */ -- comment",
    "\\x00 \\u0000 (escapes, no NUL)",
]


def hostile_records() -> list[tuple[str, str]]:
    """(conversation id, payload text as the API would send it): every text field of each is hostile."""
    rows = []
    for n, text in enumerate(HOSTILE):
        record = {
            "_id": f"{text}#{n}", "state": "closed", "endedReason": text, "origin": text,
            "operator": {"names": text}, "assignationMethod": {"teamName": text}, "bot": {"name": text},
            "company": {"id": text}, "user": {"id": text},
            "startAt": "2025-03-01 15:00:00", "endAt": "2025-03-01 15:01:00",
            "timeRepliedOperator": 1000 + n, "conversationDuration": 60000,
        }
        rows.append((record["_id"], json.dumps(record, ensure_ascii=False)))
    return rows


def store_raw(warehouse: WarehouseResource, rows: list[tuple[str, str]]) -> None:
    # Shaped as raw_conversations.raw_rows shapes them, through the same partition writer.
    fetched_at = datetime(2025, 3, 2, 6, 0)
    table = pa.table(
        {
            "partition_date": pa.array([DAY] * len(rows), pa.date32()),
            "conversation_id": pa.array([r[0] for r in rows], pa.string()),
            "payload": pa.array([r[1] for r in rows], pa.string()),
            "fetched_at": pa.array([fetched_at] * len(rows), pa.timestamp("us")),
        },
        schema=RAW_SCHEMA,
    )
    warehouse.replace_partitions([DAY], {tables.raw_conversations: table})


def read(warehouse: WarehouseResource, table: sa.Table) -> pd.DataFrame:
    return warehouse.read_frame(sa.select(table).where(table.c.partition_date == DAY).order_by(table.c.conversation_id))


def test_hostile_text_round_trips_exactly_through_raw_and_facts_and_every_table_survives(
    warehouse: WarehouseResource,
) -> None:
    rows = hostile_records()
    store_raw(warehouse, rows)
    store_raw(warehouse, rows)  # a re-run deletes the day with the ids bound, then writes it again
    jelou = JelouResource(base_url="http://127.0.0.1:9", client_id="demo", client_secret="demo-secret")
    result = materialize([conversation_facts], partition_key=DAY.isoformat(), resources={"warehouse": warehouse, "jelou": jelou})
    assert result.success

    raw = read(warehouse, tables.raw_conversations)
    assert sorted(zip(raw["conversation_id"], raw["payload"])) == sorted(rows)
    facts = read(warehouse, tables.conversation_facts).set_index("conversation_id")
    assert sorted(facts.index) == sorted(r[0] for r in rows)
    for n, text in enumerate(HOSTILE):
        fact = facts.loc[f"{text}#{n}"]
        assert [fact[c] for c in ("ended_reason", "origin", "operator_name", "team_name", "bot_name", "company_id")] == [text] * 6
        assert fact["user_key"] == user_keys([text], jelou.user_key_secret())[0]
        assert fact["first_reply_ms"] == 1000 + n

    with warehouse.connect() as connection:
        present = set(sa.inspect(connection).get_table_names(schema=tables.SCHEMA))
    assert {t.name for t in tables.metadata.sorted_tables} <= present


def test_dbt_window_var_that_is_not_a_date_is_refused_before_any_sql(tmp_path: Path) -> None:
    # The dbt macros quote min_date/max_date into SQL; they only ever come from a partition's dates
    # (build_window), and sla_window.sql refuses anything that is not YYYY-MM-DD before quoting it.
    hostile = "2025-03-01' as date) or 1=1; drop table jelou.conversation_facts; --"
    warehouse = Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path)
    warehouse.dbt("compile", "--vars", json.dumps({"min_date": hostile, "max_date": "2025-03-01"}), expect_success=False)
    assert "var min_date must be a date 'YYYY-MM-DD'" in warehouse.last_output
    compiled = [p.read_text() for p in (tmp_path / "target").rglob("*.sql")]
    assert not any("1=1" in text for text in compiled)
