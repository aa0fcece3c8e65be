"""Typed frames of delivered rows, built from a county's numeric state.

A *typed frame* has the contract's columns in canonical form: codes and IDs as strings,
enumerations as English codes, booleans, dates as ``pl.Date``, money as integer cents,
other numbers as integer tenths and ``updated_at`` as local (Asia/Shanghai) wall-clock
seconds. :mod:`generator.formats` turns it into the strings a county writes.
Every typed frame also carries ``_pos`` (position in the file), ``_defect`` (the planted
reason code, null on clean rows), and the override columns ``_ov_col``/``_ov_val`` (a
raw string that replaces one cell after formatting) and ``_num`` (a column an xlsx file
must write as a number cell).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from contract.landing import (
    ATTRIBUTES,
    CAUSES,
    CONTRACT,
    EDUCATION,
    HEALTH,
    HOUSEHOLD_STATUSES,
    LABOUR,
    MEMBER_STATUSES,
    RELATIONS,
    SEXES,
)
from generator.ids import id_strings
from generator.names import (
    GIVEN_FEMALE,
    GIVEN_MALE,
    SURNAMES,
    VILLAGE_FIRST,
    VILLAGE_SECOND,
    VILLAGE_SUFFIX,
)
from generator.tables import Table

CENTS = "cents"
TENTHS = "tenths"
SECONDS = "seconds"

_KIND_DTYPE: dict[str, pl.DataType] = {
    "bool": pl.Boolean(),
    "int": pl.Int64(),
    "money": pl.Int64(),
    "number": pl.Int64(),
    "date": pl.Date(),
    "timestamp": pl.Int64(),
}
HIDDEN: dict[str, pl.DataType] = {
    "_pos": pl.Float64(),
    "_defect": pl.String(),
    "_ov_col": pl.String(),
    "_ov_val": pl.String(),
    "_num": pl.String(),
}


def typed_schema(entity: str) -> pl.Schema:
    cols = {c.name: _KIND_DTYPE.get(c.kind, pl.String()) for c in CONTRACT[entity].columns}
    return pl.Schema({**cols, **HIDDEN})


def _codes(table: tuple[tuple[str, str], ...]) -> pl.Series:
    return pl.Series([code for code, _ in table], dtype=pl.String)


_ATTR = _codes(ATTRIBUTES)
_CAUSE = _codes(CAUSES)
_STATUS = _codes(HOUSEHOLD_STATUSES)
_REL = _codes(RELATIONS)
_SEX = _codes(SEXES)
_EDU = _codes(EDUCATION)
_HEALTH = _codes(HEALTH)
_LABOUR = _codes(LABOUR)
_MSTATUS = _codes(MEMBER_STATUSES)
_SURNAME = pl.Series(SURNAMES, dtype=pl.String)
_GM = pl.Series(GIVEN_MALE, dtype=pl.String)
_GF = pl.Series(GIVEN_FEMALE, dtype=pl.String)
_VF = pl.Series(VILLAGE_FIRST, dtype=pl.String)
_VS = pl.Series(VILLAGE_SECOND, dtype=pl.String)


def lookup(values: pl.Series, idx: np.ndarray) -> pl.Series:
    """values[idx], null where idx < 0."""
    idx = np.asarray(idx, dtype=np.int64)
    out = values.gather(np.where(idx < 0, 0, idx))
    if (idx < 0).any():
        out = pl.select(pl.when(pl.Series(idx < 0)).then(None).otherwise(out)).to_series()
    return out.rename(values.name)


def person_names(
    surname: np.ndarray, g1: np.ndarray, g2: np.ndarray, male: np.ndarray
) -> pl.Series:
    male_s = pl.Series(np.asarray(male, dtype=bool))
    first = pl.select(
        pl.when(male_s)
        .then(lookup(_GM, np.where(male, g1, 0)))
        .otherwise(lookup(_GF, np.where(male, 0, g1)))
    ).to_series()
    has2 = np.asarray(g2) >= 0
    second = pl.select(
        pl.when(pl.Series(~has2))
        .then(pl.lit(""))
        .when(male_s)
        .then(lookup(_GM, np.where(male & has2, g2, 0)))
        .otherwise(lookup(_GF, np.where(~male & has2, g2, 0)))
    ).to_series()
    return (
        pl.DataFrame({"s": lookup(_SURNAME, surname), "a": first, "b": second})
        .select(pl.concat_str("s", "a", "b").alias("name"))
        .to_series()
    )


def village_names(n1: np.ndarray, n2: np.ndarray) -> pl.Series:
    return (
        pl.DataFrame({"a": lookup(_VF, n1), "b": lookup(_VS, n2)})
        .select(pl.concat_str("a", "b", pl.lit(VILLAGE_SUFFIX)).alias("n"))
        .to_series()
    )


def _hidden(n: int) -> dict[str, pl.Series]:
    return {
        "_pos": pl.Series(np.arange(n, dtype=np.float64)),
        "_defect": pl.Series([None] * n, dtype=pl.String),
        "_ov_col": pl.Series([None] * n, dtype=pl.String),
        "_ov_val": pl.Series([None] * n, dtype=pl.String),
        "_num": pl.Series([None] * n, dtype=pl.String),
    }


def _nullable(values: np.ndarray, missing: np.ndarray) -> pl.Series:
    s = pl.Series(np.asarray(values, dtype=np.int64))
    if missing.any():
        s = pl.select(pl.when(pl.Series(missing)).then(None).otherwise(s)).to_series()
    return s


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)


def villages_frame(vt: Table, idx: np.ndarray) -> pl.DataFrame:
    n = len(idx)
    code = vt["code"][idx]
    coll = vt["collective"][idx]
    pilot = vt["pilot"][idx]
    solar = vt["solar"][idx]
    mulberry = vt["mulberry"][idx]
    cols = {
        "village_code": pl.Series(code).cast(pl.String),
        "village_name": village_names(vt["name1"][idx], vt["name2"][idx]),
        "is_poor_village": pl.Series(vt["poor"][idx]),
        "rural_population": pl.Series(vt["population"][idx].astype(np.int64)),
        "collective_income_yuan": _nullable(coll, coll < 0),
        "has_ecommerce_station": pl.Series(vt["ecommerce"][idx]),
        "ecommerce_pilot_year": _nullable(pilot, pilot <= 0),
        "solar_capacity_kw": _nullable(solar, solar < 0),
        "paper_mulberry_mu": _nullable(mulberry, mulberry < 0),
        "updated_at": pl.Series(vt["updated"][idx].astype(np.int64)),
        **_hidden(n),
    }
    return pl.DataFrame(cols, schema=typed_schema("villages"))


def member_ids(mt: Table, idx: np.ndarray) -> pl.Series:
    return id_strings(
        mt["addr"][idx], mt["birth"][idx], mt["seq"][idx], mt["dis_cat"][idx], mt["dis_grade"][idx]
    )


def household_ids(ht: Table, vt: Table, idx: np.ndarray) -> pl.Series:
    codes = vt["code"][ht["village"][idx]].astype(np.int64)
    return pl.Series(codes * 10_000 + ht["seq"][idx].astype(np.int64)).cast(pl.String)


def _other_causes(o1: np.ndarray, o2: np.ndarray) -> pl.Series:
    a = lookup(_CAUSE, o1)
    b = lookup(_CAUSE, o2)
    return pl.select(
        pl.when(a.is_null())
        .then(None)
        .when(b.is_null())
        .then(a)
        .otherwise(pl.concat_str(a, pl.lit(";"), b))
    ).to_series()


def households_frame(ht: Table, mt: Table, vt: Table, idx: np.ndarray) -> pl.DataFrame:
    n = len(idx)
    head = ht["head"][idx]
    cols = {
        "household_id": household_ids(ht, vt, idx),
        "village_code": pl.Series(vt["code"][ht["village"][idx]]).cast(pl.String),
        "head_id_number": member_ids(mt, head),
        "head_name": person_names(
            mt["surname"][head], mt["g1"][head], mt["g2"][head], mt["male"][head]
        ),
        "household_size": pl.Series(ht["size"][idx].astype(np.int64)),
        "attribute": lookup(_ATTR, ht["attribute"][idx]),
        "main_cause": lookup(_CAUSE, ht["cause"][idx]),
        "other_causes": _other_causes(ht["other1"][idx], ht["other2"][idx]),
        "net_income_yuan": pl.Series(ht["net"][idx].astype(np.int64)),
        "per_capita_income_yuan": pl.Series(ht["pc"][idx].astype(np.int64)),
        "income_year": pl.Series(ht["income_year"][idx].astype(np.int64)),
        "food_clothing_secure": pl.Series(ht["food"][idx]),
        "housing_safe": pl.Series(ht["housing"][idx]),
        "drinking_water_safe": pl.Series(ht["water"][idx]),
        "status": lookup(_STATUS, ht["status"][idx]),
        "identified_on": _dates(ht["identified"][idx]),
        "status_changed_on": _dates(ht["changed"][idx]),
        "sells_online": pl.Series(ht["online"][idx]),
        "updated_at": pl.Series(ht["updated"][idx].astype(np.int64)),
        **_hidden(n),
    }
    return pl.DataFrame(cols, schema=typed_schema("households"))


def members_frame(mt: Table, ht: Table, vt: Table, idx: np.ndarray) -> pl.DataFrame:
    n = len(idx)
    cols = {
        "id_number": member_ids(mt, idx),
        "household_id": household_ids(ht, vt, mt["hh"][idx]),
        "name": person_names(mt["surname"][idx], mt["g1"][idx], mt["g2"][idx], mt["male"][idx]),
        "relation": lookup(_REL, mt["relation"][idx]),
        "sex": lookup(_SEX, np.where(mt["male"][idx], 0, 1)),
        "birth_date": _dates(mt["birth"][idx]),
        "education": lookup(_EDU, mt["education"][idx]),
        "in_school": pl.Series(mt["in_school"][idx]),
        "health": lookup(_HEALTH, mt["health"][idx]),
        "labour": lookup(_LABOUR, mt["labour"][idx]),
        "medical_insured": pl.Series(mt["insured"][idx]),
        "member_status": lookup(_MSTATUS, mt["mstatus"][idx]),
        "updated_at": pl.Series(mt["updated"][idx].astype(np.int64)),
        **_hidden(n),
    }
    return pl.DataFrame(cols, schema=typed_schema("members"))


def rows_frame(entity: str, rows: list[dict]) -> pl.DataFrame:
    """A typed frame from a few rows given as dicts (missing keys are null)."""
    schema = typed_schema(entity)
    return pl.DataFrame(
        [{k: r.get(k) for k in schema.names()} for r in rows], schema=schema, orient="row"
    )


def empty_frame(entity: str) -> pl.DataFrame:
    return pl.DataFrame(schema=typed_schema(entity))
