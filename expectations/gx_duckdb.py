"""Great Expectations 1.x on DuckDB: a small execution-engine adapter.

GX 1.x has no DuckDB engine; its SQL engine over duckdb-engine fails with
``MetricResolutionError: list index out of range`` (GX issue #10738). The cause is in
``SqlAlchemyExecutionEngine.execute_query``: it returns the *unfetched* result after its
``with engine.connect()`` block has closed the connection. Closing rolls the connection's
transaction back, DuckDB drops a pending result on rollback, and the caller's later
``fetchall()`` sees no rows. PostgreSQL drivers buffer rows client-side, so nobody else
notices.

The adapter:

* ``DuckDBExecutionEngine`` keeps one connection open for its life (GX does the same for
  SQLite and SQL Server), so a result is still there when the caller fetches it. Buffering
  each result instead (``result.freeze()``) also works, but fetches *every* row of every
  query into Python: GX's ``UnexpectedRowsExpectation`` then pulls all failing rows of a bad
  file, where the open connection lets its ``fetchmany(200_000)`` stop early;
* registers SQLAlchemy's PostgreSQL dialect module as the engine's ``dialect_module``:
  duckdb-engine's dialect derives from PostgreSQL's, so GX then builds regex conditions with
  ``~`` / ``!~``, which DuckDB evaluates as a partial match, like PostgreSQL;
* ``DuckDBDatasource``, a fluent ``SQLDatasource`` with its own ``type`` (``"duckdb"``),
  whose ``execution_engine_type`` is the engine above. Defining the class registers
  ``context.data_sources.add_duckdb(...)``.

This module imports ``great_expectations`` (about 10 s): import it lazily, from inside
functions, never from a module a DAG file imports. ``tests/unit/test_gx_duckdb.py`` pins the
behaviour and also shows the unpatched engine still failing; when that test starts failing
because GX fixed the bug upstream, this adapter can go.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql as sa_postgresql
from great_expectations.compatibility.typing_extensions import override
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
from great_expectations.execution_engine.sqlalchemy_execution_engine import (
    SqlAlchemyExecutionEngine,
)

DATASOURCE_TYPE = "duckdb"


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """SqlAlchemyExecutionEngine whose query results survive until they are fetched.

    GX runs every query as ``with engine.connect() as c: return c.execute(q)``; the
    connection closes (and rolls back) before the caller fetches. Like GX does for SQLite
    and SQL Server, this engine keeps one connection open for its whole life, so a result
    stays readable until the next query. Every GX call site fetches right away
    (``execute_query(q).fetchall()``/``fetchmany``/``scalar``), which is all DuckDB allows
    anyway (one pending result per connection). Rows stream: ``fetchmany(200_000)`` on a
    query with millions of rows pulls only those rows into Python.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.dialect_name == "duckdb":
            # GX picks regex helpers by dialect module; duckdb-engine's dialect is a
            # PGDialect subclass, so PostgreSQL's module is the right one.
            self.dialect_module = sa_postgresql

    @contextmanager
    @override
    def get_connection(self) -> Iterator[sa.Connection]:
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
        yield self._connection

    @override
    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


class DuckDBDatasource(SQLDatasource):
    """A fluent SQL datasource for DuckDB (``duckdb:///path/to/file.duckdb``)."""

    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]

    @property
    @override
    def execution_engine_type(self) -> builtins.type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine


def duckdb_url(path: str) -> str:
    """SQLAlchemy URL of a DuckDB database file."""
    return sa.engine.URL.create("duckdb", database=path).render_as_string()
