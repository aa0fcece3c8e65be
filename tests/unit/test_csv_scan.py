"""The batched DuckDB scan of UTF-8 CSV files stages exactly what the per-file reader
stages: the same ledger results, typed rows, held rows and reasons, row numbers included;
and every file it cannot vouch for goes to the per-file reader."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ingest_diff import assert_same_ingest, scanned_files, stage

from generator import generate
from ingest import csv_scan
from ingest.csv_scan import CsvFile, probe

FILES = Path(__file__).resolve().parents[1] / "fixtures" / "files"
ENTITIES = ("villages", "households", "members", "assistance", "targets")
# Fixture files the scan stages itself; every other fixture goes to the per-file reader.
SCANNED_FIXTURES = {
    "villages": {
        "villages_missing_optional_columns.csv",
        "villages_tab_separated.csv",
        "villages_utf8_bom.csv",
        "villages_crlf_line_endings.csv",
    },
    "households": {
        "households_utf8_english_headers.csv",
        "households_header_only.csv",
        "households_stray_quote_in_unquoted_field.csv",  # legal: a quote inside a value
    },
}


def _manifest(day: Path) -> dict[str, int]:
    path = day / "_manifest.json"
    if not path.exists():
        return {}
    return {f["name"]: f["rows"] for f in json.loads(path.read_text())["files"]}


@pytest.mark.parametrize("entity", ["villages", "households", "assistance"])
def test_fixture_corpus_in_one_scan(entity: str, tmp_path: Path) -> None:
    """Every fixture file of the entity in one batch, good and bad mixed: a bad file's rows
    are taken out of what the batch wrote, and its reason is the per-file reader's."""
    files = sorted(FILES.glob(f"{entity}_*"))
    results = assert_same_ingest(files, entity, tmp_path)
    assert {r["file_name"] for r in results} == {f.name for f in files}
    assert scanned_files(tmp_path / "scan") == SCANNED_FIXTURES.get(entity, set()) - {
        "households_header_only.csv"  # no rows to write
    }


@pytest.mark.parametrize("name", sorted(p.name for p in FILES.iterdir()))
def test_each_fixture_alone(name: str, tmp_path: Path) -> None:
    path = FILES / name
    entity = name.split("_")[0]
    assert_same_ingest([path], entity, tmp_path)
    expected = name in SCANNED_FIXTURES.get(entity, set()) and name != "households_header_only.csv"
    assert (name in scanned_files(tmp_path / "scan")) == expected


@pytest.fixture(scope="module")
def defect_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scan-defects")
    generate(
        root / "landing",
        scale="demo",
        start=dt.date(2015, 3, 1),
        days=3,
        seed=23,
        defects=0.02,
        formats="csv",
    )
    return root / "landing"


@pytest.mark.parametrize(
    ("batch_bytes", "slice_rows"),
    [(None, None), (1, 1_000), (40_000, 777)],
    ids=["default", "file-per-batch", "small-slices"],
)
def test_generated_county_with_defects(
    defect_landing: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    batch_bytes: int | None,
    slice_rows: int | None,
) -> None:
    """Three days of a demo registry with 2 % planted defects, CSV only: identical staging,
    whatever the batch and slice sizes (slices that cut files, batches of one file)."""
    if batch_bytes is not None:
        monkeypatch.setattr(csv_scan, "BATCH_BYTES", batch_bytes)
    if slice_rows is not None:
        monkeypatch.setattr(csv_scan, "SLICE_ROWS", slice_rows)
    scanned = 0
    for day in sorted(defect_landing.iterdir()):
        for entity in ENTITIES:
            files = sorted(day.glob(f"{entity}_*"))
            if not files:
                continue
            out = tmp_path / day.name / entity
            assert_same_ingest(files, entity, out, manifest=_manifest(day))
            scanned += len(scanned_files(out / "scan"))
    assert scanned >= 20  # most clean files went through the scan


def test_generated_county_scale_with_defects(tmp_path: Path) -> None:
    """A county of 20,000 households over two days with 2 % planted defects (about 1,800
    of them): the scan and the per-file reader stage the same rows, reasons and details."""
    landing = tmp_path / "landing"
    summary = generate(
        landing,
        scale="county",
        start=dt.date(2015, 3, 1),
        days=2,
        seed=29,
        defects=0.02,
        formats="csv",
    )
    assert summary.defects > 1000
    scanned = 0
    for day in sorted(landing.iterdir()):
        for entity in ENTITIES:
            files = sorted(day.glob(f"{entity}_*"))
            if files:
                out = tmp_path / "out" / day.name / entity
                assert_same_ingest(files, entity, out, manifest=_manifest(day))
                scanned += len(scanned_files(out / "scan"))
    assert scanned >= 5


def _copy(name: str, tmp_path: Path, data: bytes | None = None) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir(exist_ok=True)
    path = folder / name
    if data is None:
        shutil.copy(FILES / "villages_utf8_bom.csv", path)
    else:
        path.write_bytes(data)
    return path


HEADER = (
    "village_code,village_name,is_poor_village,rural_population,has_ecommerce_station,updated_at\n"
)
ROW = "510121001001,村{},true,{},false,2015-03-01T08:00:00+08:00\n"


def _villages(rows: int) -> str:
    return HEADER + "".join(ROW.format(i, 100 + i) for i in range(rows))


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("nul byte", _villages(3).replace("村1", "村\x001").encode()),
        ("lone carriage return", _villages(3).replace("村1", "村\r1").encode()),
        ("blank line", (_villages(2) + "\n" + ROW.format(9, 9)).encode()),
        ("quoted header", ('"village_code"' + _villages(2)[12:]).encode()),
    ],
)
def test_what_the_probe_leaves_to_the_judge(label: str, data: bytes, tmp_path: Path) -> None:
    path = _copy("villages_510121.csv", tmp_path, data)
    assert probe(CsvFile(path, "510121", None), "villages") is None, label
    assert_same_ingest([path], "villages", tmp_path / "out")
    assert not scanned_files(tmp_path / "out" / "scan")


def test_what_duckdb_rejects_goes_to_the_judge(tmp_path: Path) -> None:
    """A GBK file with an English header passes the probe; DuckDB's UTF-8 read rejects
    its lines, and the per-file reader transcodes it."""
    gbk = _copy("villages_510121.csv", tmp_path, _villages(2).encode("gbk"))
    short = _copy("villages_510122.csv", tmp_path, (_villages(2) + "510121001009,x\n").encode())
    clean = _copy("villages_510123.csv", tmp_path, _villages(2).encode())
    for path in (gbk, short, clean):
        assert probe(CsvFile(path, path.stem[-6:], None), "villages") is not None
    results = assert_same_ingest([gbk, short, clean], "villages", tmp_path / "out")
    assert [(r["outcome"], r["encoding"]) for r in results] == [
        ("loaded", "gbk"),
        ("held", None),
        ("loaded", "utf-8"),
    ]
    assert scanned_files(tmp_path / "out" / "scan") == {clean.name}


def test_clean_file_is_scanned_without_a_trailing_line_feed(tmp_path: Path) -> None:
    path = _copy("villages_510121.csv", tmp_path, _villages(4).rstrip("\n").encode())
    results = assert_same_ingest([path], "villages", tmp_path / "out")
    assert results[0]["rows"] == 4
    assert scanned_files(tmp_path / "out" / "scan") == {path.name}


def test_quoted_line_feeds_are_counted(tmp_path: Path) -> None:
    body = _villages(3).replace("村1,", '"村\n\n1",')
    path = _copy("villages_510121.csv", tmp_path, body.encode())
    p = probe(CsvFile(path, "510121", None), "villages")
    assert p is None  # two line feeds in a row look like a blank line: the judge reads it
    path.write_bytes(_villages(3).replace("村1,", '"村\n1",').encode())
    results = assert_same_ingest([path], "villages", tmp_path / "out")
    assert results[0]["rows"] == 3
    assert scanned_files(tmp_path / "out" / "scan") == {path.name}


def test_a_count_that_disagrees_sends_the_file_to_the_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard against a row DuckDB would lose silently: when the line feeds do not
    account for the rows read, the file is read again by the per-file reader."""
    good = _copy("villages_510121.csv", tmp_path, _villages(3).encode())
    other = _copy("villages_510122.csv", tmp_path, _villages(5).encode())
    real = csv_scan.probe

    def miscounted(file: CsvFile, entity: str) -> csv_scan.Probe | None:
        p = real(file, entity)
        if p is not None and file.path == other:
            p.line_feeds += 1
        return p

    monkeypatch.setattr(csv_scan, "probe", miscounted)
    results, staged, _ = stage([good, other], "villages", tmp_path / "out", scan=True)
    assert scanned_files(tmp_path / "out") == {good.name}
    assert [r["rows"] for r in results] == [3, 5]
    assert staged is not None
    assert staged.group_by("_file_name").len().sort("_file_name").rows() == [
        (good.name, 3),
        (other.name, 5),
    ]


def test_manifest_mismatch_is_judged(tmp_path: Path) -> None:
    path = _copy("villages_510121.csv", tmp_path, _villages(3).encode())
    results = assert_same_ingest([path], "villages", tmp_path / "out", manifest={path.name: 4})
    assert results[0]["outcome"] == "held"
    assert results[0]["reason"] == "manifest_row_count_mismatch"
    assert not (tmp_path / "out" / "scan" / "stg").exists() or not any(
        (tmp_path / "out" / "scan" / "stg").glob("*.parquet")
    )


@pytest.mark.parametrize(("setting", "batched"), [(None, True), ("0", False), ("no", False)])
def test_the_ingest_step_takes_the_scan_unless_told_not_to(
    setting: str | None,
    batched: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline import steps
    from pipeline.context import RunContext

    if setting is None:
        monkeypatch.delenv("POVDB_INGEST_SCAN", raising=False)
    else:
        monkeypatch.setenv("POVDB_INGEST_SCAN", setting)
    day = dt.date(2015, 3, 1)
    shutil.copytree(
        FILES.parents[0] / "landing_tiny" / day.isoformat(), tmp_path / "landing" / day.isoformat()
    )
    ctx = RunContext.local(day, tmp_path)
    assert steps.acquire_lock(ctx)
    try:
        steps.discover(ctx)
        result = steps.ingest(ctx, "households")
    finally:
        steps.release_lock(ctx)
    assert result["rows"] > 0 and result["held_files"] == 0
    parts = sorted(p.name for p in ctx.partition("stg", "households").glob("*.parquet"))
    assert parts and all(p.startswith("_batch") == batched for p in parts)


def test_a_bad_scan_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import settings

    monkeypatch.setenv("POVDB_INGEST_SCAN", "maybe")
    with pytest.raises(ValueError, match="POVDB_INGEST_SCAN must be"):
        settings.ingest_scan()


# Bytes a CSV block is made of, line ends and quotes over-represented.
BLOCK_BYTES = st.lists(
    st.sampled_from([b"a", b",", b'"', b"\n", b"\r\n", b"\r", b"\n\n", b"\n\r\n", b"\xe6\x9d\x91"]),
    max_size=60,
).map(b"".join)


@given(BLOCK_BYTES)
def test_the_probe_counts_line_feeds_and_finds_blank_lines_as_bytes_do(block: bytes) -> None:
    """The probe's NumPy look at a block agrees with the plain byte searches it stands for:
    the line feeds are counted, and a blank line is ``\\n\\n`` or (in a block with carriage
    returns) ``\\n\\r\\n``."""
    feeds = csv_scan._line_feeds(block)
    assert feeds.size == block.count(b"\n")
    assert all(block[i] == 0x0A for i in feeds)
    crlf = b"\r" in block
    expected = b"\n\n" in block or (crlf and b"\n\r\n" in block)
    assert csv_scan._blank_line(block, feeds, crlf) == expected


def test_files_are_probed_side_by_side_and_reported_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """probe_all gives each file's probe in the files' order, None where the probe leaves
    the file to the judge, and looks at several files at once."""
    bodies = [_villages(3), _villages(2) + "\n" + ROW.format(9, 9), _villages(5).rstrip("\n")]
    files = [
        CsvFile(_copy(f"villages_51012{i}.csv", tmp_path, b.encode()), f"51012{i}", None)
        for i, b in enumerate(bodies)
    ]
    monkeypatch.setattr(csv_scan.os, "cpu_count", lambda: 2)
    threads: set[str] = set()
    real = csv_scan.probe

    def recording(f: CsvFile, entity: str) -> csv_scan.Probe | None:
        threads.add(threading.current_thread().name)
        return real(f, entity)

    monkeypatch.setattr(csv_scan, "probe", recording)
    probes = csv_scan.probe_all(files, "villages")
    assert [p and p.file for p in probes] == [files[0], None, files[2]]
    assert [p and (p.line_feeds, p.ends_with_line_feed) for p in probes] == [
        (4, True),
        None,
        (5, False),
    ]
    assert threading.main_thread().name not in threads
