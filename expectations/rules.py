"""Rules of the quality gate as data: what each expectation checks, and its failing rows in SQL.

A suite (``expectations/suites/<entity>.py``) is a versioned tuple of :class:`Rule`. Each rule
has a stable name, a severity, a reason code from ``contract/reasons.py`` and one check. A
check knows three things about itself:

* ``failing_sql()`` is a DuckDB boolean expression, true exactly on the rows that its
  expectation counts as unexpected. The runner evaluates every rule's ``failing_sql()`` once
  per row, in the one scan that reads the staging Parquet, and keeps the results as boolean
  *flag* columns of a checks table (see ``expectations/runner.py``); the findings are the
  rows whose flags are true;
* ``gx_expectation()`` builds the Great Expectations expectation that GX evaluates: a core
  expectation on the staging data itself where GX has one (regex, set, range, column pair);
* ``on_flag``: true for a check GX cannot express natively (a row condition). GX then checks
  the rule's flag column instead: ``ExpectColumnValuesToBeInSet(flag, [False])``, so the
  condition is computed once, not again by GX.

The runner checks that per rule the number of rows found equals GX's own unexpected count.

Nothing here imports ``great_expectations`` at module level.

SQL text may contain ``:delivery_date``; it is replaced by the run's delivery date as a
``DATE`` literal before use (see :func:`bind`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

# The contract's value patterns; the suites take them from here with the checks.
from contract.landing import ID_PATTERN

Severity = Literal["error", "warn"]
DELIVERY_DATE = ":delivery_date"


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def bind(sql: str, delivery_date: dt.date) -> str:
    return sql.replace(DELIVERY_DATE, f"DATE '{delivery_date.isoformat()}'")


class Check(Protocol):
    # True: GX checks the rule's flag column (its failing_sql() per row) instead of the data.
    on_flag: ClassVar[bool]

    def gx_expectation(self, delivery_date: dt.date, meta: dict[str, Any], flag: str) -> Any:
        """The GX expectation; ``flag`` names the rule's flag column of the checks table
        (used by checks with ``on_flag``, ignored by those GX evaluates on the data)."""
        ...

    def failing_sql(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class MatchesRegex:
    """Non-null values of ``column`` match ``pattern`` (a partial match: anchor it)."""

    on_flag: ClassVar[bool] = False

    column: str
    pattern: str

    def gx_expectation(self, delivery_date: dt.date, meta: dict[str, Any], flag: str) -> Any:
        import great_expectations as gx

        return gx.expectations.ExpectColumnValuesToMatchRegex(
            column=self.column, regex=self.pattern, meta=meta
        )

    def match_sql(self) -> str:
        """Whether a value matches (NULL for NULL): the expression :meth:`failing_sql` negates."""
        return f"regexp_matches({self.column}, {quote_literal(self.pattern)})"

    def failing_sql(self) -> str:
        return f"{self.column} IS NOT NULL AND NOT {self.match_sql()}"

    def describe(self) -> dict[str, Any]:
        return {"check": "matches_regex", "column": self.column, "pattern": self.pattern}


@dataclass(frozen=True)
class Between:
    """Non-null values of ``column`` lie in [min_value, max_value] (either bound optional).

    A bound may be the string ``":delivery_date"`` (for date columns).
    """

    on_flag: ClassVar[bool] = False

    column: str
    min_value: float | int | str | None = None
    max_value: float | int | str | None = None

    def _bound(self, value: float | int | str | None, delivery_date: dt.date) -> Any:
        return delivery_date if value == DELIVERY_DATE else value

    def _sql_bound(self, value: float | int | str) -> str:
        return DELIVERY_DATE if value == DELIVERY_DATE else repr(value)

    def gx_expectation(self, delivery_date: dt.date, meta: dict[str, Any], flag: str) -> Any:
        import great_expectations as gx

        return gx.expectations.ExpectColumnValuesToBeBetween(
            column=self.column,
            min_value=self._bound(self.min_value, delivery_date),
            max_value=self._bound(self.max_value, delivery_date),
            meta=meta,
        )

    def failing_sql(self) -> str:
        outside = []
        if self.min_value is not None:
            outside.append(f"{self.column} < {self._sql_bound(self.min_value)}")
        if self.max_value is not None:
            outside.append(f"{self.column} > {self._sql_bound(self.max_value)}")
        return f"{self.column} IS NOT NULL AND ({' OR '.join(outside)})"

    def describe(self) -> dict[str, Any]:
        return {
            "check": "between",
            "column": self.column,
            "min_value": self.min_value,
            "max_value": self.max_value,
        }


@dataclass(frozen=True)
class InSet:
    """Non-null values of ``column`` are among ``values``."""

    on_flag: ClassVar[bool] = False

    column: str
    values: tuple[str, ...]

    def gx_expectation(self, delivery_date: dt.date, meta: dict[str, Any], flag: str) -> Any:
        import great_expectations as gx

        return gx.expectations.ExpectColumnValuesToBeInSet(
            column=self.column, value_set=list(self.values), meta=meta
        )

    def failing_sql(self) -> str:
        listed = ", ".join(quote_literal(v) for v in self.values)
        return f"{self.column} IS NOT NULL AND {self.column} NOT IN ({listed})"

    def describe(self) -> dict[str, Any]:
        return {"check": "in_set", "column": self.column, "values": list(self.values)}


@dataclass(frozen=True)
class AAtLeastB:
    """``column_a >= column_b`` wherever both are present."""

    on_flag: ClassVar[bool] = False

    column_a: str
    column_b: str

    def gx_expectation(self, delivery_date: dt.date, meta: dict[str, Any], flag: str) -> Any:
        import great_expectations as gx

        return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=self.column_a,
            column_B=self.column_b,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=meta,
        )

    def failing_sql(self) -> str:
        a, b = self.column_a, self.column_b
        return f"{a} IS NOT NULL AND {b} IS NOT NULL AND {a} < {b}"

    def describe(self) -> dict[str, Any]:
        return {"check": "a_at_least_b", "column_a": self.column_a, "column_b": self.column_b}


@dataclass(frozen=True)
class RowCondition:
    """Rows where the DuckDB boolean ``condition`` is true are unexpected.

    GX has no expectation for an arbitrary condition over several columns. The runner
    evaluates ``failing_sql()`` once per row into the rule's flag column, and GX checks that
    column: ``ExpectColumnValuesToBeInSet(flag, [False])``, whose unexpected rows are exactly
    the rows where the condition is true (the flag is never null).
    """

    on_flag: ClassVar[bool] = True

    condition: str

    def gx_expectation(self, delivery_date: dt.date, meta: dict[str, Any], flag: str) -> Any:
        import great_expectations as gx

        return gx.expectations.ExpectColumnValuesToBeInSet(
            column=flag, value_set=[False], meta=meta
        )

    def failing_sql(self) -> str:
        return f"({self.condition}) IS TRUE"

    def describe(self) -> dict[str, Any]:
        return {"check": "row_condition", "condition": self.condition}


@dataclass(frozen=True)
class Rule:
    name: str  # stable: stored in audit tables; rename only with a suite version bump
    severity: Severity
    reason: str  # a code of contract/reasons.py
    check: Check
    description: str

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "severity": self.severity,
            "reason": self.reason,
            "description": self.description,
            **self.check.describe(),
        }


@dataclass(frozen=True)
class Suite:
    entity: str
    version: str
    record_key_sql: str  # DuckDB expression giving the record key of a row
    rules: tuple[Rule, ...]
    # Values several rules read (or one reads many times), computed once per row before
    # the rules run: (column name, DuckDB expression over the staging columns). A rule's
    # failing SQL may name them; GX's rules on the data itself may not.
    helpers: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.entity}_staging"

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"suite {self.name} has no rule {name!r}")

    def rows_sql(self, table: str) -> str:
        """A FROM clause: the rows of ``table`` with the suite's helper columns."""
        if not self.helpers:
            return table
        helpers = ", ".join(f"{sql} AS {name}" for name, sql in self.helpers)
        return f"(SELECT *, {helpers} FROM {table})"

    def describe(self) -> dict[str, Any]:
        """The suite as plain data: what its version fingerprint is computed from."""
        described: dict[str, Any] = {
            "suite": self.name,
            "record_key": self.record_key_sql,
            "rules": [r.describe() for r in self.rules],
        }
        if self.helpers:
            described["helpers"] = [list(h) for h in self.helpers]
        return described


# --- SQL building blocks shared by suites ---------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_well_formed(column: str) -> str:
    return f"regexp_matches({column}, {quote_literal(ID_PATTERN)})"


def id_birth_date(column: str) -> str:
    """The birth date inside a (well-formed) resident ID, NULL when it is impossible."""
    return f"try_strptime(substr({column}, 7, 8), '%Y%m%d')::DATE"


def id_first17(column: str) -> str:
    """The first 17 characters of a resident ID as one BIGINT (NULL when they are not a
    number): what :func:`id_expected_check_char` takes, computed once per row as a helper."""
    return f"TRY_CAST(substr({column}, 1, 17) AS BIGINT)"


def id_expected_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the 17 digits of ``first17``, a BIGINT column
    (:func:`id_first17`): each digit by integer arithmetic on it, about half the cost of
    casting 17 one-character substrings. Meaningful on well-formed IDs only; never fails."""
    terms = " + ".join(
        f"{w} * ({first17} // {10 ** (17 - i)} % 10)" for i, w in enumerate(_WEIGHTS, 1)
    )
    return f"substr('10X98765432', CAST(({terms}) % 11 AS INTEGER) + 1, 1)"


def id_helpers(column: str, prefix: str) -> tuple[tuple[str, str], ...]:
    """The helper columns of a resident ID column that its rules share (see
    :attr:`Suite.helpers`): ``<prefix>_ok`` (well formed), ``<prefix>_birth`` (the birth
    date inside it) and ``<prefix>_17`` (its first 17 digits as a number)."""
    return (
        (f"{prefix}_ok", id_well_formed(column)),
        (f"{prefix}_birth", id_birth_date(column)),
        (f"{prefix}_17", id_first17(column)),
    )
