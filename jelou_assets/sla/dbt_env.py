"""Environment for the dbt project, derived from the one warehouse URL.

`dbt_project/profiles.yml` reads only `JELOU_DBT_*` environment variables; this module
turns the project's SQLAlchemy URL (`JELOU_WAREHOUSE_URL`) into them, so credentials are
typed in one place only::

    env = {**os.environ, **dbt_env_from_url(os.environ["JELOU_WAREHOUSE_URL"])}
    subprocess.run(["dbt", "build", "--profiles-dir", "."], cwd="dbt_project", env=env)
"""

from __future__ import annotations

import getpass
import os

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["dbt_env_from_url"]

_EXAMPLES = (
    "e.g. JELOU_WAREHOUSE_URL=duckdb:///data/warehouse.duckdb or "
    "JELOU_WAREHOUSE_URL=postgresql+psycopg://user:password@host:5432/dbname"
)
_POSTGRES_BACKENDS = {"postgresql", "postgres"}


def dbt_env_from_url(url: str) -> dict[str, str]:
    """Return the `JELOU_DBT_*` variables that point `dbt_project/profiles.yml` at `url`.

    - `duckdb:///path.duckdb` (relative to the current working directory, or absolute
      with four slashes) -> target `duckdb` with an absolute `JELOU_DBT_DUCKDB_PATH`.
    - `postgresql[+driver]://user:password@host:port/db` (also `postgres://`) -> target
      `postgres`; the password is URL-decoded; a `?host=/socket/dir` query and `sslmode`
      are honoured; missing parts get libpq's defaults (localhost, 5432, OS user,
      database named like the user).

    Raises ValueError, naming JELOU_WAREHOUSE_URL, for anything else.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:  # the message never echoes the URL: it may hold a password
        raise ValueError(f"JELOU_WAREHOUSE_URL is not a valid SQLAlchemy URL; {_EXAMPLES}") from exc

    backend = parsed.get_backend_name()
    if backend == "duckdb":
        database = parsed.database
        if not database or database == ":memory:":
            raise ValueError(
                "JELOU_WAREHOUSE_URL must name a DuckDB file for dbt (an in-memory database "
                f"cannot be shared with dbt); {_EXAMPLES}"
            )
        return {
            "JELOU_DBT_TARGET": "duckdb",
            "JELOU_DBT_DUCKDB_PATH": os.path.abspath(os.path.expanduser(database)),
        }

    if backend in _POSTGRES_BACKENDS:
        query_host = parsed.query.get("host")
        if isinstance(query_host, tuple):  # repeated ?host= (multi-host): dbt takes one
            query_host = query_host[0]
        user = parsed.username or getpass.getuser()
        env = {
            "JELOU_DBT_TARGET": "postgres",
            "JELOU_DBT_PG_HOST": parsed.host or query_host or "localhost",
            "JELOU_DBT_PG_PORT": str(parsed.port or 5432),
            "JELOU_DBT_PG_USER": user,
            "JELOU_DBT_PG_PASSWORD": parsed.password or "",
            "JELOU_DBT_PG_DBNAME": parsed.database or user,
        }
        sslmode = parsed.query.get("sslmode")
        if isinstance(sslmode, str) and sslmode:
            env["JELOU_DBT_PG_SSLMODE"] = sslmode
        return env

    raise ValueError(
        f"JELOU_WAREHOUSE_URL uses the unsupported engine {backend!r}: the dbt project runs "
        f"on DuckDB or PostgreSQL; {_EXAMPLES}"
    )
