"""The transform's fast paths give what the rules give when every row takes the long way.

- classify: keys with one candidate row skip the window rules (their verdicts are the
  defaults), and the rows are sorted once; the reference below sends every row through
  the window rules and sorts twice, as the rules were first written.
- members_as_of and the head-count rule: a settled household (every member version took
  effect on one date, none replaced) has its totals from one aggregate; the reference
  joins every household's pairs to every version's interval.
- the writer: a part written beside the next step still raises its error.

Random registries (seeded) hold both kinds of key and both kinds of household, and each
test checks that they do, so a fast path that went wrong fails here.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import transforms.build
from contract.landing import CONTRACT, record_key, staging_schema
from transforms import cross_checks
from transforms.cross_checks import (
    ROW,
    _current_at_own_date,
    _households_of,
    _intervals,
    _settled,
    classify_members,
    earliest_head_count,
    household_size_mismatch,
    household_totals,
    members_as_of,
)
from transforms.semantics import ARRIVAL, PARENTS, classify, content_columns, versions
from transforms.state import current, history, version_order

DATES = [dt.date(2015, 3, d) for d in (1, 2, 3)]
STAMPS = [dt.datetime(2015, 2, d, tzinfo=dt.UTC) for d in (1, 2, 3, 4)]
SEEDS = range(6)


# ------------------------------------------------------------------ the references
def _classify_every_row(
    rows: pl.LazyFrame, entity: str, parent_first_seen: pl.LazyFrame | None = None
) -> pl.DataFrame:
    """classify with every row through the window rules, sorted by arrival, then again by
    version order."""
    spec = CONTRACT[entity]
    key = list(spec.key)
    content = content_columns(entity)
    df = (
        rows.with_columns(record_key=record_key(entity))
        .sort([*key, *ARRIVAL])
        .with_columns(_ord=pl.int_range(pl.len(), dtype=pl.Int64))
    )
    earlier_max = pl.col("updated_at").cum_max().shift(1).over(key)
    df = df.with_columns(_stale=earlier_max.is_not_null() & (pl.col("updated_at") < earlier_max))
    group = [*key, "updated_at"]
    live = ~pl.col("_stale")
    df = df.with_columns(
        _conflict=live & (pl.struct(content).filter(live).n_unique().over(group) > 1),
        _first=pl.col("_ord") == pl.col("_ord").filter(live).min().over(group),
    )
    if entity == "members":
        homes = pl.col("household_id").filter(live).n_unique().over(["id_number", "_delivery_date"])
        df = df.with_columns(_two_homes=live & (homes > 1))
    else:
        df = df.with_columns(_two_homes=pl.lit(False))
    if parent_first_seen is not None:
        parent_col = PARENTS[entity][1]
        df = df.join(
            parent_first_seen.rename({"parent_key": parent_col, "first_date": "_parent_first"}),
            on=parent_col,
            how="left",
        )
    else:
        df = df.with_columns(_parent_first=pl.lit(None, dtype=pl.Date()))
    never = pl.lit(parent_first_seen is not None) & pl.col("_parent_first").is_null()
    wait = pl.col("_parent_first") > pl.col("_delivery_date")
    verdicts = [
        (pl.col("_stale"), "stale", "stale_update"),
        (pl.col("_two_homes"), "conflict", "person_in_two_households"),
        (pl.col("_conflict"), "conflict", "conflicting_duplicate"),
        (~pl.col("_first"), "duplicate", "duplicate_row"),
        (never | wait, "parked", "parent_missing"),
    ]
    outcome: pl.Expr = pl.lit("applied")
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    for flag, out, why in reversed(verdicts):
        outcome = pl.when(flag).then(pl.lit(out)).otherwise(outcome)
        reason = pl.when(flag).then(pl.lit(why)).otherwise(reason)
    effective = (
        pl.when(wait)
        .then(pl.col("_parent_first"))
        .when(never)
        .then(pl.lit(None, dtype=pl.Date()))
        .otherwise(pl.col("_delivery_date"))
    )
    return (
        df.with_columns(outcome=outcome, reason=reason, effective_date=effective)
        .drop("_ord", "_stale", "_conflict", "_first", "_two_homes", "_parent_first")
        .sort([*key, *version_order(entity)])
        .collect()
    )


def _as_of_every_interval(pairs: pl.LazyFrame, member_versions: pl.LazyFrame) -> pl.DataFrame:
    """members_as_of with every pair joined to every member version's interval."""
    iv = _intervals(member_versions, "members", "id_number")
    active = pl.col("member_status") == "active"
    counted = (
        pairs.join(iv, on="household_id", how="left")
        .filter(
            (pl.col("effective_date") <= pl.col("at"))
            & (pl.col("_until").is_null() | (pl.col("at") < pl.col("_until")))
        )
        .group_by("household_id", "at")
        .agg(
            active=active.sum().cast(pl.Int64),
            heads=(active & (pl.col("relation") == "head")).sum().cast(pl.Int64),
        )
    )
    return (
        pairs.join(counted, on=["household_id", "at"], how="left")
        .with_columns(pl.col("active").fill_null(0), pl.col("heads").fill_null(0))
        .collect()
    )


def _head_count_every_interval(member_versions: pl.LazyFrame) -> pl.DataFrame:
    """The head-count findings of every date, every household through the intervals."""
    iv = _intervals(member_versions, "members", "id_number")
    current_then = pl.col("_until").is_null() | (pl.col("_until") > pl.col("effective_date"))
    delivered = iv.filter(current_then).with_columns(at=pl.col("effective_date"))
    pairs = delivered.select("household_id", "at").unique()
    bad = _as_of_every_interval(pairs, member_versions).filter(pl.col("heads") != 1)
    return (
        delivered.join(bad.lazy(), on=["household_id", "at"], how="semi")
        .select(*ROW, "at", pl.col("id_number").alias("record_key"))
        .collect()
        .sort(ROW)
    )


# ------------------------------------------------------------------ random registries
def _members(seed: int, persons: int = 120, households: int = 30) -> pl.LazyFrame:
    """Candidate member rows: most persons once, some several times (stale, duplicate,
    conflicting and moved rows), over three dates and two files; a few rows without a
    household."""
    rng = random.Random(seed)
    rows: list[dict] = []
    number = iter(range(1, 100_000))
    for p in range(persons):
        home = f"H{rng.randrange(households):03d}"
        base = {
            "id_number": f"P{p:05d}",
            "household_id": home,
            "name": f"name {p}",
            "relation": rng.choice(["head", "spouse", "child", "child"]),
            "sex": "F",
            "birth_date": dt.date(1980, 1, 1),
            "in_school": False,
            "medical_insured": True,
            "member_status": "active",
            "updated_at": rng.choice(STAMPS[:2]),
            "_delivery_date": rng.choice(DATES[:2]),
        }
        person = [base]
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
            row = dict(rng.choice(person))
            change = rng.random()
            if change < 0.25:  # the same row again: a duplicate, or stale when older
                pass
            elif change < 0.45:  # other content, same version: a conflict
                row["name"] = f"other {rng.randrange(3)}"
            elif change < 0.75:  # a move, or a new status, later
                row["household_id"] = f"H{rng.randrange(households):03d}"
                row["updated_at"] = rng.choice(STAMPS)
            else:
                row["member_status"] = rng.choice(["active", "left", "deceased"])
                row["relation"] = rng.choice(["head", "spouse", "child"])
                row["updated_at"] = rng.choice(STAMPS)
            row["_delivery_date"] = rng.choice(DATES)
            person.append(row)
        rows.extend(person)
    for r in rows:
        if rng.random() < 0.01:
            r["household_id"] = None
        r["_file_name"] = rng.choice(["m1.csv", "m2.csv"])
        r["_row_number"] = next(number)
        r["_source"] = "520102"
    rng.shuffle(rows)
    schema = staging_schema("members")
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema).lazy()


def _household_first(seed: int, households: int = 30) -> pl.LazyFrame:
    """First applied date of most households; some never applied."""
    rng = random.Random(seed)
    rows = [
        {"parent_key": f"H{h:03d}", "first_date": rng.choice(DATES)}
        for h in range(households)
        if rng.random() < 0.9
    ]
    return pl.LazyFrame(rows, schema={"parent_key": pl.String, "first_date": pl.Date})


def _versions(seed: int) -> pl.DataFrame:
    return versions(classify(_members(seed), "members")).collect()


# ------------------------------------------------------------------ classify
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("with_parent", [False, True], ids=["no-parent", "parent"])
def test_classify_equals_every_row_through_the_rules(seed: int, with_parent: bool) -> None:
    rows = _members(seed)
    parent = _household_first(seed) if with_parent else None
    got = classify(rows, "members", parent).collect()
    # Keys of one row and of several, and every outcome the rules give, are in play.
    per_key = got.group_by("id_number").len()
    assert per_key.filter(pl.col("len") == 1).height > 0
    assert per_key.filter(pl.col("len") > 1).height > 0
    outcomes = set(got["outcome"])
    assert {"applied", "stale", "duplicate", "conflict"} <= outcomes
    if with_parent:
        assert "parked" in outcomes
    # The same rows in the same order: classify's order is its output's.
    assert_frame_equal(got, _classify_every_row(rows, "members", parent))


@pytest.mark.parametrize("seed", SEEDS)
def test_history_and_current_of_presorted_versions_equal_sorting_them(seed: int) -> None:
    vers = _versions(seed).lazy()
    for presorted in (True, False):
        assert_frame_equal(
            history(vers, "members", presorted=presorted).collect(),
            history(
                vers.collect().sample(fraction=1.0, shuffle=True, seed=seed).lazy(), "members"
            ).collect(),
        )
        assert_frame_equal(
            current(vers, "members", presorted=presorted).collect(),
            current(vers.collect().reverse().lazy(), "members").collect(),
        )


# ------------------------------------------------------------------ as-of counts
def _kinds(member_versions: pl.DataFrame) -> dict[bool, int]:
    """Households (with a household id) settled and not."""
    iv = _intervals(member_versions.lazy(), "members", "id_number", presorted=True)
    households = _households_of(iv).filter(pl.col("household_id").is_not_null()).collect()
    return {kind: households.filter(_settled() == kind).height for kind in (True, False)}


@pytest.mark.parametrize("seed", SEEDS)
def test_members_as_of_equals_the_join_over_every_interval(seed: int) -> None:
    mv = _versions(seed)
    kinds = _kinds(mv)
    assert kinds[True] > 0 and kinds[False] > 0, kinds
    # Every household, one never delivered and none, before, on and after each date.
    households = [*sorted(mv["household_id"].drop_nulls().unique()), "H999", None]
    days = [dt.date(2015, 2, 28), *DATES, dt.date(2015, 3, 4)]
    pairs = pl.LazyFrame(
        [{"household_id": h, "at": d} for h in households for d in days],
        schema={"household_id": pl.String, "at": pl.Date},
    )
    want = _as_of_every_interval(pairs, mv.lazy())
    for presorted, given in ((True, mv), (False, mv.reverse())):
        got = members_as_of(pairs, given.lazy(), presorted=presorted).collect()
        assert_frame_equal(got.sort(got.columns), want.sort(want.columns))


@pytest.mark.parametrize("seed", SEEDS)
def test_head_count_equals_the_join_over_every_interval(seed: int) -> None:
    mv = _versions(seed)
    got = cross_checks._head_count_once(mv.lazy(), presorted=True)
    want = _head_count_every_interval(mv.lazy())
    assert_frame_equal(got.select(want.columns).sort(ROW), want)
    # earliest_head_count holds the rows of the earliest such date.
    earliest = earliest_head_count(mv.lazy(), presorted=True)
    if want.height:
        first = want.filter(pl.col("at") == pl.col("at").min())
        assert earliest["_row_number"].to_list() == first["_row_number"].to_list()


def _household_versions(seed: int, households: int = 30) -> pl.DataFrame:
    """Household versions with a declared size, on one to three dates each."""
    rng = random.Random(seed)
    rows = []
    for h in range(households):
        for d in sorted(rng.sample(DATES, rng.choice([1, 1, 2, 3]))):
            rows.append(
                {
                    "household_id": f"H{h:03d}",
                    "household_size": rng.choice([0, 1, 2, 3, 4]),
                    "effective_date": d,
                    "updated_at": dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC),
                    "_delivery_date": d,
                    "_file_name": "h.csv",
                    "_row_number": len(rows) + 1,
                }
            )
    return pl.DataFrame(rows).sort("household_id", *version_order("households"))


@pytest.mark.parametrize("seed", SEEDS)
def test_size_mismatch_equals_the_join_over_every_interval(seed: int) -> None:
    mv, hv = _versions(seed), _household_versions(seed)
    iv = _intervals(hv.lazy(), "households", "household_id", presorted=True)
    rows = iv.filter(_current_at_own_date()).with_columns(at=pl.col("effective_date")).collect()
    counted = _as_of_every_interval(rows.select("household_id", "at").unique().lazy(), mv.lazy())
    want = (
        rows.join(counted, on=["household_id", "at"], how="left")
        .filter(pl.col("household_size") != pl.col("active"))
        .select(*ROW)
        .sort(ROW)
    )
    assert want.height > 0
    totals = household_totals(mv.lazy(), presorted=True)
    for got in (
        household_size_mismatch(hv.lazy(), mv.lazy(), presorted=True, totals=totals),
        household_size_mismatch(hv.reverse().lazy(), mv.reverse().lazy()),
    ):
        assert_frame_equal(got.collect().select(*ROW).sort(ROW), want)


@pytest.mark.parametrize("seed", SEEDS)
def test_classify_members_gives_the_totals_of_its_versions(seed: int) -> None:
    classified, totals = classify_members(_members(seed), _household_first(seed))
    want = household_totals(versions(classified.lazy()))
    assert_frame_equal(totals.sort("household_id"), want.sort("household_id"))


def test_a_settled_household_is_judged_on_its_date_and_from_it() -> None:
    """Households whose members all arrived on one date: two heads are held, one is
    not; their size is counted from that date on, not before."""
    rows = [
        # H1: two heads on D2; H2: one head on D2; H3: a head that moves in on D3.
        ("A", "H1", "head", DATES[1]),
        ("B", "H1", "head", DATES[1]),
        ("C", "H2", "head", DATES[1]),
        ("D", "H2", "child", DATES[1]),
        ("E", "H3", "head", DATES[0]),
        ("E", "H4", "head", DATES[2]),
    ]
    mv = pl.DataFrame(
        [
            {
                "id_number": p,
                "household_id": h,
                "relation": rel,
                "member_status": "active",
                "updated_at": dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC),
                "_delivery_date": d,
                "_file_name": "m.csv",
                "_row_number": i,
                "effective_date": d,
            }
            for i, (p, h, rel, d) in enumerate(rows)
        ]
    ).sort("id_number", *version_order("members"))
    assert _kinds(mv) == {True: 3, False: 1}  # H3's one version is replaced on D3
    held = earliest_head_count(mv.lazy(), presorted=True)
    assert held["record_key"].to_list() == ["A", "B"]
    d1, d2, d3 = DATES
    pairs = pl.LazyFrame(
        {
            "household_id": ["H2", "H2", "H2", "H3", "H3", "H4", "H4"],
            "at": [d1, d2, d3, d1, d3, d2, d3],
        }
    )
    counted = members_as_of(pairs, mv.lazy(), presorted=True).collect()
    # H2 from D2 on; E in H3 until D3, in H4 from D3.
    assert counted.sort("household_id", "at")["active"].to_list() == [0, 2, 2, 1, 0, 0, 1]
    households = pl.LazyFrame(
        {
            "household_id": ["H2", "H4"],
            "household_size": [2, 1],
            "effective_date": [DATES[0], DATES[2]],
            "updated_at": [STAMPS[0], STAMPS[0]],
            "_delivery_date": [DATES[0], DATES[2]],
            "_file_name": ["h.csv", "h.csv"],
            "_row_number": [1, 2],
        }
    )
    mismatch = household_size_mismatch(households, mv.lazy(), presorted=True).collect()
    assert mismatch["record_key"].to_list() == ["H2"]  # H2 had no member yet on D1


# ------------------------------------------------------------------ the writer
def test_a_failed_write_beside_the_next_step_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stg = tmp_path / "staging"
    folder = stg / "stg_villages" / "delivery_date=2015-03-01"
    folder.mkdir(parents=True)
    schema = staging_schema("villages")
    pl.DataFrame(
        [
            {
                "village_code": "520102001201",
                "updated_at": STAMPS[0],
                "_delivery_date": DATES[0],
                "_file_name": "v.csv",
                "_row_number": 1,
            }
        ],
        schema=schema,
    ).write_parquet(folder / "part.parquet")
    written = pl.DataFrame.write_parquet

    def full(self: pl.DataFrame, path: object, *args: object, **kwargs: object) -> None:
        if "members_current" in str(path):
            raise OSError(28, "No space left on device", str(path))
        written(self, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    with pytest.raises(OSError, match="No space left"):
        transforms.build.build_core(stg, tmp_path / "out")
