"""The synthetic registry generator: layout, formats, manifests, determinism, realism."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.idcard import (
    birth_date_of,
    check_char,
    id_problem,
    make_id,
    normalise_id,
    sex_of,
    village_code_ok,
)
from contract.landing import CONTRACT, FILE_NAME_RE, MANIFEST_NAME
from generator import generate
from generator.ids import SequenceAllocator, check_chars, first17, id_strings, ymd
from generator.names import VILLAGE_SUFFIX
from generator.readback import canonical, read_delivery, read_raw

START = dt.date(2015, 3, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, days=3)
    return out


@pytest.fixture(scope="module")
def demo_frames(demo: Path) -> dict[str, pl.DataFrame]:
    days = sorted(p for p in demo.iterdir() if p.is_dir())
    frames: dict[str, list[pl.DataFrame]] = {}
    for day in days:
        for entity, frame in read_delivery(day).items():
            frames.setdefault(entity, []).append(frame.with_columns(_day=pl.lit(day.name)))
    return {e: pl.concat(f, how="diagonal") for e, f in frames.items()}


def _current(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    return frame.sort("updated_at", "_day").group_by(key, maintain_order=True).last()


# --------------------------------------------------------------------------- layout
def test_layout_one_folder_per_day_with_manifest(demo: Path) -> None:
    days = sorted(p.name for p in demo.iterdir())
    assert days == ["2015-03-01", "2015-03-02", "2015-03-03"]
    for day in days:
        names = {p.name for p in (demo / day).iterdir()}
        assert MANIFEST_NAME in names
        for name in names - {MANIFEST_NAME}:
            m = FILE_NAME_RE.match(name)
            assert m, name
            assert m["source"] == "national" if m["entity"] == "targets" else len(m["source"]) == 6


def test_day_one_is_a_full_registration_of_every_county(demo: Path) -> None:
    names = {p.name.split(".")[0].split("_part")[0] for p in (demo / "2015-03-01").iterdir()}
    for county in ("520121", "520122", "430121"):
        for entity in ("villages", "households", "members", "assistance"):
            assert f"{entity}_{county}" in names
    assert "targets_national" in names


def test_manifests_match_files(demo: Path) -> None:
    for day in sorted(demo.iterdir()):
        listed = json.loads((day / MANIFEST_NAME).read_text())["files"]
        on_disk = {p.name for p in day.iterdir()} - {MANIFEST_NAME}
        assert {f["name"] for f in listed} == on_disk
        for f in listed:
            path = day / f["name"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"]
            raw, _ = read_raw(path)
            assert raw.height == f["rows"], f["name"]


def test_mixed_formats_cover_every_family(demo: Path) -> None:
    seen = set()
    for path in (demo / "2015-03-01").iterdir():
        if path.suffix == ".csv":
            data = path.read_bytes()
            if data.startswith(b"\xef\xbb\xbf"):
                seen.add("utf8-bom-tab" if b"\t" in data.split(b"\n")[0] else "utf8-bom")
            else:
                try:
                    data.decode("utf-8")
                    seen.add("utf8")
                except UnicodeDecodeError:
                    seen.add("gbk")
        elif path.suffix in (".xlsx", ".parquet"):
            seen.add(path.suffix)
    assert {"utf8", "gbk", "utf8-bom-tab", ".xlsx", ".parquet"} <= seen


def test_gbk_files_have_chinese_headers_and_labels(demo: Path) -> None:
    found = 0
    for path in (demo / "2015-03-01").glob("*.csv"):
        data = path.read_bytes()
        try:
            data.decode("utf-8")
            continue
        except UnicodeDecodeError:
            pass
        found += 1
        text = data.decode("gbk")
        header = text.split("\r\n", 1)[0].split(",")
        entity = FILE_NAME_RE.match(path.name)["entity"]  # type: ignore[index]
        zh = {c.zh for c in CONTRACT[entity].columns}
        assert set(header) == zh
        if entity == "households":
            assert "未脱贫" in text and ("是" in text or "否" in text)
    assert found


def test_xlsx_ids_are_text_cells(demo: Path) -> None:
    import openpyxl

    checked = 0
    for path in demo.glob("*/*.xlsx"):
        entity = FILE_NAME_RE.match(path.name)["entity"]  # type: ignore[index]
        wb = openpyxl.load_workbook(path, read_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        aliases = CONTRACT[entity].header_aliases
        header = [aliases[h] for h in rows[0]]
        for col in ("id_number", "head_id_number", "household_id"):
            if col in header:
                j = header.index(col)
                for r in rows[1:]:
                    assert r[j] is None or isinstance(r[j], str)
                    checked += 1
    assert checked > 100


def test_csv_mode_is_utf8_english_only(tmp_path: Path) -> None:
    generate(tmp_path, households=300, days=2, formats="csv")
    for path in tmp_path.glob("*/*"):
        if path.name == MANIFEST_NAME:
            continue
        assert path.suffix == ".csv"
        text = path.read_bytes().decode("utf-8")
        assert not text.startswith("\ufeff")
        entity = FILE_NAME_RE.match(path.name)["entity"]  # type: ignore[index]
        assert text.split("\n", 1)[0].split(",") == list(CONTRACT[entity].column_names)


# --------------------------------------------------------------------------- determinism
def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_arguments_same_bytes(tmp_path: Path, demo: Path) -> None:
    generate(tmp_path / "again", days=3)
    assert _tree(tmp_path / "again") == _tree(demo)


def test_another_seed_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", households=200, days=1, seed=1, formats="csv")
    generate(tmp_path / "b", households=200, days=1, seed=2, formats="csv")
    assert _tree(tmp_path / "a") != _tree(tmp_path / "b")


# --------------------------------------------------------------------------- realism
def test_ids_are_valid_and_agree_with_the_member(demo_frames: dict[str, pl.DataFrame]) -> None:
    m = demo_frames["members"]
    ids = m["id_number"].to_list()
    assert all(id_problem(x) is None for x in ids)
    assert any(len(x) == 20 for x in ids), "some disability-card numbers"
    for x, birth, sex, hh in m.select("id_number", "birth_date", "sex", "household_id").iter_rows():
        n = normalise_id(x)
        assert str(birth_date_of(n)) == birth
        assert sex_of(n) == sex
        assert n[:6] == hh[:6]


def test_codes_and_household_ids(demo_frames: dict[str, pl.DataFrame]) -> None:
    v = demo_frames["villages"]
    assert all(village_code_ok(c) for c in v["village_code"])
    assert v["village_code"].str.slice(9, 3).cast(int).is_between(200, 399).all()
    h = demo_frames["households"]
    assert h["household_id"].str.contains(r"^\d{16}$").all()
    assert (h["household_id"].str.slice(0, 12) == h["village_code"]).all()
    assert set(h["village_code"]) <= set(v["village_code"])


def test_households_are_consistent_with_members(demo_frames: dict[str, pl.DataFrame]) -> None:
    h = _current(demo_frames["households"], "household_id")
    m = _current(demo_frames["members"], "id_number")
    active = (
        m.filter(pl.col("member_status") == "active")
        .group_by("household_id")
        .agg(n=pl.len(), heads=(pl.col("relation") == "head").sum())
    )
    j = h.join(active, on="household_id", how="left")
    assert (j["household_size"].cast(pl.Int64) == j["n"].fill_null(0)).all()
    assert (j["heads"] == 1).all()
    assert m.join(h, on="household_id", how="anti").height == 0
    assert h["household_size"].cast(pl.Int64).is_between(1, 20).all()
    heads = m.filter(pl.col("relation") == "head").select(
        "household_id", pl.col("id_number").alias("head")
    )
    hh = h.join(heads, on="household_id")
    assert (hh["head"] == hh["head_id_number"]).all()


def test_incomes_and_causes(demo_frames: dict[str, pl.DataFrame]) -> None:
    h = demo_frames["households"].with_columns(
        net=pl.col("net_income_yuan").cast(pl.Float64),
        pc=pl.col("per_capita_income_yuan").cast(pl.Float64),
        size=pl.col("household_size").cast(pl.Int64),
    )
    assert ((h["net"] / h["size"] - h["pc"]).abs() <= 0.01).all()
    assert h["per_capita_income_yuan"].str.contains(r"^-?\d+(\.\d{1,2})?$").all()
    other = h.filter(pl.col("other_causes").is_not_null())
    assert other.height > 0
    for main, others in other.select("main_cause", "other_causes").iter_rows():
        parts = others.split(";")
        assert len(parts) <= 2 and main not in parts and len(set(parts)) == len(parts)


def test_status_dates_are_ordered_and_not_in_future(demo_frames: dict[str, pl.DataFrame]) -> None:
    h = demo_frames["households"]
    assert (h["status_changed_on"] >= h["identified_on"]).all()
    assert (h["status_changed_on"] <= h["_day"]).all()
    lifted = h.filter(pl.col("status") == "lifted")
    assert lifted.height > 0
    assert (
        lifted["status_changed_on"].str.slice(0, 4) != lifted["identified_on"].str.slice(0, 4)
    ).all()
    a = demo_frames["assistance"]
    assert (a["event_date"] <= a["_day"]).all()


def test_names_never_equal_a_village_name(demo_frames: dict[str, pl.DataFrame]) -> None:
    villages = set(demo_frames["villages"]["village_name"])
    assert all(v.endswith(VILLAGE_SUFFIX) for v in villages)
    people = set(demo_frames["members"]["name"]) | set(demo_frames["households"]["head_name"])
    assert not villages & people
    assert all(2 <= len(n) <= 3 for n in people)


def test_rural_population_covers_registered_people(demo_frames: dict[str, pl.DataFrame]) -> None:
    h = demo_frames["households"].filter(pl.col("_day") == "2015-03-01")
    people = h.group_by("village_code").agg(p=pl.col("household_size").cast(pl.Int64).sum())
    v = demo_frames["villages"].join(people, on="village_code", how="left")
    assert (v["rural_population"].cast(pl.Int64) >= v["p"].fill_null(0)).all()
    assert v["is_poor_village"].is_in(["true", "false"]).all()
    assert (v["is_poor_village"] == "false").sum() > (v["is_poor_village"] == "true").sum()


def test_targets_scaled_to_the_run(demo_frames: dict[str, pl.DataFrame]) -> None:
    t = demo_frames["targets"].with_columns(pl.col("target").cast(pl.Int64))
    lifted = t.filter(pl.col("metric") == "people_lifted")
    national = lifted.filter(pl.col("province_code") == "00")["target"].item()
    assert national == lifted.filter(pl.col("province_code") != "00")["target"].sum()
    assert 800 < national < 1300  # 10 M x 3,000 / 29.48 M households
    assert set(lifted["province_code"]) == {"00", "43", "52"}
    assert t.filter(pl.col("metric") == "ecommerce_pilot_villages").height == 3


def test_change_days_carry_only_changes(demo_frames: dict[str, pl.DataFrame]) -> None:
    h = demo_frames["households"]
    later = h.filter(pl.col("_day") > "2015-03-01")
    assert 0 < later.height < 100
    assert (later["updated_at"].str.slice(0, 10) == later["_day"]).all()
    first = h.filter(pl.col("_day") == "2015-03-01")
    assert (first["updated_at"].str.slice(0, 10) <= "2015-03-01").all()


def test_no_income_outliers_in_a_clean_county(demo_frames: dict[str, pl.DataFrame]) -> None:
    h = demo_frames["households"].filter(pl.col("_day") == "2015-03-01")
    for _, g in h.group_by(pl.col("household_id").str.slice(0, 6)):
        x = g["per_capita_income_yuan"].cast(pl.Float64).to_numpy()
        med = np.median(x)
        mad = np.median(np.abs(x - med))
        assert np.max(0.6745 * np.abs(x - med) / mad) < 3.5


def test_progress_bar_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(tmp_path / "quiet", households=100, days=1, formats="csv")
    assert capsys.readouterr().err == ""
    generate(tmp_path / "loud", households=100, days=1, formats="csv", progress=True)
    assert "counties" in capsys.readouterr().err


def test_summary_counts(tmp_path: Path) -> None:
    s = generate(tmp_path, households=500, days=2, formats="csv")
    assert s.households == 500 and s.counties == 3
    assert s.per_day[0].rows["households"] == 500
    assert s.per_day[0].rows["members"] == s.members
    assert s.files == sum(1 for p in tmp_path.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)
    assert s.bytes == sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- id helpers
_DAYS = st.integers(min_value=-25_000, max_value=20_000)


@settings(max_examples=200, deadline=None)
@given(
    addr=st.integers(min_value=110_000, max_value=659_999),
    days=st.lists(_DAYS, min_size=1, max_size=20),
    data=st.data(),
)
def test_vectorised_ids_match_the_reference(
    addr: int, days: list[int], data: st.DataObject
) -> None:
    seqs = data.draw(st.lists(st.integers(0, 999), min_size=len(days), max_size=len(days)))
    got = id_strings(np.full(len(days), addr), np.array(days), np.array(seqs)).to_list()
    for g, d, s in zip(got, days, seqs, strict=True):
        birth = dt.date(1970, 1, 1) + dt.timedelta(days=d)
        assert g == make_id(str(addr), birth, s)
        assert id_problem(g) is None


@settings(max_examples=100, deadline=None)
@given(days=st.lists(_DAYS, min_size=1, max_size=300), data=st.data())
def test_sequence_numbers_are_unique_and_carry_the_sex(
    days: list[int], data: st.DataObject
) -> None:
    male = np.array(data.draw(st.lists(st.booleans(), min_size=len(days), max_size=len(days))))
    alloc = SequenceAllocator()
    half = len(days) // 2
    b = np.array(days)
    seq = np.r_[alloc.allocate(b[:half], male[:half]), alloc.allocate(b[half:], male[half:])]
    assert ((seq % 2 == 1) == male).all()
    assert ((seq >= 0) & (seq <= 999)).all()
    keys = set(zip(b.tolist(), seq.tolist(), strict=True))
    assert len(keys) == len(days)


@given(f17=st.integers(min_value=10**16, max_value=10**17 - 1))
def test_check_chars_match_the_reference(f17: int) -> None:
    assert check_chars(np.array([f17]))[0] == check_char(str(f17))


@given(days=st.lists(_DAYS, min_size=1, max_size=10))
def test_ymd(days: list[int]) -> None:
    got = ymd(np.array(days))
    for g, d in zip(got, days, strict=True):
        assert g == int((dt.date(1970, 1, 1) + dt.timedelta(days=d)).strftime("%Y%m%d"))


def test_first17_layout() -> None:
    assert first17(np.array([110105]), np.array([19491231]), np.array([2]))[0] == 11010519491231002
    assert check_chars(np.array([11010519491231002]))[0] == "X"


def test_canonical_reader_round_trip() -> None:
    raw = pl.DataFrame(
        {"身份证号": ["1"], "与户主关系": ["户主"], "在校生": ["否"], "出生日期": ["20150101"]}
    )
    got = canonical("members", raw)
    assert got.row(0) == ("1", "head", "false", "2015-01-01")
