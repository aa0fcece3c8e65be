"""The transform split into buckets of whole components gives exactly the result of one
pass, persons who move across counties included; and a transform scoped to some whole
components (the incremental path) gives exactly the full transform's rows of them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

import transforms.build
from contract.landing import staging_schema
from transforms.build import Scope, _component_buckets, build_core, households_of

D1, D2, D3 = dt.date(2016, 5, 1), dt.date(2016, 5, 2), dt.date(2016, 5, 3)
COUNTY_A, COUNTY_B = "520121", "520122"
OUTPUTS = (
    "villages_outcomes",
    "households_outcomes",
    "households_history",
    "members_outcomes",
    "members_current",
    "status_events",
    "exit_checks",
    "cross_warnings",
    "components",
)


def _ts(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def _write(staging: Path, entity: str, rows: list[dict]) -> None:
    schema = staging_schema(entity)
    by_date: dict[dt.date, list[dict]] = {}
    for i, row in enumerate(rows):
        row = {"_file_name": f"{entity}_x.csv", "_row_number": i + 1, "_source": "x", **row}
        by_date.setdefault(row["_delivery_date"], []).append(row)
    for day, day_rows in by_date.items():
        folder = staging / f"stg_{entity}" / f"delivery_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        frame = pl.DataFrame([{c: r.get(c) for c in schema} for r in day_rows], schema=schema)
        frame.write_parquet(folder / "part.parquet")


def _household(hid: str, size: int, day: dt.date, hour: int, status: str = "poor") -> dict:
    return {
        "household_id": hid,
        "village_code": hid[:12],
        "head_id_number": f"{hid[:6]}19700101{hid[-4:]}",
        "household_size": size,
        "per_capita_income_yuan": 2000,
        "income_year": 2015,
        "status": status,
        "identified_on": dt.date(2014, 6, 1),
        "status_changed_on": dt.date(2014, 6, 1),
        "food_clothing_secure": True,
        "housing_safe": True,
        "drinking_water_safe": True,
        "updated_at": _ts(day, hour),
        "_delivery_date": day,
    }


def _member(pid: str, hid: str, relation: str, day: dt.date, hour: int, **kw) -> dict:
    return {
        "id_number": pid,
        "household_id": hid,
        "relation": relation,
        "birth_date": dt.date(1980, 1, 1),
        "in_school": False,
        "medical_insured": True,
        "member_status": "active",
        "updated_at": _ts(day, hour),
        "_delivery_date": day,
        **kw,
    }


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    stg = tmp_path / "staging"
    ha, hb, hc = (
        f"{COUNTY_A}001001{0:04d}1",
        f"{COUNTY_B}001001{0:04d}2",
        f"{COUNTY_A}001001{0:04d}3",
    )
    villages = [
        {"village_code": h[:12], "updated_at": _ts(D1, 8), "_delivery_date": D1} for h in (ha, hb)
    ]
    _write(stg, "villages", villages)
    _write(
        stg,
        "households",
        [
            _household(ha, 2, D1, 9),
            _household(hb, 1, D1, 9),
            _household(hc, 1, D1, 9),
            _household(hb, 2, D2, 9),  # P moved in
            _household(ha, 1, D2, 9, status="lifted"),
        ],
    )
    mover, twice = "P00000000000000001", "Q00000000000000002"
    _write(
        stg,
        "members",
        [
            _member("HA0000000000000001", ha, "head", D1, 9),
            _member(mover, ha, "child", D1, 9),
            _member("HB0000000000000001", hb, "head", D1, 9),
            _member("HC0000000000000001", hc, "child", D1, 9),  # no head: held
            _member(mover, hb, "child", D2, 10),  # moves to county B
            _member(twice, ha, "child", D2, 10),  # in two households of two counties
            _member(twice, hb, "child", D2, 10),
            _member(mover, ha, "child", D3, 8, in_school=True, updated_at=_ts(D2, 8)),  # stale
        ],
    )
    return stg


def _read(out: Path, name: str) -> pl.DataFrame:
    frame = pl.read_parquet(out / name / "*.parquet")
    return frame.sort(frame.columns, nulls_last=True)


@pytest.mark.parametrize(
    ("read_households", "pass_households"),
    [(100_000, 10_000_000), (1, 10_000_000), (1, 1)],
    ids=["one-read", "split-by-batch", "split-a-pass-per-batch"],
)
def test_buckets_give_the_result_of_one_pass(
    staging: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    split_batches: list[int],
    read_households: int,
    pass_households: int,
) -> None:
    # The fixture's household ids have 17 characters: the split joins them by their text.
    monkeypatch.setattr(transforms.build, "READ_HOUSEHOLDS", read_households)
    monkeypatch.setattr(transforms.build, "SPLIT_PASS_HOUSEHOLDS", pass_households)
    monkeypatch.setattr(transforms.build, "SPLIT_MIN_BATCHES", 2)  # the fixture's two buckets
    # Movers join the households of counties A and B into one component; the third
    # household is a component of its own: two buckets of whole components.
    one = build_core(staging, tmp_path / "one")
    split = build_core(staging, tmp_path / "split", households_per_bucket=1)
    assert one["buckets"] == 1 and split["buckets"] == 2
    # Read in one batch, staging is not split; read in two, it is.
    assert split_batches == ([] if read_households > 1 else [2])
    for name in OUTPUTS:
        assert _read(tmp_path / "one", name).equals(_read(tmp_path / "split", name)), name

    members = _read(tmp_path / "split", "members_outcomes")
    outcome = {
        (r["record_key"], r["_delivery_date"]): (r["outcome"], r["reason"])
        for r in members.iter_rows(named=True)
    }
    assert outcome[("P00000000000000001", D3)] == ("stale", "stale_update")
    assert outcome[("Q00000000000000002", D2)] == ("conflict", "person_in_two_households")
    assert outcome[("HC0000000000000001", D1)] == ("held", "household_head_count")
    # The record key only on rows not applied (the quarantine lists them by it).
    applied = members.filter(pl.col("outcome") == "applied")
    assert applied.height > 0 and applied["record_key"].null_count() == applied.height
    assert members.filter(pl.col("outcome") != "applied")["record_key"].null_count() == 0
    current = _read(tmp_path / "split", "members_current")
    mover = current.filter(pl.col("id_number") == "P00000000000000001")
    assert mover["household_id"].to_list() == [f"{COUNTY_B}001001{0:04d}2"]
    # The third household declares one member, whose row is held: none is active. The
    # others have as many active members as declared, the mover counted where they live.
    warnings = _read(tmp_path / "split", "cross_warnings")
    assert warnings.select("record_key", "reason", "detail").rows() == [
        (
            f"{COUNTY_A}001001{0:04d}3",
            "household_size_mismatch",
            "household_size 1 but 0 active members",
        )
    ]


@pytest.mark.parametrize(
    ("per_bucket", "buckets"),
    [(1, 3), (2, 2), (100, 1)],
    ids=["one-component-a-bucket", "packed-to-the-size", "all-in-one"],
)
def test_a_chain_of_movers_keeps_its_households_in_one_bucket(
    tmp_path: Path, per_bucket: int, buckets: int
) -> None:
    stg = tmp_path / "staging"
    _write(stg, "households", [_household(h, 1, D1, 9) for h in ("h4", "h5")])
    _write(
        stg,
        "members",
        [
            _member("A", "h1", "head", D1, 9),
            _member("A", "h2", "head", D2, 9),  # A joins h1 and h2
            _member("B", "h2", "child", D1, 9),
            _member("B", "h3", "child", D3, 9),  # B joins h2 and h3: h1-h3 one component
            _member("C", "h4", "head", D1, 9),
        ],
    )
    got = _component_buckets(stg, per_bucket, tmp_path / "spill")
    bucket = dict(got.select("household_id", "bucket").iter_rows())
    component = dict(got.select("household_id", "component").iter_rows())
    assert component == {"h1": "h1", "h2": "h1", "h3": "h1", "h4": "h4", "h5": "h5"}
    assert sorted(bucket) == ["h1", "h2", "h3", "h4", "h5"]
    assert bucket["h1"] == bucket["h2"] == bucket["h3"]
    assert sorted(set(bucket.values())) == list(range(buckets))
    if per_bucket == 1:  # every component a bucket of its own
        assert len({bucket["h1"], bucket["h4"], bucket["h5"]}) == 3


def test_movers_are_found_exactly_whatever_the_household_ids_look_like(tmp_path: Path) -> None:
    # Ids of 16 digits are compared as numbers, others by their text: a person in two
    # households of 16 digits, in one of 16 digits and one of another spelling (the same
    # number with a sign in front: another household), or in two of other spellings joins
    # them; a person delivered twice in one household joins nothing.
    h = [f"{COUNTY_A}001001{i:04d}" for i in range(1, 8)]
    other, text1, text2 = "+" + h[3], "h-one", "h-two"
    stg = tmp_path / "staging"
    _write(stg, "households", [_household(x, 1, D1, 9) for x in h])
    _write(
        stg,
        "members",
        [
            _member("M1", h[0], "head", D1, 9),
            _member("M1", h[1], "head", D2, 9),  # h0-h1
            _member("M2", h[2], "head", D1, 9),
            _member("M2", h[2], "head", D2, 9),  # twice in h2: no mover
            _member("M3", h[3], "head", D1, 9),
            _member("M3", other, "child", D2, 9),  # h3 and another spelling
            _member("M4", text1, "head", D1, 9),
            _member("M4", text2, "head", D2, 9),  # two ids of other spellings
            _member("M5", h[5], "head", D1, 9),
            _member("M6", h[6], "head", D1, 9),
        ],
    )
    got = _component_buckets(stg, 1_000_000, tmp_path / "spill")
    component = dict(got.select("household_id", "component").iter_rows())
    assert component == {
        h[0]: h[0],
        h[1]: h[0],
        h[2]: h[2],
        h[3]: other,  # the smallest id names the component: a sign sorts before digits
        other: other,
        h[4]: h[4],
        h[5]: h[5],
        h[6]: h[6],
        text1: text1,
        text2: text1,
    }


@pytest.mark.parametrize("per_bucket", [1, 4, 25, 1000])
def test_components_are_packed_in_the_order_of_their_hash_into_buckets_of_the_size(
    tmp_path: Path, per_bucket: int
) -> None:
    # 40 households, movers joining some into components of 2 to 6: each component whole
    # in one bucket; components in the order of (hash, id) of their smallest household, a
    # bucket starting where the running count of households passes a multiple of the size;
    # buckets numbered 0.. without gaps (a component larger than the size skips none).
    h = [f"{COUNTY_A}00100{i:05d}" for i in range(40)]
    groups = [h[0:2], h[5:11], h[20:23], [h[30], h[39]]]
    stg = tmp_path / "staging"
    _write(stg, "households", [_household(x, 1, D1, 9) for x in h])
    rows = []
    for g, group in enumerate(groups):
        for x in group:  # one person in every household of the group
            rows.append(_member(f"G{g}", x, "child", D1 + dt.timedelta(days=group.index(x)), 9))
    _write(stg, "members", rows)

    component = {x: x for x in h}
    for group in groups:
        component.update({x: min(group) for x in group})
    sizes: dict[str, int] = {}
    for c in component.values():
        sizes[c] = sizes.get(c, 0) + 1
    hashed = dict(
        duckdb.sql(
            "SELECT c, hash(c) FROM unnest($c) AS t(c)", params={"c": list(sizes)}
        ).fetchall()
    )
    slot, running = {}, 0
    for c in sorted(sizes, key=lambda c: (hashed[c], c)):
        slot[c] = running // per_bucket
        running += sizes[c]
    dense = {s: i for i, s in enumerate(sorted(set(slot.values())))}

    got = _component_buckets(stg, per_bucket, tmp_path / "spill")
    assert got.height == len(h)
    assert {r[0]: (r[1], r[2]) for r in got.iter_rows()} == {
        x: (component[x], dense[slot[component[x]]]) for x in h
    }


@pytest.mark.parametrize("with_members", [False, True], ids=["households-only", "with-members"])
def test_every_household_has_one_bucket_however_often_it_was_delivered(
    tmp_path: Path, with_members: bool
) -> None:
    # h2 delivered on two dates (and, with members, by its member too): still one row, so
    # no candidate row of it is read twice.
    stg = tmp_path / "staging"
    _write(stg, "households", [_household("h1", 1, D1, 9), _household("h2", 1, D1, 9)])
    _write(stg, "households", [_household("h2", 1, D2, 9)])
    if with_members:
        _write(stg, "members", [_member("A", "h2", "head", D1, 9)])
    got = _component_buckets(stg, 1_000_000, tmp_path / "spill")
    assert sorted(got["household_id"].to_list()) == ["h1", "h2"]


def _chain(stg: Path) -> None:
    """h1-h2-h3 joined by movers A and B over three dates; h4 and h5 on their own."""
    _write(stg, "households", [_household(h, 1, D1, 9) for h in ("h4", "h5")])
    _write(
        stg,
        "members",
        [
            _member("A", "h1", "head", D1, 9),
            _member("A", "h2", "head", D2, 9),
            _member("B", "h2", "child", D1, 9),
            _member("B", "h3", "child", D3, 9),
            _member("C", "h4", "head", D1, 9),
        ],
    )


def test_the_components_output_lists_every_household_of_a_shared_component(
    tmp_path: Path,
) -> None:
    # The smallest household names its component and is listed too: an incremental run
    # closing over h1 must find h2 and h3.
    stg = tmp_path / "staging"
    _chain(stg)
    build_core(stg, tmp_path / "out")
    got = _read(tmp_path / "out", "components")
    assert got.rows() == [("h1", "h1"), ("h2", "h1"), ("h3", "h1")]


def test_a_date_seeds_every_household_its_persons_were_ever_in(tmp_path: Path) -> None:
    # B's row of D3 is in h3; B was in h2 on D1: both are seeds of D3, or the incremental
    # run would recompute h3 without the person's earlier household.
    stg = tmp_path / "staging"
    _chain(stg)
    assert sorted(households_of(stg, dates=(D3,))["household_id"]) == ["h2", "h3"]
    assert sorted(households_of(stg, dates=(D2,))["household_id"]) == ["h1", "h2"]
    villages = pl.Series(["h4"[:12]])
    assert sorted(households_of(stg, villages=villages)["household_id"]) == ["h4"]


def test_a_scoped_transform_gives_the_full_transforms_rows_of_its_components(
    staging: Path, tmp_path: Path
) -> None:
    full = tmp_path / "full"
    build_core(staging, full)
    households = pl.DataFrame({"household_id": [f"{COUNTY_A}001001{0:04d}3"]})
    scoped = tmp_path / "scoped"
    build_core(staging, scoped, scope=Scope(households, (D1,)))
    assert (
        _read(scoped, "affected")["household_id"].to_list() == households["household_id"].to_list()
    )
    for name in OUTPUTS:
        want = _read(full, name)
        got = _read(scoped, name)
        column = "record_key" if name == "cross_warnings" else "household_id"
        if column in want.columns and not name.startswith("villages"):
            want = want.filter(pl.col(column).is_in(households["household_id"].implode()))
        assert got.equals(want), name
    # The component of the movers (A and B's households) is untouched by this scope.
    assert _read(scoped, "members_outcomes")["record_key"].to_list() == ["HC0000000000000001"]


def test_the_outputs_are_what_the_load_reads_and_each_history_has_one_current_version(
    staging: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    counts = build_core(staging, out)
    written = {d.name for d in out.iterdir() if not d.name.startswith(".")}
    assert written == set(transforms.build.OUTPUTS)
    for entity in transforms.build.HISTORY_ENTITIES:
        assert f"{entity}_current" not in written, "the load takes it from the history"
        key = "village_code" if entity == "villages" else "household_id"
        history = _read(out, f"{entity}_history")
        # One current version per key: its last, the only one without an end.
        current = history.filter(pl.col("is_current"))
        assert current[key].is_unique().all(), entity
        assert set(current[key]) == set(history[key]), entity
        assert history["is_current"].equals(history["valid_to"].is_null()), entity
        last = history.sort("version").group_by(key, maintain_order=True).last()
        assert last["is_current"].all(), entity
        assert counts[f"{entity}_current"] == current.height, entity
    # The fixture has households with more than one version.
    assert counts["households_current"] < _read(out, "households_history").height
