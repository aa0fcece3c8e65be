"""Discovery of a delivery folder: every entry gets a ledger row, held ones with a reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pytest

from pipeline import landing
from pipeline.landing import discover, late_files

D = dt.date(2015, 3, 1)
HEADER = "village_code,village_name\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    f = tmp_path / "landing" / D.isoformat()
    f.mkdir(parents=True)
    return f


def _by_name(entries):
    return {e.file_name: e for e in entries}


def test_missing_folder_is_an_empty_delivery(tmp_path: Path) -> None:
    assert discover(tmp_path, D) == []


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("villages_510121.csv", HEADER, None),  # valid name
        ("households_510121_part2.csv", HEADER, None),  # free suffix after the source
        ("targets_national.xlsx", "x", None),  # national source
        ("villages_51012.csv", HEADER, "file_name_invalid"),  # 5-digit source
        ("people_510121.csv", HEADER, "file_name_invalid"),  # unknown entity
        ("villages_510121.txt", HEADER, "file_name_invalid"),  # unknown extension
        ("villages_510121.csv", "", "file_empty"),  # zero-byte
    ],
    ids=["valid", "suffix", "national", "bad-source", "bad-entity", "bad-ext", "zero-byte"],
)
def test_file_names_and_empty_files(
    folder: Path, name: str, content: str, reason: str | None
) -> None:
    (folder / name).write_text(content)
    (entry,) = discover(folder.parent, D)
    assert entry.reason == reason
    assert entry.outcome == ("pending" if reason is None else "held")


def test_symlink_outside_the_folder_is_held(folder: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside.csv"
    secret.write_text(HEADER)
    os.symlink(secret, folder / "villages_510121.csv")
    (entry,) = discover(folder.parent, D)
    assert (entry.outcome, entry.reason) == ("held", "path_outside_landing")


def test_each_file_gets_its_own_digest_and_an_unreadable_one_is_held(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files are hashed in parallel: each digest lands on its own file's entry.
    contents = {
        f"villages_5101{i:02d}.csv": HEADER + f"5101{i:02d}001,v{i}\n" * i for i in range(12)
    }
    for name, text in contents.items():
        (folder / name).write_text(text)
    unreadable = "villages_510105.csv"
    real = landing.sha256_of

    def sha256_of(path: Path) -> str:
        if path.name == unreadable:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(landing, "sha256_of", sha256_of)
    found = _by_name(discover(folder.parent, D))
    assert set(found) == set(contents)
    assert found[unreadable].outcome == "held"
    assert found[unreadable].reason == "file_unreadable"
    assert "Permission denied" in (found[unreadable].detail or "")
    for name, text in contents.items():
        if name != unreadable:
            assert found[name].outcome == "pending", name
            assert found[name].sha256 == hashlib.sha256(text.encode()).hexdigest(), name


def test_manifest_checks(folder: Path) -> None:
    good = folder / "villages_510121.csv"
    good.write_text(HEADER + "1,a\n")
    bad = folder / "villages_510122.csv"
    bad.write_text(HEADER + "1,a\n")
    manifest = {
        "files": [
            {"name": good.name, "sha256": hashlib.sha256(good.read_bytes()).hexdigest(), "rows": 1},
            {"name": bad.name, "sha256": "0" * 64, "rows": 1},
            {"name": "villages_510123.csv", "sha256": "0" * 64, "rows": 1},
            {"name": "../villages_510124.csv", "sha256": "0" * 64, "rows": 1},
        ]
    }
    (folder / "_manifest.json").write_text(json.dumps(manifest))
    got = {n: (e.outcome, e.reason) for n, e in _by_name(discover(folder.parent, D)).items()}
    assert got == {
        good.name: ("pending", None),
        bad.name: ("held", "manifest_checksum_mismatch"),
        "villages_510123.csv": ("held", "manifest_missing_file"),
        "../villages_510124.csv": ("held", "path_outside_landing"),
    }
    assert _by_name(discover(folder.parent, D))[good.name].manifest_rows == 1


def test_invalid_manifest_holds_the_delivery(folder: Path) -> None:
    (folder / "villages_510121.csv").write_text(HEADER)
    (folder / "_manifest.json").write_text("{not json")
    (entry,) = discover(folder.parent, D)
    assert (entry.outcome, entry.reason) == ("held", "manifest_invalid")


def test_late_files_are_listed(folder: Path) -> None:
    (folder / "villages_510121.csv").write_text(HEADER)
    (folder / "villages_510122.csv").write_text(HEADER)
    seen = {D.isoformat(): {"villages_510121.csv": len(HEADER)}}
    late = late_files(folder.parent, seen, D + dt.timedelta(days=1))
    assert [(e.file_name, e.reason) for e in late] == [("villages_510122.csv", "late_file")]
    assert late_files(folder.parent, seen, D) == [], "the date being run is not late"
