"""Mart SQL files: one per mart, a grain line, every mart it reads declared, no cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.loader import MARTS, mart_order


def _marts(folder: Path, files: dict[str, str]) -> Path:
    for name, sql in files.items():
        (folder / f"{name}.sql").write_text(sql)
    return folder


def _mart(name: str, *, reads: str = "core.targets", header: str = "") -> str:
    return (
        f"-- Grain: one row per thing.\n{header}"
        f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM {reads};\n"
        f"COMMENT ON TABLE marts.{name} IS 'Grain: one row per thing.';\n"
    )


def test_the_repository_marts_are_well_formed() -> None:
    order = [m.name for m in mart_order()]
    assert sorted(order) == sorted(p.stem for p in MARTS.glob("*.sql"))
    assert order.index("effective_targets") < order.index("target_progress")
    assert order.index("effective_targets") < order.index("programme_coverage")
    assert order.index("poverty_stock") < order.index("village_exit_readiness")
    assert order.index("village_exit_readiness") < order.index("county_exit_readiness")


def test_dependencies_come_first_whatever_the_file_names(tmp_path: Path) -> None:
    folder = _marts(
        tmp_path,
        {
            "a_top": _mart(
                "a_top", reads="marts.m_middle", header="-- depends on: marts.m_middle\n"
            ),
            "m_middle": _mart(
                "m_middle", reads="marts.z_base", header="-- depends on: marts.z_base\n"
            ),
            "z_base": _mart("z_base"),
        },
    )
    assert [m.name for m in mart_order(folder)] == ["z_base", "m_middle", "a_top"]


def test_marts_named_in_comments_and_strings_are_not_dependencies(tmp_path: Path) -> None:
    sql = _mart("b", header="-- Unlike marts.a, it reads core only.\n") + (
        "COMMENT ON COLUMN marts.b.year IS 'The year of marts.a''s target.';\n"
    )
    folder = _marts(tmp_path, {"a": _mart("a"), "b": sql})
    assert [m.depends_on for m in mart_order(folder)] == [frozenset(), frozenset()]


def test_a_file_without_a_grain_line_fails(tmp_path: Path) -> None:
    folder = _marts(tmp_path, {"a": _mart("a").replace("-- Grain: one row per thing.\n", "")})
    with pytest.raises(ValueError, match=r"a\.sql: no '-- Grain: ' line"):
        mart_order(folder)


def test_an_undeclared_dependency_fails(tmp_path: Path) -> None:
    folder = _marts(tmp_path, {"a": _mart("a"), "b": _mart("b", reads="marts.a")})
    with pytest.raises(ValueError, match=r"b\.sql: reads marts\.a but does not declare it"):
        mart_order(folder)


def test_a_dependency_without_a_file_fails(tmp_path: Path) -> None:
    folder = _marts(tmp_path, {"b": _mart("b", reads="marts.a", header="-- depends on: marts.a\n")})
    with pytest.raises(ValueError, match=r"b\.sql: depends on marts\.a, which no file"):
        mart_order(folder)


def test_a_declared_dependency_that_is_not_read_fails(tmp_path: Path) -> None:
    folder = _marts(tmp_path, {"a": _mart("a"), "b": _mart("b", header="-- depends on: marts.a\n")})
    with pytest.raises(ValueError, match=r"b\.sql: declares marts\.a but does not read it"):
        mart_order(folder)


def test_a_file_that_builds_another_mart_fails(tmp_path: Path) -> None:
    folder = _marts(tmp_path, {"a": _mart("b")})
    with pytest.raises(ValueError, match=r"a\.sql: does not CREATE OR REPLACE marts\.a"):
        mart_order(folder)


def test_a_cycle_fails_naming_its_files(tmp_path: Path) -> None:
    folder = _marts(
        tmp_path,
        {
            "a": _mart("a", reads="marts.b", header="-- depends on: marts.b\n"),
            "b": _mart("b", reads="marts.c", header="-- depends on: marts.c\n"),
            "c": _mart("c", reads="marts.a", header="-- depends on: marts.a\n"),
            "d": _mart("d"),
        },
    )
    with pytest.raises(ValueError, match="cycle") as raised:
        mart_order(folder)
    assert {"a.sql", "b.sql", "c.sql"} <= set(str(raised.value).replace(":", " ").split())
    assert "d.sql" not in str(raised.value)
