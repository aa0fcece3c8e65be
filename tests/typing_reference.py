"""Typing as ``ingest.typing`` did it before its fast path: the reference the fast path is
compared with (tests/unit/test_typing_fast.py, benchmarks/typing_bench.py).

A frozen copy of ``ingest/typing.py`` as of commit 4ae590c, where every value went through
the general patterns (the copy's docstring and ``__all__`` aside). Do not change it to
follow ``ingest.typing``: a difference between the two is what the differential tests are
there to find. Only ``type_rows`` is meant to be used.
"""

from __future__ import annotations

import functools

import polars as pl

from contract.landing import (
    CONTRACT,
    FALSE_VALUES,
    TIMEZONE,
    TRUE_VALUES,
    Column,
    Entity,
    staging_dtype,
)

__all__ = ["HELD_SCHEMA", "type_rows"]

HELD_SCHEMA = pl.Schema(
    {"_row_number": pl.Int64(), "column": pl.String(), "reason": pl.String(), "detail": pl.String()}
)

_INT_RE = r"^[+-]?\d+(?:\.0)?$"
_MONEY_RE = r"^[+-]?(?:\d+(?:\.\d{0,2})?|\.\d{1,2})$"
_MONEY_DECIMALS_RE = r"^[+-]?\d*\.\d{3,}$"
_NUMBER_RE = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_DATE_FORMATS = (
    (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"),
    (r"^\d{4}/\d{2}/\d{2}$", "%Y/%m/%d"),
    (r"^\d{8}$", "%Y%m%d"),
)
_TIMESTAMP_RE = (
    r"^(?P<d>\d{4}-\d{2}-\d{2})[T ](?P<h>\d{2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?\s*(?P<z>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
_DISABILITY_RE = r"^\d{17}[\dX][1-7][1-4]$"
_SHOW_CHARS = 40
_WHY = {
    "bool": "is not true/false, 1/0, 是/否, Y/N",
    "int": "is not an integer",
    "number": "is not a number",
    "date": "is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)",
    "timestamp": "is not an ISO 8601 timestamp",
}
_CODE = {
    "bool": "invalid_bool",
    "int": "invalid_number",
    "money": "invalid_number",
    "number": "invalid_number",
    "date": "invalid_date",
    "timestamp": "invalid_timestamp",
    "enum": "unknown_code_value",
}


def type_rows(frame: pl.DataFrame, entity: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a reader frame into (typed rows, held rows with the first problem's reason)."""
    ent = CONTRACT[entity]
    out = typed_with_problems(frame.lazy(), entity).collect()
    typed = out.filter(pl.col("reason").is_null()).select(_typed_names(ent))
    held = (
        out.filter(pl.col("reason").is_not_null())
        .lazy()
        .pipe(_explain, ent)
        .select(HELD_SCHEMA.names())
        .collect()
    )
    return typed, held


def typed_with_problems(lf: pl.LazyFrame, entity: str) -> pl.LazyFrame:
    """Typed contract columns, ``_row_number``, and each row's first problem as ``column``
    and ``reason`` (null when the row types cleanly), plus the private ``__`` columns
    ``_explain`` needs to say what is wrong."""
    present = frozenset(lf.collect_schema().names())
    for stage in _typing_stages(entity, present):
        lf = lf.with_columns(stage)
    return lf


@functools.cache
def _typing_stages(entity: str, present: frozenset[str]) -> tuple[tuple[pl.Expr, ...], ...]:
    """The expressions of :func:`typed_with_problems`, stage by stage. They depend only on
    the entity and the columns a file has: built once, not for each of a delivery's
    thousands of small files."""
    ent = CONTRACT[entity]
    reasons = [pl.col(_r(c)) for c in ent.columns]
    return (
        tuple(
            _stripped(
                pl.col(c.name).cast(pl.String) if c.name in present else pl.lit(None, pl.String)
            ).alias(_s(c))
            for c in ent.columns
        ),
        tuple(_helper(c) for c in ent.columns if c.kind in ("timestamp", "causes")),
        tuple(_value(c).cast(staging_dtype(c.kind)).alias(_v(c)) for c in ent.columns),
        tuple(_reason(c).alias(_r(c)) for c in ent.columns),
        (
            pl.col("_row_number").cast(pl.Int64),
            pl.coalesce(
                [
                    pl.when(r.is_not_null()).then(pl.lit(c.name))
                    for r, c in zip(reasons, ent.columns, strict=True)
                ]
            ).alias("column"),
            pl.coalesce(reasons).alias("reason"),
            *[pl.col(_v(c)).alias(c.name) for c in ent.columns],
        ),
    )


def _typed_names(ent: Entity) -> list[str]:
    return [*(c.name for c in ent.columns), "_row_number"]


# private column names
def _s(c: Column) -> str:
    return f"__s_{c.name}"  # stripped text, null when empty


def _h(c: Column) -> str:
    return f"__h_{c.name}"  # helper: regex groups (timestamp) or cause list (causes)


def _v(c: Column) -> str:
    return f"__v_{c.name}"  # typed value


def _r(c: Column) -> str:
    return f"__r_{c.name}"  # this column's reason code


def _stripped(raw: pl.Expr) -> pl.Expr:
    s = raw.str.strip_chars()
    return pl.when(s.str.len_bytes() > 0).then(s)


def _helper(c: Column) -> pl.Expr:
    s = pl.col(_s(c))
    if c.kind == "timestamp":
        return s.str.extract_groups(_TIMESTAMP_RE).alias(_h(c))
    unified = s.str.replace_all("；", ";", literal=True).str.replace_all("、", ";", literal=True)
    parts = unified.str.split(";").list.eval(pl.element().str.strip_chars())
    return parts.list.eval(pl.element().filter(pl.element() != "")).alias(_h(c))


def _value(c: Column) -> pl.Expr:
    """The typed value, null where the text is missing or does not parse."""
    s = pl.col(_s(c))
    kind = c.kind
    if kind == "bool":
        low = s.str.to_lowercase()
        return (
            pl.when(low.is_in(sorted(TRUE_VALUES)))
            .then(True)
            .when(low.is_in(sorted(FALSE_VALUES)))
            .then(False)
        )
    if kind == "int":
        return pl.when(s.str.contains(_INT_RE)).then(
            s.str.replace(r"\.0$", "").cast(pl.Int64, strict=False)
        )
    if kind == "money":
        return pl.when(s.str.contains(_MONEY_RE)).then(s.cast(pl.Decimal(18, 2), strict=False))
    if kind == "number":
        parsed = s.cast(pl.Float64, strict=False)
        return pl.when(s.str.contains(_NUMBER_RE) & parsed.is_finite()).then(parsed)
    if kind == "date":
        return pl.coalesce(
            [
                pl.when(s.str.contains(rx)).then(s.str.to_date(fmt, strict=False))
                for rx, fmt in _DATE_FORMATS
            ]
        )
    if kind == "timestamp":
        return _timestamp(pl.col(_h(c)))
    if kind == "enum":
        return _code(s, c)
    if kind == "causes":
        # Labels become codes; an unknown cause is kept as written, for validation's
        # other_causes rule (at most two known causes, none the main one) to refuse.
        parts = pl.col(_h(c))
        mapped = parts.list.eval(pl.coalesce(_code(pl.element(), c), pl.element()))
        return pl.when(parts.list.len() > 0).then(mapped.list.join(";"))
    if kind == "id18":
        up = s.str.to_uppercase()
        return pl.when(up.str.contains(_DISABILITY_RE)).then(up.str.slice(0, 18)).otherwise(up)
    # code12, hh16, prov2, text: kept as delivered, less surrounding whitespace.
    return s


def _reason(c: Column) -> pl.Expr:
    given = pl.col(_s(c)).is_not_null()
    reason: pl.Expr = pl.lit(None, pl.String)
    if c.kind in _CODE:
        reason = pl.when(given & pl.col(_v(c)).is_null()).then(pl.lit(_CODE[c.kind]))
    if c.required:
        reason = pl.when(~given).then(pl.lit("missing_required")).otherwise(reason)
    return reason


def _explain(lf: pl.LazyFrame, ent: Entity) -> pl.LazyFrame:
    """``detail``: every problem of each (held) row, in column order."""
    return lf.with_columns(_explanation(ent.name))


@functools.cache
def _explanation(entity: str) -> pl.Expr:
    ent = CONTRACT[entity]
    details = [pl.when(pl.col(_r(c)).is_not_null()).then(_detail(c)) for c in ent.columns]
    return pl.concat_str(details, separator="; ", ignore_nulls=True).alias("detail")


def _detail(c: Column) -> pl.Expr:
    s = pl.col(_s(c))
    if c.kind == "money":
        why = (
            pl.when(s.str.contains(_MONEY_DECIMALS_RE))
            .then(pl.lit("has more than 2 decimals"))
            .otherwise(pl.lit("is not an amount in yuan"))
        )
    elif c.kind == "enum":
        why = pl.lit(f"is neither a code nor a Chinese label of {c.name}")
    else:
        why = pl.lit(_WHY.get(c.kind, "is invalid"))
    problem = pl.concat_str(pl.lit(f"{c.name}: "), _show(s, c), pl.lit(" "), why)
    return (
        pl.when(pl.col(_r(c)) == "missing_required")
        .then(pl.lit(f"{c.name} is empty"))
        .otherwise(problem)
    )


def _timestamp(g: pl.Expr) -> pl.Expr:
    """ISO 8601 parts (from ``_TIMESTAMP_RE``) to UTC; no offset means Asia/Shanghai."""
    wall = pl.concat_str(
        g.struct.field("d"),
        pl.lit("T"),
        g.struct.field("h"),
        pl.lit(":"),
        g.struct.field("mi"),
        pl.lit(":"),
        g.struct.field("s").fill_null("00"),
        pl.lit("."),
        g.struct.field("f").fill_null("0"),
    ).str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)
    zone = g.struct.field("z").str.replace(":", "", literal=True)
    utc_designator = zone.str.to_uppercase() == "Z"
    hours = zone.str.slice(1, 2).cast(pl.Int64, strict=False)
    minutes = zone.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    offset = pl.when(utc_designator).then(0).otherwise(sign * (hours * 60 + minutes))
    offset_ok = utc_designator | ((hours <= 14) & (minutes < 60))
    with_offset = (wall - pl.duration(minutes=offset)).dt.replace_time_zone("UTC")
    local = wall.dt.replace_time_zone(
        TIMEZONE, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")
    return pl.when(zone.is_null()).then(local).when(offset_ok).then(with_offset)


def _code(e: pl.Expr, c: Column) -> pl.Expr:
    """English code for an English code (any case) or a Chinese label, else null."""
    mapping = {code.lower(): code for code, _ in c.enum}
    mapping.update({label: code for code, label in c.enum})
    return e.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.String)


def _show(s: pl.Expr, c: Column) -> pl.Expr:
    """The value for a detail, cut short; never the value of a PII column."""
    if c.pii:
        return pl.lit("the value")
    cut = (
        pl.when(s.str.len_chars() > _SHOW_CHARS)
        .then(s.str.slice(0, _SHOW_CHARS) + "…")
        .otherwise(s)
    )
    return pl.concat_str(pl.lit("'"), cut, pl.lit("'"))
