"""The warehouse's statements kept as .sql files beside the room that runs them.

A file holds one statement (or a few that take no parameters) and names its values as
``$name`` parameters, bound when it runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")
_COMMENT = re.compile(r"--[^\n]*")


def sql_literal(text: str) -> str:
    """A SQL string literal of ``text`` (for statements that take no parameters, such as
    COMMENT ON)."""
    return "'" + text.replace("'", "''") + "'"


@functools.cache
def read(name: str) -> str:
    """The text of ``warehouse/<name>`` (e.g. ``audit/quarantine.sql``), without its
    trailing semicolon, so that it also serves as a subquery."""
    return (HERE / name).read_text().strip().rstrip(";")


def statements(name: str) -> list[str]:
    """The statements of a file of several, one by one: DuckDB binds parameters only in the
    last statement of a string. Statements are split at a semicolon that ends a line."""
    return [s.strip() for s in re.split(r";\s*$", read(name), flags=re.M) if s.strip()]


def parameters(sql: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``values`` that ``sql`` names: DuckDB refuses parameters a statement has not."""
    names = set(_PARAMETER.findall(_COMMENT.sub("", sql)))
    if missing := names - values.keys():
        raise KeyError(f"no value for the parameters {sorted(missing)}")
    return {n: values[n] for n in names}


def inline(sql: str, values: Mapping[str, str]) -> str:
    """``sql`` with each ``$name`` replaced by its value quoted as a string literal, for
    statements DuckDB cannot prepare (``CREATE VIEW``). Like a bound statement, it takes
    exactly the values it names."""
    if unused := values.keys() - set(_PARAMETER.findall(_COMMENT.sub("", sql))):
        raise KeyError(f"the statement has no parameters {sorted(unused)}")
    return _PARAMETER.sub(lambda m: sql_literal(values[m.group(1)]), sql)
