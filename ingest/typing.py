"""Type delivered strings into the staging schema; rows that cannot be typed are held.

Pure and vectorised: no file access, no environment, no clock. The input is a reader's
frame (contract columns as strings plus ``_row_number``); the output is the typed rows
(``staging_schema(entity)`` without the lineage columns the caller adds, but with
``_row_number``) and one held row per refused input row: the first problem in column
order gives ``column`` and ``reason``, and ``detail`` lists every problem of the row.

Typing only normalises and parses. Structure and ranges (ID check characters, village
code parts, amounts >= 0, ...) are validation's business: a negative amount types fine
here and is refused later. So is every rule of ``other_causes`` (known causes, at most
two, not the main one: ``other_causes_invalid``, as the reason catalogue says): typing
turns each Chinese label into its code and keeps an unknown cause as written.

Two paths give the same frames. The fast path reads the spellings nearly every delivery
uses, exactly as written: a plain integer, an amount with up to 2 decimals, a
``YYYY-MM-DD`` date, a ``YYYY-MM-DDTHH:MM:SS`` timestamp with ``+08:00`` or (from 1992,
when Asia/Shanghai is UTC+8 without daylight saving) without an offset, a code or
Chinese label as the contract writes it, ``true``/``是``/``Y``..., an 18-character ID
without a lower-case ``x``, known cause codes joined by ``;``. A value it does not read is
typed by the general path (the general patterns below) and only those values: they are
taken out of the column, typed, and put back in place; the general path's reasons for them
are the row's problems (a value the fast path reads has none).

In the general path each costly expression (a regex with groups, a split into causes, a
date parse) is evaluated once per column; the explanations of held rows are only built
for the held rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

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

__all__ = ["HELD_SCHEMA", "type_rows", "typed_with_problems"]

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


# The fast path's spellings. Each accepts a subset of what the general path accepts, with
# nothing to strip, and gives the general path's value for it (see _fast).
_FAST_INT_RE = r"^-?[0-9]+$"
_FAST_MONEY_RE = r"^-?[0-9]+(?:\.[0-9]{1,2})?$"
_FAST_NUMBER_RE = r"^-?[0-9]+(?:\.[0-9]+)?$"
_FAST_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_FAST_TIMESTAMP_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\+08:00)?$"
_FAST_ID_RE = r"^[0-9]{17}[0-9X]$"
_FAST_OFFSET_HOURS = 8  # the one offset the fast path reads: +08:00
# A timestamp without an offset is local (Asia/Shanghai) time: UTC+8, without daylight
# saving since 1991-09-15. The fast path reads such a time from 1992 on as UTC+8, as if it
# ended in +08:00; earlier ones (daylight saving, local mean time) are the general path's,
# through the time zone database, and so are all of them should the contract's time zone
# be another (only zones at UTC+8 belong here).
_FIXED_LOCAL_SINCE = {"Asia/Shanghai": dt.datetime(1992, 1, 1)}.get(TIMEZONE)


def type_rows(frame: pl.DataFrame, entity: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a reader frame into (typed rows, held rows with the first problem's reason).

    The fast path types every value; the general path types again only the values the
    fast path did not read, and they are put back in place."""
    ent = CONTRACT[entity]
    names = [*ent.column_names, "_row_number"]
    present = frozenset(frame.columns)
    *stages, last = _fast_stages(entity, present)
    lf = frame.lazy()
    for stage in stages:
        lf = lf.with_columns(stage)
    fast = lf.select(last).collect()
    redo = [c for c in ent.columns if not fast.get_column(_k(c)).all()]
    general = pl.collect_all(_general(fast, c) for c in redo)
    columns = dict(zip(fast.columns, fast.get_columns(), strict=True))
    # Where the fast path did not read a value, its value is null: the general path's
    # value goes there, and the general path's reasons are the row's problems.
    problems: list[tuple[Column, pl.Series, pl.Series]] = []  # column, rows, reasons
    for c, out in zip(redo, general, strict=True):
        at, reason = out.get_column("at"), out.get_column(_r(c))
        columns[c.name] = columns[c.name].scatter(at, out.get_column(_v(c)))
        if reason.null_count() < reason.len():
            found = reason.is_not_null()
            problems.append((c, at.filter(found), reason.filter(found)))
    typed = pl.DataFrame([columns[name] for name in names])
    if not problems:
        return typed, pl.DataFrame(schema=HELD_SCHEMA)
    # The rows with a problem, in one chunk (Polars 2.1's str.format, which _explanation
    # uses, panics on a column whose first chunk a filter left empty).
    at = pl.concat([rows for _, rows, _ in problems]).unique().sort()
    texts = frame.select(
        pl.col(c.name).gather(at).alias(_t(c)) for c, _, _ in problems if c.name in present
    )
    reasons = [
        pl.repeat(None, at.len(), dtype=pl.String, eager=True)
        .scatter(at.search_sorted(rows), why)
        .alias(_r(c))
        for c, rows, why in problems
    ]
    rows = pl.DataFrame([typed.get_column("_row_number").gather(at), *texts, *reasons]).rechunk()
    keep = pl.repeat(True, typed.height, eager=True).scatter(at, False)
    return typed.filter(keep), _held(rows.lazy(), entity).collect()


def _general(fast: pl.DataFrame, c: Column) -> pl.LazyFrame:
    """The general path on the values of a column the fast path did not read: their rows
    (``at``), typed values (``_v``) and reasons (``_r``)."""
    lf = fast.lazy().with_row_index("at").filter(pl.col(_k(c)).not_())
    text = pl.col(_t(c)) if _t(c) in fast.columns else pl.lit(None, pl.String)
    lf = lf.select("at", text.alias(c.name))
    for stage in _general_stages(c):
        lf = lf.with_columns(stage)
    return lf.select("at", _v(c), _r(c))


@functools.cache
def _general_stages(c: Column) -> tuple[tuple[pl.Expr, ...], ...]:
    """One column's stages of :func:`_typing_stages`, up to its reason."""
    return (
        (_stripped(pl.col(c.name).cast(pl.String)).alias(_s(c)),),
        (_helper(c),) if c.kind in ("timestamp", "causes") else (),
        (_value(c).cast(staging_dtype(c.kind)).alias(_v(c)),),
        (_reason(c).alias(_r(c)),),
    )


def _held(rows: pl.LazyFrame, entity: str) -> pl.LazyFrame:
    """The held rows (``HELD_SCHEMA``) of ``rows``: rows with a problem, with the reasons
    (``_r``) and the delivered text (``_t``) of the columns with a problem in any of them
    (the other columns have none)."""
    ent = CONTRACT[entity]
    have = frozenset(rows.collect_schema().names())
    nothing = pl.lit(None, pl.String)
    column, reason = _first_problem(ent)
    return (
        rows.with_columns(
            (_stripped(pl.col(_t(c)).cast(pl.String)) if _t(c) in have else nothing).alias(_s(c))
            for c in ent.columns
        )
        .with_columns(nothing.alias(_r(c)) for c in ent.columns if _r(c) not in have)
        .select(pl.col("_row_number").cast(pl.Int64), column, reason, _explanation(entity))
    )


def typed_with_problems(lf: pl.LazyFrame, entity: str) -> pl.LazyFrame:
    """Typed contract columns, ``_row_number``, and each row's first problem as ``column``
    and ``reason`` (null when the row types cleanly), plus the private ``__`` columns
    ``_explanation`` needs to say what is wrong."""
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
            *_first_problem(ent),
            *[pl.col(_v(c)).alias(c.name) for c in ent.columns],
        ),
    )


def _first_problem(ent: Entity) -> tuple[pl.Expr, pl.Expr]:
    """``column`` and ``reason``: the row's first problem in column order, from ``_r``."""
    reasons = [pl.col(_r(c)) for c in ent.columns]
    column = pl.coalesce(
        [
            pl.when(r.is_not_null()).then(pl.lit(c.name))
            for r, c in zip(reasons, ent.columns, strict=True)
        ]
    )
    return column.alias("column"), pl.coalesce(reasons).alias("reason")


@functools.cache
def _fast_stages(entity: str, present: frozenset[str]) -> tuple[tuple[pl.Expr, ...], ...]:
    """The fast path, stage by stage (an expression used twice is a column of its own).
    The last stage gives each column's fast value (its staging dtype, named as the
    column), whether the fast path read it (``_k``: the value is the general path's and
    has no problem), the delivered text (``_t``), and ``_row_number``."""
    ent = CONTRACT[entity]
    cols = [c for c in ent.columns if c.name in present]
    wall = {c.name: _h(c) for c in cols if c.kind == "timestamp"}
    last: list[pl.Expr] = []
    for c in ent.columns:
        if c.name in present:
            read = pl.col(_v(c)).is_not_null()
            if not c.required:
                read = read | pl.col(c.name).is_null()
            last += [pl.col(_v(c)).alias(c.name), read.alias(_k(c)), pl.col(c.name).alias(_t(c))]
        else:
            value = pl.lit(None).cast(staging_dtype(c.kind)).alias(c.name)
            last += [value, pl.lit(not c.required).alias(_k(c))]
    return (
        tuple(_wall(pl.col(c).cast(pl.String)).alias(h) for c, h in wall.items()),
        tuple(
            _fast(
                pl.col(c.name).cast(pl.String), c, pl.col(wall[c.name]) if c.name in wall else None
            )
            .cast(staging_dtype(c.kind))
            .alias(_v(c))
            for c in cols
        ),
        (*last, pl.col("_row_number").cast(pl.Int64)),
    )


def _fast(raw: pl.Expr, c: Column, wall: pl.Expr | None) -> pl.Expr:
    """The fast path's value of one column: the general path's value where the text is
    spelt as below, else null (the general path types it again). ``wall`` is a timestamp
    column's ``_wall``."""
    kind = c.kind
    if kind in ("code12", "hh16", "prov2", "text"):
        return _stripped(raw)  # the general path's own value: cheap enough for every row
    if kind == "id18":
        return pl.when(raw.str.contains(_FAST_ID_RE)).then(raw)
    if kind == "bool":
        return raw.replace_strict(_bool_spellings(), default=None, return_dtype=pl.Boolean)
    if kind == "int":
        return pl.when(raw.str.contains(_FAST_INT_RE)).then(raw.cast(pl.Int64, strict=False))
    if kind == "money":
        money = raw.cast(pl.Decimal(18, 2), strict=False)
        return pl.when(raw.str.contains(_FAST_MONEY_RE)).then(money)
    if kind == "number":
        parsed = raw.cast(pl.Float64, strict=False)
        return pl.when(raw.str.contains(_FAST_NUMBER_RE) & parsed.is_finite()).then(parsed)
    if kind == "date":
        date = raw.str.to_date("%Y-%m-%d", strict=False, cache=False)
        return pl.when(raw.str.contains(_FAST_DATE_RE)).then(date)
    if kind == "timestamp" and wall is not None:
        # UTC from YYYY-MM-DDTHH:MM:SS+08:00, or without the offset from _FIXED_LOCAL_SINCE on.
        plus_eight = raw.str.len_bytes() > 19  # given the pattern: ends in +08:00
        if _FIXED_LOCAL_SINCE is not None:
            plus_eight = plus_eight | (wall >= _FIXED_LOCAL_SINCE)
        utc = (wall - pl.duration(hours=_FAST_OFFSET_HOURS)).dt.replace_time_zone("UTC")
        return pl.when(raw.str.contains(_FAST_TIMESTAMP_RE) & plus_eight).then(utc)
    if kind == "enum":
        return raw.replace_strict(_enum_spellings(c), default=None, return_dtype=pl.String)
    if kind == "causes":
        pattern = _fast_causes_re(c)
        return pl.when(raw.str.contains(pattern)).then(raw) if pattern else pl.lit(None)
    raise ValueError(f"{c.name}: no fast path for kind {kind!r}")


def _wall(raw: pl.Expr) -> pl.Expr:
    """The wall-clock time of ``YYYY-MM-DDTHH:MM:SS...``, null when it is none."""
    return raw.str.slice(0, 19).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S", time_unit="us", strict=False, cache=False
    )


@functools.cache
def _bool_spellings() -> dict[str, bool]:
    """Each true/false word in lower, upper and title case, as the general path reads it."""
    words = TRUE_VALUES | FALSE_VALUES
    spellings = {s for w in words for s in (w, w.upper(), w.capitalize()) if s.lower() == w}
    return {s: s.lower() in TRUE_VALUES for s in sorted(spellings)}


@functools.cache
def _enum_spellings(c: Column) -> dict[str, str]:
    """Every code and label exactly as the contract writes it, to the general path's code."""
    mapping = _code_mapping(c)
    spellings = (s for pair in c.enum for s in pair)
    return {s: mapping[s.lower()] for s in spellings if s == s.strip() and s.lower() in mapping}


@functools.cache
def _fast_causes_re(c: Column) -> str | None:
    """Known codes joined by ``;``: the general path gives such text back as it is."""
    mapping = _code_mapping(c)
    codes = [
        code
        for code, _ in c.enum
        if re.fullmatch(r"[a-z0-9_]+", code) and mapping.get(code.lower()) == code
    ]
    if not codes:
        return None
    one = "(?:" + "|".join(codes) + ")"
    return f"^{one}(?:;{one})*$"


# private column names
def _s(c: Column) -> str:
    return f"__s_{c.name}"  # stripped text, null when empty


def _h(c: Column) -> str:
    return f"__h_{c.name}"  # helper: regex groups (timestamp) or cause list (causes)


def _v(c: Column) -> str:
    return f"__v_{c.name}"  # typed value


def _r(c: Column) -> str:
    return f"__r_{c.name}"  # this column's reason code


def _k(c: Column) -> str:
    return f"__k_{c.name}"  # the fast path read the value


def _t(c: Column) -> str:
    return f"__t_{c.name}"  # the delivered text, as it is


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


@functools.cache
def _explanation(entity: str) -> pl.Expr:
    """``detail``: every problem of each (held) row, in column order."""
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
    # concat_str, not pl.format: format panics now and then (polars issue 25525).
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
    mapping = _code_mapping(c)
    return e.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.String)


def _code_mapping(c: Column) -> dict[str, str]:
    """Lower-cased text to code: every code, and every label as written."""
    mapping = {code.lower(): code for code, _ in c.enum}
    mapping.update({label: code for code, label in c.enum})
    return mapping


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
