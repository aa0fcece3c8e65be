"""The parts of a delivery (pipeline/parts.py): the plan, file ownership, and merging the
parts' results into the entity's."""

from __future__ import annotations

from pathlib import Path

import pytest

import settings
from pipeline import parts


def _file(name: str, size: int = 100, outcome: str = "pending") -> dict:
    entity, source = name.split("_")[:2]
    return {
        "file_name": name,
        "entity": entity,
        "source": source.split(".")[0],
        "size_bytes": size,
        "outcome": outcome,
    }


LEDGER = [
    _file("households_110101.csv", 600),
    _file("households_520121.csv", 500),
    _file("households_520122.xlsx", 100),
    _file("households_national.csv", 50),
    _file("members_430121.csv", 900),
    _file("members_520121.csv", 900, outcome="held"),
    _file("targets_national.csv", 10),
]


def test_plan_splits_only_large_entities_of_several_provinces() -> None:
    # Heaviest first (households 1,250 bytes, members 900: the held file does not count,
    # targets 10), parts of equal weight in the order of the entities.
    assert parts.plan(LEDGER, None) == [
        "households",
        "members",
        "targets",
        "villages",
        "assistance",
    ]
    # households weigh 1,250 bytes from provinces 11 (600), 52 (600) and the nation (00,
    # 50); members' only pending file is from one province, so it stays whole whatever its
    # size.
    assert parts.plan(LEDGER, 1000) == [
        "members",
        "households.11",
        "households.52",
        "households.00",
        "targets",
        "villages",
        "assistance",
    ]
    assert parts.plan(LEDGER, 1250) == parts.plan(LEDGER, None)
    assert parts.plan(LEDGER, 0) == parts.plan(LEDGER, 1000)
    # Whatever the order of the plan, an entity's provinces come sorted.
    assert parts.provinces(parts.plan(LEDGER, 0), "households") == ["00", "11", "52"]


@pytest.mark.parametrize(
    ("part", "expected"),
    [("members", ("members", None)), ("members.52", ("members", "52"))],
)
def test_split_reads_a_part(part: str, expected: tuple) -> None:
    assert parts.split(part) == expected
    assert parts.name(*expected) == part


@pytest.mark.parametrize("bad", ["people", "members.5", "members.520", "members.xx", ""])
def test_split_refuses_what_is_not_a_part(bad: str) -> None:
    with pytest.raises(ValueError, match="not a part of a delivery"):
        parts.split(bad)


@pytest.mark.parametrize(
    ("name", "province"),
    [
        ("members_520121.csv.00000.parquet", "52"),
        ("members_520122_part1.xlsx.typing.00003.parquet", "52"),
        ("members_national.csv.00000.parquet", "00"),
        ("_batch43_0001.00002.parquet", "43"),
        ("_batch43_0001.typing.00000.parquet", "43"),
        ("_batch43_0001.00002.parquet.tmp", "43"),
        ("validation.11.parquet", "11"),
        # Written by a whole entity: no province's.
        ("_batch0000.00000.parquet", None),
        ("_batch0043.typing.00000.parquet", None),
        ("validation.parquet", None),
        # Another entity's name is not this entity's file.
        ("households_520121.csv.00000.parquet", None),
    ],
)
def test_owner_of_staging_files(name: str, province: str | None) -> None:
    assert parts.owner(name, "members") == province


def test_clear_deletes_own_and_orphaned_files_only(tmp_path: Path) -> None:
    names = [
        "members_430121.csv.00000.parquet",
        "_batch43_0000.00000.parquet",
        "members_520121.csv.00000.parquet",
        "_batch52_0000.00000.parquet",
        "validation.52.parquet",
        "_batch0000.00000.parquet",  # a whole entity's, from an earlier plan
        "validation.parquet",
        "members_110101.csv.00000.parquet",  # a province the plan no longer has
    ]
    for n in names:
        (tmp_path / n).write_text("x")
    parts.clear([tmp_path, tmp_path / "absent"], "members", "43", ["43", "52"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["members_520121.csv.00000.parquet", "_batch52_0000.00000.parquet", "validation.52.parquet"]
    )
    left = sorted(tmp_path.iterdir())
    assert [p for p in left if parts.owner(p.name, "members") == "52"] == left


def _result(rule: str, evaluated: int, failed: int, keys: list[str]) -> dict:
    return {
        "suite": "households",
        "suite_version": "1",
        "expectation": rule,
        "severity": "error",
        "evaluated": evaluated,
        "failed": failed,
        "sample_keys": keys,
    }


def _summary(results: list[dict], held: list[str], errors: int, warned: int) -> dict:
    return {
        "entity": "households",
        "rows_in_error": errors,
        "rows_warned": warned,
        "held_files": [
            {"file_name": h, "reason": "file_mostly_invalid", "detail": "d"} for h in held
        ],
        "results": results,
    }


def test_merge_validated_adds_counts_and_keeps_the_first_keys_in_file_order() -> None:
    # The national part (province 00) comes last in file order: "national" sorts after
    # every county code.
    national = _summary([_result("a", 5, 1, ["N1"]), _result("b", 5, 0, [])], [], 1, 0)
    p52 = _summary(
        [_result("a", 10, 4, ["K1", "K2", "K3", "K4"]), _result("b", 10, 2, ["K9", "K8"])],
        ["households_520122.csv"],
        6,
        1,
    )
    p11 = _summary(
        [_result("a", 7, 3, ["K0", "K1", "K5"]), _result("b", 7, 0, [])],
        ["households_110101.csv"],
        3,
        2,
    )
    merged = parts.merge_validated(
        "households",
        [
            ("households_national.csv", national),
            ("households_520121.csv", p52),
            ("households_110101.csv", p11),
        ],
    )
    assert merged["rows_in_error"] == 10 and merged["rows_warned"] == 3
    assert [h["file_name"] for h in merged["held_files"]] == [
        "households_110101.csv",
        "households_520122.csv",
    ]
    a, b = merged["results"]
    assert (a["expectation"], a["evaluated"], a["failed"]) == ("a", 22, 8)
    # Province 11's keys, then 52's not seen yet, up to five.
    assert a["sample_keys"] == ["K0", "K1", "K5", "K2", "K3"]
    assert (b["evaluated"], b["failed"], b["sample_keys"]) == (22, 2, ["K9", "K8"])
    # The parts' own summaries are left as they were.
    assert p11["results"][0]["sample_keys"] == ["K0", "K1", "K5"]


def test_merge_ingested_is_in_file_name_order() -> None:
    merged = parts.merge_ingested(
        [[{"file_name": "members_520121.csv"}], [{"file_name": "members_430121.csv"}]]
    )
    assert [f["file_name"] for f in merged] == ["members_430121.csv", "members_520121.csv"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("", None), ("0", 0), ("0.5", 1 << 19), ("1024", 1 << 30)]
)
def test_split_setting(raw: str, expected: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POVDB_SPLIT_MB", raw)
    assert settings.split_bytes() == expected


@pytest.mark.parametrize("raw", ["-1", "lots", "nan", "inf"])
def test_split_setting_refuses_nonsense(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POVDB_SPLIT_MB", raw)
    with pytest.raises(ValueError, match="POVDB_SPLIT_MB must be a number of MB"):
        settings.split_bytes()


def test_the_cluster_splits_large_deliveries_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kw = {"db_url": "postgresql://x", "broker_url": "redis://y", "api_port": 1}
    kw |= {"jwt_secret": "j", "fernet_key": "f"}
    monkeypatch.delenv("POVDB_SPLIT_MB", raising=False)
    assert settings.cluster_airflow_env(**kw)["POVDB_SPLIT_MB"] == "1024"
    monkeypatch.setenv("POVDB_SPLIT_MB", "0.1")
    assert settings.cluster_airflow_env(**kw)["POVDB_SPLIT_MB"] == "0.1"
