"""How each county writes its files: format, encoding, header language, spellings.

A :class:`Style` is fixed per (county, entity) from the run's seed, so a county keeps its
habits from day to day. :func:`format_frame` turns a typed frame into the strings of the
file (all columns ``pl.String``, English column names; the writer swaps in Chinese
headers where the style says so).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import polars as pl

from contract.landing import CONTRACT

# Format families, in the order counties rotate through them.
CSV_EN = "csv_utf8_en"  # UTF-8, comma, English headers, English codes
CSV_GBK = "csv_gbk_zh"  # GBK, comma, CRLF, Chinese headers and labels, 是/否
CSV_TAB = "csv_utf8bom_tab"  # UTF-8 with BOM, tab separated
XLSX = "xlsx"
PARQUET = "parquet"
FAMILIES = (CSV_EN, CSV_GBK, CSV_TAB, XLSX, PARQUET)
EXTENSION = {CSV_EN: "csv", CSV_GBK: "csv", CSV_TAB: "csv", XLSX: "xlsx", PARQUET: "parquet"}
ENTITY_ORDER = ("villages", "households", "members", "assistance", "targets")

BOOL_SPELLINGS = {"tf": ("true", "false"), "10": ("1", "0"), "zh": ("是", "否"), "yn": ("Y", "N")}


@dataclass(frozen=True)
class Style:
    family: str
    enum_zh: bool = False  # enumerations as Chinese labels
    header_zh: bool = False
    bools: str = "tf"
    date_format: str = "%Y-%m-%d"
    ts_offset: bool = False  # timestamps end in +08:00
    causes_sep: str = ";"
    shuffle: bool = False  # columns in another order than the contract's
    xlsx_date_cells: bool = False
    xlsx_code_numbers: bool = False  # village codes as number cells (allowed)

    @property
    def ext(self) -> str:
        return EXTENSION[self.family]


CANONICAL = Style(family=CSV_EN, ts_offset=True)


def _h(*parts: object) -> int:
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def style_for(county_index: int, entity: str, seed: int, formats: str) -> Style:
    """The county's style for an entity. ``formats='csv'``: canonical UTF-8 CSV only."""
    if formats == "csv":
        return CANONICAL
    if formats != "mixed":
        raise ValueError(f"formats must be 'mixed' or 'csv', got {formats!r}")
    family = FAMILIES[(county_index + ENTITY_ORDER.index(entity)) % len(FAMILIES)]
    h = _h(seed, county_index, entity)
    date_format = ("%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")[h % 5]
    ts_offset = bool((h >> 3) & 1)
    shuffle = (h >> 4) % 3 == 0
    if family == CSV_GBK:
        return Style(
            family,
            enum_zh=True,
            header_zh=True,
            bools="zh",
            date_format=date_format,
            ts_offset=ts_offset,
            causes_sep="、",
            shuffle=shuffle,
        )
    if family == CSV_TAB:
        zh = bool((h >> 5) & 1)
        return Style(
            family,
            enum_zh=zh,
            header_zh=zh,
            bools="yn",
            date_format=date_format,
            ts_offset=ts_offset,
            causes_sep="、" if zh else ";",
            shuffle=shuffle,
        )
    if family == XLSX:
        return Style(
            family,
            enum_zh=True,
            header_zh=bool((h >> 6) & 1),
            bools=("zh", "10")[(h >> 7) & 1],
            date_format=date_format,
            ts_offset=ts_offset,
            causes_sep="、",
            shuffle=shuffle,
            xlsx_date_cells=bool((h >> 8) & 1),
            xlsx_code_numbers=bool((h >> 9) & 1),
        )
    if family == PARQUET:
        return Style(family, bools="tf", ts_offset=ts_offset)
    return Style(
        family, bools=("tf", "10")[(h >> 5) & 1], date_format=date_format, ts_offset=ts_offset
    )


def column_order(entity: str, style: Style, seed: int, county_index: int) -> list[str]:
    cols = list(CONTRACT[entity].column_names)
    if style.shuffle:
        cols.sort(key=lambda c: _h(seed, county_index, entity, c))
    return cols


def _money(col: str) -> pl.Expr:
    c = pl.col(col)
    a = c.abs()
    return pl.concat_str(
        pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (a // 100).cast(pl.String),
        pl.lit("."),
        (a % 100).cast(pl.String).str.pad_start(2, "0"),
    )


def _tenths(col: str) -> pl.Expr:
    c = pl.col(col)
    a = c.abs()
    return pl.concat_str(
        pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (a // 10).cast(pl.String),
        pl.lit("."),
        (a % 10).cast(pl.String),
    )


def format_frame(entity: str, frame: pl.DataFrame, style: Style) -> pl.DataFrame:
    """Typed frame -> all-string frame in the style (hidden columns kept as they are)."""
    true_s, false_s = BOOL_SPELLINGS[style.bools]
    exprs: list[pl.Expr] = []
    for column in CONTRACT[entity].columns:
        c = pl.col(column.name)
        kind = column.kind
        e: pl.Expr
        if kind == "bool":
            e = pl.when(c).then(pl.lit(true_s)).when(~c).then(pl.lit(false_s))
        elif kind == "int":
            e = c.cast(pl.String)
        elif kind == "money":
            e = _money(column.name)
        elif kind == "number":
            e = _tenths(column.name)
        elif kind == "date":
            e = c.dt.strftime(style.date_format)
        elif kind == "timestamp":
            e = pl.from_epoch(c, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
            if style.ts_offset:
                e = pl.concat_str(e, pl.lit("+08:00"))
        elif kind == "enum" and style.enum_zh and column.enum[0][0] != column.enum[0][1]:
            e = c.replace_strict(dict(column.enum), default=c)
        elif kind == "causes":
            labels = dict(column.enum) if style.enum_zh else {k: k for k, _ in column.enum}
            e = (
                c.str.split(";")
                .list.eval(pl.element().replace_strict(labels, default=pl.element()))
                .list.join(style.causes_sep)
            )
        else:
            e = c
        e = (
            pl.when(pl.col("_ov_col") == column.name)
            .then(pl.col("_ov_val"))
            .otherwise(e.cast(pl.String))
        )
        exprs.append(e.alias(column.name))
    return frame.select(*exprs, *[pl.col(h) for h in ("_pos", "_defect", "_num")])
