"""The fast path of typing gives exactly the frames of the general typing it stands in for.

Differential tests: ``ingest.typing.type_rows`` against ``typing_reference.type_rows``,
the general typing every value went through before the fast path (a frozen copy in
tests/typing_reference.py). Typed and held frames must be equal with the same dtypes and
the same row order, on every fixture delivery file, on a generated registry with planted
defects, on a table of tricky values for every kind, and on random edits of canonical
values.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tarfile
from pathlib import Path

import polars as pl
import pytest
import typing_reference as reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import ingest.typing as typing_module
from contract.idcard import make_id
from contract.landing import CONTRACT, ENTITIES, FALSE_VALUES, TRUE_VALUES, Column
from generator import generate
from ingest.readers import FileHeld, iter_delivery_file
from ingest.typing import type_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RELEASE = FIXTURES / "release_0_1_0" / "data_root.tar.gz"
DELIVERY_SUFFIXES = (".csv", ".xlsx", ".parquet")

PERSON = make_id("510121", dt.date(1980, 5, 17), 123)
PERSON_X = next(
    i for i in (make_id("510121", dt.date(1980, 5, 17), n) for n in range(1000)) if i[-1] == "X"
)


def assert_same_typing(
    frame: pl.DataFrame, entity: str, *, in_chunks: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The fast path's frames are the reference's: values, dtypes, columns, row order; and
    so they are for the frame in chunks of a few rows (as readers' pieces make it)."""
    typed, held = type_rows(frame, entity)
    ref_typed, ref_held = reference.type_rows(frame, entity)
    assert_frame_equal(typed, ref_typed, check_exact=True)
    assert_frame_equal(held, ref_held, check_exact=True)
    if in_chunks and frame.height > 3:
        chunked = pl.concat([frame.slice(i, 3) for i in range(0, frame.height, 3)], rechunk=False)
        assert chunked.n_chunks() > 1
        chunked_typed, chunked_held = type_rows(chunked, entity)
        assert_frame_equal(chunked_typed, ref_typed, check_exact=True)
        assert_frame_equal(chunked_held, ref_held, check_exact=True)
    return typed, held


def delivery_frames(path: Path) -> list[tuple[str, pl.DataFrame]]:
    """(entity, frame) of each chunk of a delivered file; a file named for no entity is read
    as any entity whose header it has; nothing for a file the readers hold."""
    prefix = path.name.split("_")[0]
    entities = [prefix] if prefix in CONTRACT else list(ENTITIES)
    frames = []
    for entity in entities:
        try:
            frames += [(entity, r.frame) for r in iter_delivery_file(path, entity)]
        except FileHeld:
            continue
    return frames


# --------------------------------------------------------------------------------------
# Every fixture delivery file

FIXTURE_FILES = sorted(p for p in FIXTURES.rglob("*") if p.suffix in DELIVERY_SUFFIXES)
with tarfile.open(RELEASE) as _tar:
    RELEASE_FILES = sorted(n for n in _tar.getnames() if n.endswith(DELIVERY_SUFFIXES))


@pytest.fixture(scope="module")
def release_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("release_0_1_0")
    with tarfile.open(RELEASE) as tar:
        tar.extractall(root, filter="data")
    return root


def test_fixture_files_are_found() -> None:
    assert len(FIXTURE_FILES) > 40
    assert len(RELEASE_FILES) > 40
    assert {p.suffix for p in FIXTURE_FILES} | {Path(n).suffix for n in RELEASE_FILES} == set(
        DELIVERY_SUFFIXES
    )


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_file(path: Path) -> None:
    for entity, frame in delivery_frames(path):
        assert_same_typing(frame, entity)


@pytest.mark.parametrize("name", RELEASE_FILES)
def test_release_fixture_file(release_root: Path, name: str) -> None:
    for entity, frame in delivery_frames(release_root / name):
        assert_same_typing(frame, entity)


# --------------------------------------------------------------------------------------
# A generated registry with 2 % planted defects, in every format and spelling


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[pl.DataFrame]]:
    root = tmp_path_factory.mktemp("generated")
    generate(root / "landing", days=3, defects=0.02, answer_key=root / "answer_key.csv")
    frames: dict[str, list[pl.DataFrame]] = {e: [] for e in ENTITIES}
    for path in sorted((root / "landing").rglob("*")):
        if path.suffix in DELIVERY_SUFFIXES:
            for entity, frame in delivery_frames(path):
                frames[entity].append(frame)
    return frames


@pytest.mark.parametrize("entity", ENTITIES)
def test_generated_registry_with_defects(
    generated: dict[str, list[pl.DataFrame]], entity: str
) -> None:
    frames = [f for f in generated[entity] if f.height]
    assert frames
    for frame in frames:
        assert_same_typing(frame, entity)
    # All the entity's files in one frame: spellings of every county's style side by side.
    everything = pl.concat(frames).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row_number")
    )
    _, held = assert_same_typing(everything, entity)
    if entity != "targets":
        assert held.height > 0


def test_generated_registry_holds_every_typing_reason(
    generated: dict[str, list[pl.DataFrame]],
) -> None:
    reasons: set[str] = set()
    for entity, frames in generated.items():
        for frame in frames:
            reasons |= set(type_rows(frame, entity)[1]["reason"].to_list())
    assert {
        "missing_required",
        "invalid_bool",
        "invalid_number",
        "invalid_date",
        "invalid_timestamp",
        "unknown_code_value",
    } <= reasons


# --------------------------------------------------------------------------------------
# Tricky values, kind by kind

BLANKS = [None, "", " ", "\t", "\u3000", " \n "]
# fmt: off
TRICKY: dict[str, list[str | None]] = {
    "int": [
        "0", "7", "-5", "+7", "007", "-007", "1200.0", "1200.00", "1200.", ".0", "3.5", " 42 ",
        "42\n", "\u300042", "1,200", "1e3", "0x10", "1_000", "--1", "+-1", "-0", "+0",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "99999999999999999999", "１２", "٣", "1200.0 ", "+1200.0",
    ],
    "money": [
        "0", "12", "12.5", "12.50", "-3.10", "+3.10", ".5", "-.5", "+.5", ".55", ".555", "12.",
        "-12.", "12.345", "12.3456", "1e3", "¥12", "1,200.00", " 100.00 ", "-0.00", "00012.30",
        "1234567890123456.78", "9999999999999999.99", "12345678901234567", "99999999999999999.99",
        "１２.５", "nan", "inf", "12.5\t", ".", "-", "+",
    ],
    "number": [
        "0", "0.25", "120.5", "-1.5", "+2", ".5", "-.5", "5.", "1e3", "1E-3", "-2.5e+2", "inf",
        "-inf", "NaN", "nan", "1e999", "-1e999", "1" + "0" * 400, "0x1p3", " 3.5 ", "1,5", "１.５",
        "1.7976931348623157e308", "0." + "0" * 30 + "1", "007.50",
    ],
    "date": [
        "2015-03-01", "2015/03/01", "20150301", "2016-02-29", "2015-02-29", "2015-02-30",
        "2015-13-01", "2015-00-10", "2015-01-00", "2015-01-32", "2015-3-1", "2015-03-1",
        "01/03/2015", "2015-03-01T00:00:00", "2015131", "201503011", " 2015-03-01 ",
        "2015-03-01\n", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "+2015-03-01",
        "２０１５-０３-０１", "1900-02-29", "2000-02-29", "2015/3/1", "2015-03/01", "15-03-01",
        "1970-01-01", "1969-12-31",
    ],
    "timestamp": [
        # the fast path's spellings, in and out of range
        "2015-03-01T08:00:00+08:00", "2015-03-01T08:00:00", "2016-02-29T23:59:59+08:00",
        "2015-02-29T08:00:00+08:00", "2015-02-30T08:00:00", "2015-13-01T08:00:00+08:00",
        "2015-00-01T08:00:00", "2015-03-00T08:00:00", "2015-03-01T25:00:00",
        "2015-03-01T24:00:00+08:00", "2015-03-01T23:60:00", "2015-03-01T23:59:60",
        "2015-12-31T23:59:60+08:00", "0000-01-01T00:00:00+08:00", "0001-01-01T00:00:00",
        "9999-12-31T23:59:59+08:00", "9999-12-31T23:59:59", "1970-01-01T08:00:00",
        # no offset: Asia/Shanghai, with daylight saving until 1991 and local mean time
        "1991-09-15T01:30:00", "1991-09-15T00:59:59", "1991-09-15T02:00:00",
        "1988-04-17T02:30:00", "1988-04-17T01:59:59", "1991-12-31T23:59:59",
        "1992-01-01T00:00:00", "1991-12-31T23:59:59+08:00", "1900-01-01T00:00:00",
        "1940-06-01T12:00:00", "1986-05-04T02:30:00", "2100-06-01T12:00:00",
        # other offsets and the UTC designator
        "2015-03-01T08:00:00Z", "2015-03-01T08:00:00z", "2015-03-01T08:00:00+0800",
        "2015-03-01T08:00:00+08", "2015-03-01T08:00:00-05", "2015-03-01T08:00:00-05:00",
        "2015-03-01T08:00:00+05:30", "2015-03-01T08:00:00+0530", "2015-03-01T08:00:00+14:00",
        "2015-03-01T08:00:00-14:00", "2015-03-01T08:00:00+15:00", "2015-03-01T08:00:00+08:75",
        "2015-03-01T08:00:00+08:60", "2015-03-01T08:00:00+8:00", "2015-03-01T08:00:00+08:00:00",
        "2015-03-01T08:00:00 +08:00", "2015-03-01T08:00:00\t+08:00", "2015-03-01T08:00:00 Z",
        "2015-03-01T08:00:00Z+08:00", "2015-03-01T08:00:00-00:00", "2015-03-01T08:00:00+00:00",
        # fractions, separators, missing parts, blanks around
        "2015-03-01T08:00:00.5", "2015-03-01T08:00:00.5+08:00", "2015-03-01T08:00:00,5Z",
        "2015-03-01T08:00:00.123456789+08:00", "2015-03-01T08:00:00.1234567891",
        "2015-03-01T08:00:00.", "2015-03-01T08:00:00.000000", "2015-03-01 08:00:00",
        "2015-03-01 08:00:00+08:00", "2015-03-01t08:00:00", "2015-03-01T08:00",
        "2015-03-01T08:00+08:00", "2015-03-01T08", "2015-03-01T8:00:00", "2015-03-01",
        " 2015-03-01T08:00:00+08:00", "2015-03-01T08:00:00+08:00 ", "\u30002015-03-01T08:00:00",
        "2015/03/01T08:00:00", "20150301T080000", "２０１５-03-01T08:00:00", "yesterday",
    ],
    "bool": [
        *sorted(TRUE_VALUES | FALSE_VALUES), "TRUE", "True", "tRuE", "FALSE", "False", "YES",
        "Yes", "NO", "No", "Y", "N", "T", "F", " true ", "\ttrue", "true\u3000", "1.0", "2", "-1",
        "maybe", "对", "是的", "ｙ", "yes ", "ＴＲＵＥ",
    ],
    "id18": [
        PERSON, PERSON_X, PERSON_X.lower(), f" {PERSON} ", f"{PERSON}\t", PERSON + "23",
        PERSON_X.lower() + "14", PERSON + "83", PERSON + "2", PERSON[:17], "12345",
        PERSON[:17] + "Y", PERSON[:17] + "x", PERSON.replace("5", "５", 1), PERSON + " 23",
        "ß" * 9,
    ],
    "causes": [
        "disability;water", "disability", "因残、缺水", "disability；water", " 因残 ; skills ",
        "disability;", ";disability", ";", "；、", "因残、天灾", "disability,water", "DISABILITY",
        "Disability;water", "disability;;water", "disability; water", "other", "其它", "其他",
        "disability;disability;illness", "天灾", "disability;water;land;funds;other",
        "disability\u3000;water", "water ;",
    ],
    "text": ["  测试 一村 ", "\u3000x\u3000", "=1+1", "a\nb", " 00 ", "x", "'", '"', "NULL"],
}
# fmt: on
TRICKY["code12"] = ["510121001001", " 510121001001", "\u3000510121001001", "51012100100", "x"]
TRICKY["hh16"] = ["5101210010010001", " 5101210010010001\t", "510121001001000", "x"]
TRICKY["prov2"] = ["51", "00", " 00 ", "5", "x"]


def enum_values(c: Column) -> list[str | None]:
    """Codes and labels as written, in other cases, padded, near misses."""
    values: list[str | None] = []
    for code, label in c.enum:
        values += [code, label, code.upper(), code.title(), f" {code} ", f"{label}\u3000"]
        values += [code + "x", label[:-1] or "x", f"\t{label}"]
    values += ["unknown", "其他", "其它", "other ", "OTHER", "男", "male", "Male", "M", "ｍａｌｅ"]
    return values


def tricky_values(c: Column) -> list[str | None]:
    own = enum_values(c) if c.kind == "enum" else TRICKY[c.kind]
    return [*BLANKS, *own]


CLEAN: dict[str, dict[str, str]] = {
    "villages": {
        "village_code": "510121001001",
        "village_name": "测试一村",
        "is_poor_village": "true",
        "rural_population": "1200",
        "collective_income_yuan": "35000.00",
        "has_ecommerce_station": "false",
        "ecommerce_pilot_year": "2016",
        "solar_capacity_kw": "120.5",
        "paper_mulberry_mu": "30.0",
        "updated_at": "2015-03-01T08:00:00+08:00",
    },
    "households": {
        "household_id": "5101210010010001",
        "village_code": "510121001001",
        "head_id_number": PERSON,
        "head_name": "测试甲",
        "household_size": "3",
        "attribute": "general",
        "main_cause": "illness",
        "other_causes": "disability;water",
        "net_income_yuan": "12000.50",
        "per_capita_income_yuan": "4000.17",
        "income_year": "2014",
        "food_clothing_secure": "true",
        "housing_safe": "true",
        "drinking_water_safe": "false",
        "status": "poor",
        "identified_on": "2014-10-01",
        "status_changed_on": "2014-10-01",
        "sells_online": "false",
        "updated_at": "2015-03-01T08:00:00+08:00",
    },
    "members": {
        "id_number": PERSON,
        "household_id": "5101210010010001",
        "name": "测试甲",
        "relation": "head",
        "sex": "male",
        "birth_date": "1980-05-17",
        "education": "junior",
        "in_school": "false",
        "health": "healthy",
        "labour": "ordinary",
        "medical_insured": "true",
        "member_status": "active",
        "updated_at": "2015-03-01T08:00:00",
    },
    "assistance": {
        "event_id": "BF520121-20150301-000001",
        "household_id": "5101210010010001",
        "village_code": "510121001001",
        "program": "ecommerce_training",
        "platform": "淘宝",
        "event_date": "2015-03-01",
        "amount_yuan": "500.00",
        "updated_at": "2015-03-01T10:00:00+08:00",
    },
    "targets": {"year": "2015", "province_code": "51", "metric": "people_lifted", "target": "1000"},
}


def rows_frame(entity: str, rows: list[dict[str, str | None]]) -> pl.DataFrame:
    """A reader frame of ``rows`` (clean values where a row says nothing), numbered from the
    last row up, so that order by position and by ``_row_number`` differ."""
    names = list(CLEAN[entity])
    data = {n: [r.get(n, CLEAN[entity][n]) for r in rows] for n in names}
    frame = pl.DataFrame(data, schema=dict.fromkeys(names, pl.String()))
    return frame.with_columns(pl.int_range(pl.len(), 0, -1, dtype=pl.Int64).alias("_row_number"))


def test_clean_rows_take_the_fast_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The general path sees only the values the fast path does not read."""
    calls: list[tuple[str, list[int]]] = []
    general = typing_module._general

    def spy(fast: pl.DataFrame, c: Column) -> pl.LazyFrame:
        calls.append((c.name, general(fast, c).collect().get_column("at").to_list()))
        return general(fast, c)

    monkeypatch.setattr(typing_module, "_general", spy)
    for entity in ENTITIES:
        typed, held = assert_same_typing(rows_frame(entity, [{}] * 5), entity, in_chunks=False)
        assert typed.height == 5 and held.is_empty()
    assert calls == []
    frame = rows_frame(
        "members",
        [{}, {"updated_at": "2015-03-01T08:00:00Z"}, {}, {"sex": "男", "updated_at": "x"}, {}],
    )
    assert_same_typing(frame, "members", in_chunks=False)
    assert calls == [("updated_at", [1, 3])]


@pytest.mark.parametrize("entity", ENTITIES)
def test_tricky_values_one_per_row(entity: str) -> None:
    rows: list[dict[str, str | None]] = [{}]
    for c in CONTRACT[entity].columns:
        rows += [{c.name: v} for v in tricky_values(c)]
        rows.append({})
    typed, held = assert_same_typing(rows_frame(entity, rows), entity)
    assert typed.height > len(rows) // 4 and held.height > len(rows) // 10


@pytest.mark.parametrize("entity", ENTITIES)
def test_tricky_values_many_per_row(entity: str) -> None:
    """Several problems in a row (column, reason and detail of the first and of all)."""
    columns = CONTRACT[entity].columns
    values = {c.name: tricky_values(c) for c in columns}
    longest = max(len(v) for v in values.values())
    rows: list[dict[str, str | None]] = [
        {c.name: values[c.name][(i * (k + 1)) % len(values[c.name])] for k, c in enumerate(columns)}
        for i in range(longest)
    ]
    assert_same_typing(rows_frame(entity, rows), entity)


@pytest.mark.parametrize("entity", ENTITIES)
def test_absent_and_non_string_columns(entity: str) -> None:
    ent = CONTRACT[entity]
    rows = [{}, *({c.name: v} for c in ent.columns for v in tricky_values(c)[:8])]
    frame = rows_frame(entity, rows)
    for c in ent.columns:  # each column absent in turn (required ones: every row held)
        assert_same_typing(frame.drop(c.name), entity)
    assert_same_typing(
        frame.with_columns(pl.all().exclude("_row_number").cast(pl.Categorical)), entity
    )
    assert_same_typing(frame.with_columns(pl.lit(None).alias(ent.columns[-1].name)), entity)


def test_empty_frames() -> None:
    for entity in ENTITIES:
        assert_same_typing(rows_frame(entity, []), entity)
        assert_same_typing(rows_frame(entity, [{c: None for c in CLEAN[entity]}]), entity)


def test_local_times_read_as_plus_eight_from_1992_on() -> None:
    """Every day from 1990 to 2040 (at a changing hour) without an offset: the fast path's
    fixed UTC+8 from 1992 on is what the time zone database says."""
    days = pl.date_range(dt.date(1990, 1, 1), dt.date(2040, 12, 31), eager=True)
    times = [
        f"{d:%Y-%m-%d}T{h:02d}:{m:02d}:{s:02d}"
        for d, (h, m, s) in zip(
            days.to_list(),
            itertools.cycle(itertools.product(range(24), (0, 30, 59), (0, 59))),
            strict=False,
        )
    ]
    assert_same_typing(rows_frame("members", [{"updated_at": t} for t in times]), "members")


# --------------------------------------------------------------------------------------
# Random edits of canonical values

EDIT_CHARS = "0123456789-:/T+Z .,;xXe\t\u3000是否、；"


@st.composite
def near_canonical(draw: st.DrawFn, seed: str) -> str | None:
    """``seed`` with a few random characters inserted, deleted or replaced."""
    if draw(st.integers(0, 9)) == 0:
        return None
    text = seed
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(("insert", "delete", "replace")))
        ch = draw(st.sampled_from(EDIT_CHARS))
        if op == "insert":
            text = text[:at] + ch + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + ch + text[at + 1 :]
    return text


@st.composite
def near_canonical_rows(draw: st.DrawFn, entity: str) -> list[dict[str, str | None]]:
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        row: dict[str, str | None] = {}
        for c in CONTRACT[entity].columns:
            seeds = [CLEAN[entity][c.name], *(v for v in tricky_values(c) if v)]
            if draw(st.booleans()):
                row[c.name] = draw(near_canonical(draw(st.sampled_from(seeds))))
        rows.append(row)
    return rows


@pytest.mark.parametrize("entity", ENTITIES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_edits_of_canonical_values(entity: str, data: st.DataObject) -> None:
    rows = data.draw(near_canonical_rows(entity))
    assert_same_typing(rows_frame(entity, rows), entity, in_chunks=False)
