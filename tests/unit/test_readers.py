"""Reading delivered files: every format and defect, nothing lost, whole files held with a reason."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from contract.idcard import make_id
from contract.landing import CONTRACT, CSV_DELIMITERS, CSV_ENCODINGS
from contract.reasons import CATALOGUE
from ingest.readers import (
    FileHeld,
    ReadResult,
    count_data_rows,
    csv_reader,
    iter_delivery_file,
    read_delivery_file,
)

FILES = Path(__file__).resolve().parents[1] / "fixtures" / "files"
PERSON = make_id("510121", dt.date(1980, 5, 17), 123)
OTHER = make_id("510121", dt.date(1982, 2, 3), 246)


def fixture(name: str) -> Path:
    path = FILES / name
    assert path.is_file(), f"fixture {name} is missing"
    return path


def contract_columns(entity: str) -> list[str]:
    return [*CONTRACT[entity].column_names, "_row_number"]


def assert_string_frame(result: ReadResult, entity: str) -> None:
    assert result.frame.columns == contract_columns(entity)
    for name, dtype in result.frame.schema.items():
        assert dtype == (pl.Int64 if name == "_row_number" else pl.String), name
    assert result.frame["_row_number"].to_list() == list(range(1, result.frame.height + 1))


def concat_chunks(
    path: Path, entity: str, chunk_rows: int
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    parts = list(iter_delivery_file(path, entity, chunk_rows=chunk_rows))
    assert all(p.frame.height <= chunk_rows for p in parts)
    frame = pl.concat([p.frame for p in parts])
    findings = pl.concat([p.cell_findings for p in parts])
    return frame, findings, len(parts)


# --------------------------------------------------------------------------------------
# CSV deliveries that read


@pytest.mark.parametrize(
    ("name", "entity", "encoding", "delimiter", "rows"),
    [
        pytest.param(
            "households_gbk_chinese_headers.csv",
            "households",
            "gbk",
            ",",
            2,
            id="gbk-chinese-headers-crlf",
        ),
        pytest.param(
            "households_utf8_english_headers.csv", "households", "utf-8", ",", 3, id="utf8-english"
        ),
        pytest.param("villages_utf8_bom.csv", "villages", "utf-8-sig", ",", 2, id="utf8-bom"),
        pytest.param(
            "villages_tab_separated.csv", "villages", "utf-8", "\t", 2, id="tab-separated"
        ),
        pytest.param("villages_crlf_line_endings.csv", "villages", "utf-8", ",", 2, id="crlf"),
        pytest.param(
            "villages_blank_lines_between_rows.csv",
            "villages",
            "utf-8",
            ",",
            2,
            id="blank-lines-skipped",
        ),
        pytest.param(
            "assistance_quoted_newlines_and_commas.csv",
            "assistance",
            "utf-8",
            ",",
            3,
            id="quoted-newlines",
        ),
        pytest.param(
            "households_header_only.csv", "households", "utf-8", ",", 0, id="header-only-is-empty"
        ),
        pytest.param(
            "villages_missing_optional_columns.csv",
            "villages",
            "utf-8",
            ",",
            1,
            id="optional-absent",
        ),
        pytest.param(
            "households_stray_quote_in_unquoted_field.csv",
            "households",
            "utf-8",
            ",",
            3,
            id="stray-quote",
        ),
    ],
)
def test_csv_reads_as_strings(
    name: str, entity: str, encoding: str, delimiter: str, rows: int
) -> None:
    path = fixture(name)
    result = read_delivery_file(path, entity)
    assert (result.format, result.encoding, result.delimiter) == ("csv", encoding, delimiter)
    assert_string_frame(result, entity)
    assert result.frame.height == rows == count_data_rows(path)
    assert result.cell_findings.is_empty()


@pytest.mark.parametrize("encoding", CSV_ENCODINGS)
@pytest.mark.parametrize("delimiter", CSV_DELIMITERS)
def test_csv_reads_every_encoding_and_delimiter_of_the_contract(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    path = tmp_path / "targets_national.csv"
    lines = [["年度", "省级代码", "指标", "目标值"], ["2015", "52", "people_lifted", "13"]]
    path.write_bytes("".join(delimiter.join(r) + "\n" for r in lines).encode(encoding))
    read = read_delivery_file(path, "targets")
    assert (read.encoding, read.delimiter) == (encoding, delimiter)
    assert read.frame["target"].to_list() == ["13"]


def test_gbk_chinese_headers_in_any_order_map_to_english_names() -> None:
    result = read_delivery_file(fixture("households_gbk_chinese_headers.csv"), "households")
    got = result.frame.select(
        "household_id",
        "head_name",
        "attribute",
        "other_causes",
        "identified_on",
        "status_changed_on",
        "sells_online",
        "_row_number",
    )
    expected = pl.DataFrame(
        {
            "household_id": ["5101210010010001", "5101210010010002"],
            "head_name": ["王测试", "李测试"],
            "attribute": ["一般贫困户", "低保户"],
            "other_causes": ["因残、缺水", None],
            "identified_on": ["2015/03/01", "20150301"],
            "status_changed_on": [None, "20191201"],
            "sells_online": ["否", "是"],
            "_row_number": [1, 2],
        },
        schema_overrides={"_row_number": pl.Int64},
    )
    assert_frame_equal(got, expected)


def test_bom_is_not_part_of_the_first_header() -> None:
    result = read_delivery_file(fixture("villages_utf8_bom.csv"), "villages")
    assert result.frame["village_code"].to_list() == ["510121001001", "510121001002"]


def test_quoted_fields_keep_line_feeds_commas_and_quotes() -> None:
    path = fixture("assistance_quoted_newlines_and_commas.csv")
    result = read_delivery_file(path, "assistance")
    assert result.frame["platform"].to_list() == [
        "网店培训,第一期\n(上午)",
        None,
        'say "hi"\r\nline two\n\nline four',
    ]
    assert result.frame["amount_yuan"].to_list() == ["0", "250000.00", None]
    assert count_data_rows(path) == 3


def test_absent_optional_columns_are_added_as_null() -> None:
    result = read_delivery_file(fixture("villages_missing_optional_columns.csv"), "villages")
    optional = [c.name for c in CONTRACT["villages"].columns if not c.required]
    assert result.frame.select(optional).null_count().row(0) == (1,) * len(optional)


def test_stray_quote_inside_an_unquoted_field_is_kept_as_text() -> None:
    result = read_delivery_file(
        fixture("households_stray_quote_in_unquoted_field.csv"), "households"
    )
    assert result.frame["head_name"].to_list() == ['测试"甲', "测试乙", "测试丙"]


def test_ten_megabyte_field_reads(tmp_path: Path) -> None:
    big = "村" * (10 * 1024 * 1024 // 3 + 1)
    header = "village_code,village_name,is_poor_village,rural_population,has_ecommerce_station,updated_at\n"
    row = (
        f'510121001001,"{big}",true,100,false,2020-01-01\n510121001002,短,false,5,true,2020-01-01\n'
    )
    path = tmp_path / "villages_ten_megabyte_field.csv"
    path.write_text(header + row, encoding="utf-8")
    result = read_delivery_file(path, "villages")
    assert result.frame["village_name"].str.len_chars().to_list() == [len(big), 1]
    assert count_data_rows(path) == 2


# --------------------------------------------------------------------------------------
# CSV deliveries that are held whole


@pytest.mark.parametrize(
    ("name", "entity", "reason", "says"),
    [
        pytest.param(
            "villages_zero_byte.csv", "villages", "file_empty", "zero bytes", id="zero-byte"
        ),
        pytest.param(
            "households_truncated_last_line.csv",
            "households",
            "file_truncated",
            "line 4",
            id="truncated-last-line",
        ),
        pytest.param(
            "households_unterminated_quote_at_eof.csv",
            "households",
            "file_truncated",
            "line 4",
            id="unterminated-quote-at-eof",
        ),
        pytest.param(
            "villages_binary_garbage.csv",
            "villages",
            "file_unreadable",
            "NUL byte",
            id="binary-garbage",
        ),
        pytest.param(
            "villages_semicolon_delimiter.csv",
            "villages",
            "header_unknown_column",
            "comma or a tab",
            id="wrong-delimiter",
        ),
        pytest.param(
            "households_mixed_utf8_gbk.csv",
            "households",
            "file_unreadable",
            "mixed encodings",
            id="mixed-encodings",
        ),
        pytest.param(
            "villages_duplicate_header.csv",
            "villages",
            "header_duplicate_column",
            "village_name",
            id="duplicate-header-via-chinese-alias",
        ),
        pytest.param(
            "villages_unknown_column.csv",
            "villages",
            "header_unknown_column",
            "remarks",
            id="unknown-column",
        ),
        pytest.param(
            "villages_missing_required_column.csv",
            "villages",
            "header_missing_column",
            "rural_population",
            id="missing-required-column",
        ),
        pytest.param(
            "households_short_row_in_middle.csv",
            "households",
            "file_unreadable",
            "line 3",
            id="short-row-middle",
        ),
        pytest.param(
            "households_extra_field_in_middle.csv",
            "households",
            "file_unreadable",
            "line 3",
            id="extra-field-middle",
        ),
    ],
)
def test_csv_file_is_held(name: str, entity: str, reason: str, says: str) -> None:
    path = fixture(name)
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, entity)
    assert held.value.reason == reason
    assert CATALOGUE[reason].scope == "file"
    assert says in held.value.detail
    count_data_rows(path)  # counting never fails on a CSV, whatever its defects


def test_mixed_encodings_detail_names_the_offset_and_line() -> None:
    path = fixture("households_mixed_utf8_gbk.csv")
    data = path.read_bytes()
    third_line = data.index(b"\n", data.index(b"\n") + 1) + 1
    first_bad = next(i for i in range(third_line, len(data)) if data[i] >= 0x80)
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "households")
    assert f"byte offset {first_bad} (line 3)" in held.value.detail


def test_text_neither_utf8_nor_gbk_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "villages_undecodable.csv"
    path.write_bytes(b"village_code,village_name\n510121001001,\xff\xfe\x80\x80\n")
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "villages")
    assert held.value.reason == "file_unreadable"
    assert "nor GBK" in held.value.detail


def test_utf16_text_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "villages_utf16.csv"
    path.write_bytes("village_code,village_name\n".encode("utf-16"))
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "villages")
    assert held.value.reason == "file_unreadable"


def test_wrong_extension_is_held(tmp_path: Path) -> None:
    path = tmp_path / "villages_510121.txt"
    path.write_text("village_code\n")
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "villages")
    assert held.value.reason == "file_name_invalid"


# --------------------------------------------------------------------------------------
# chunked reading


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut CSVs into chunks of a few hundred bytes, so small files exercise the cuts."""
    monkeypatch.setattr(csv_reader, "_SCAN_BLOCK", 64)
    monkeypatch.setattr(csv_reader, "_CSV_CHUNK_BYTES", 200)


def many_rows_csv(tmp_path: Path, encoding: str, n: int = 400) -> Path:
    header = ",".join(CONTRACT["assistance"].column_names)
    lines = [header]
    for i in range(n):
        platform = (
            f'"平台{i}\n第二行, ""引号"""' if i % 7 == 0 else ("" if i % 5 == 0 else f"平台{i}")
        )
        lines.append(
            f"E{i:05d},5101210010010001,,solar_pv,{platform},2019-05-01,{i}.50,2019-05-02T10:00:00"
        )
        if i % 50 == 0:
            lines.append("")  # a blank line is not a row
    path = tmp_path / f"assistance_many_rows_{encoding}.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
@pytest.mark.parametrize("chunk_rows", [1, 7, 1000])
def test_chunked_reading_gives_the_rows_of_whole_reading(
    tmp_path: Path, tiny_chunks: None, encoding: str, chunk_rows: int
) -> None:
    path = many_rows_csv(tmp_path, encoding)
    whole = read_delivery_file(path, "assistance")
    frame, _, parts = concat_chunks(path, "assistance", chunk_rows)
    assert_frame_equal(frame, whole.frame)
    assert whole.frame.height == 400 == count_data_rows(path)
    assert parts == -(-400 // chunk_rows)
    assert whole.frame["platform"][0] == '平台0\n第二行, "引号"'


def test_tiny_chunks_agree_with_one_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = many_rows_csv(tmp_path, "utf-8")
    one_chunk = read_delivery_file(path, "assistance").frame
    monkeypatch.setattr(csv_reader, "_SCAN_BLOCK", 64)
    monkeypatch.setattr(csv_reader, "_CSV_CHUNK_BYTES", 200)
    assert_frame_equal(read_delivery_file(path, "assistance").frame, one_chunk)


@pytest.mark.parametrize(
    "name",
    [
        "households_gbk_chinese_headers.csv",
        "assistance_quoted_newlines_and_commas.csv",
        "villages_blank_lines_between_rows.csv",
        "households_stray_quote_in_unquoted_field.csv",
        "households_header_only.csv",
    ],
)
def test_fixtures_read_the_same_in_tiny_chunks(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = fixture(name)
    entity = name.split("_")[0]
    whole = read_delivery_file(path, entity).frame
    monkeypatch.setattr(csv_reader, "_SCAN_BLOCK", 16)
    monkeypatch.setattr(csv_reader, "_CSV_CHUNK_BYTES", 40)
    frame, _, _ = concat_chunks(path, entity, 1)
    assert_frame_equal(frame, whole)


def test_truncated_file_is_held_before_the_first_chunk(tmp_path: Path, tiny_chunks: None) -> None:
    path = many_rows_csv(tmp_path, "utf-8")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])
    chunks = iter_delivery_file(path, "assistance", chunk_rows=10)
    with pytest.raises(FileHeld) as held:
        next(chunks)
    assert held.value.reason == "file_truncated"


def test_bad_row_in_a_later_chunk_holds_the_file(tmp_path: Path, tiny_chunks: None) -> None:
    path = many_rows_csv(tmp_path, "utf-8")
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    lines[200] = lines[200] + ",extra"
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    physical_line = "\r\n".join(lines[:200]).count("\n") + 2  # quoted fields hold line feeds too
    chunks = iter_delivery_file(path, "assistance", chunk_rows=10)
    assert next(chunks).frame.height == 10  # the first chunks are fine ...
    with pytest.raises(FileHeld) as held:
        list(chunks)  # ... but the file is held all the same
    assert held.value.reason == "file_unreadable"
    assert f"line {physical_line} " in held.value.detail


def test_header_only_file_yields_one_empty_chunk() -> None:
    parts = list(iter_delivery_file(fixture("households_header_only.csv"), "households"))
    assert len(parts) == 1
    assert parts[0].frame.height == 0
    assert parts[0].frame.columns == contract_columns("households")


# --------------------------------------------------------------------------------------
# xlsx


def write_xlsx(
    path: Path, header: list[str], rows: list[list[object]], *, kinds: dict[int, str] | None = None
) -> Path:
    """Write a sheet; ``kinds`` marks columns written as numbers ("n"), dates ("d"),
    datetimes ("t"), booleans ("b") or formulas ("f"); the rest are text cells."""
    import xlsxwriter

    kinds = kinds or {}
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("data")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    time_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for j, h in enumerate(header):
        ws.write_string(0, j, h)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if value is None:
                continue
            kind = kinds.get(j, "s") if not isinstance(value, tuple) else value[0]
            value = value[1] if isinstance(value, tuple) else value
            if kind == "n":
                ws.write_number(i, j, value)
            elif kind == "d":
                ws.write_datetime(i, j, value, date_fmt)
            elif kind == "t":
                ws.write_datetime(i, j, value, time_fmt)
            elif kind == "b":
                ws.write_boolean(i, j, value)
            elif kind == "f":
                ws.write_formula(i, j, value)
            else:
                ws.write_string(i, j, str(value))
    wb.close()
    return path


MEMBER_HEADER = list(CONTRACT["members"].column_names)


def member_row(person: str, **cells: object) -> list[object]:
    row: dict[str, object] = {
        "id_number": person,
        "household_id": "5101210010010001",
        "name": "测试甲",
        "relation": "户主",
        "sex": "男",
        "birth_date": "1980-05-17",
        "education": "初中",
        "in_school": "否",
        "health": "健康",
        "labour": "普通劳动力",
        "medical_insured": "是",
        "member_status": "在册",
        "updated_at": "2020-01-01T08:00:00+08:00",
    }
    row.update(cells)
    return [row[c] for c in MEMBER_HEADER]


def test_xlsx_cells_read_as_text_by_type(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "members_510121.xlsx",
        MEMBER_HEADER,
        [
            member_row(PERSON),
            member_row(
                OTHER,
                name="=HYPERLINK(1)",
                birth_date=("d", dt.datetime(1982, 2, 3)),
                in_school=("b", False),
                medical_insured=("b", True),
                updated_at=("t", dt.datetime(2020, 1, 1, 8, 30, 5)),
            ),
            member_row(
                make_id("510121", dt.date(1990, 1, 1), 11),
                name=("f", "=1+1"),
                household_id="5101210010010002",
            ),
            [None] * len(MEMBER_HEADER),
            [None] * len(MEMBER_HEADER),
        ],
    )
    result = read_delivery_file(path, "members")
    assert (result.format, result.encoding, result.delimiter) == ("xlsx", None, None)
    assert_string_frame(result, "members")
    assert result.frame.height == 3 == count_data_rows(path)
    assert result.cell_findings.is_empty()
    got = result.frame.select(
        "id_number", "name", "birth_date", "in_school", "medical_insured", "updated_at"
    )
    expected = pl.DataFrame(
        {
            "id_number": [PERSON, OTHER, make_id("510121", dt.date(1990, 1, 1), 11)],
            "name": ["测试甲", "=HYPERLINK(1)", "=1+1"],
            "birth_date": ["1980-05-17", "1982-02-03", "1980-05-17"],
            "in_school": ["否", "false", "否"],
            "medical_insured": ["是", "true", "是"],
            "updated_at": [
                "2020-01-01T08:00:00+08:00",
                "2020-01-01T08:30:05",
                "2020-01-01T08:00:00+08:00",
            ],
        }
    )
    assert_frame_equal(got, expected)


def test_xlsx_numeric_id_cell_is_a_row_finding(tmp_path: Path) -> None:
    numeric = 510121198005171234
    path = write_xlsx(
        tmp_path / "members_510121.xlsx",
        MEMBER_HEADER,
        [
            member_row(PERSON),
            member_row(("n", numeric)),
            member_row(OTHER, household_id=("n", 5101210010010001)),
        ],
    )
    result = read_delivery_file(path, "members")
    assert result.frame.height == 3
    findings = result.cell_findings.select("_row_number", "column", "reason")
    expected = pl.DataFrame(
        {
            "_row_number": [2, 3],
            "column": ["id_number", "household_id"],
            "reason": ["excel_numeric_id"] * 2,
        },
        schema_overrides={"_row_number": pl.Int64},
    )
    assert_frame_equal(findings, expected)
    # The value is still read (as Excel kept it) so the held row can be shown.
    kept = result.frame["id_number"][1]
    assert kept.isdigit() and len(kept) == 18 and kept[:15] == str(numeric)[:15]
    assert result.frame["household_id"][2] == "5101210010010001"
    assert all("15 digits" in d for d in result.cell_findings["detail"])


def test_xlsx_numeric_village_code_and_numbers_read_plain(tmp_path: Path) -> None:
    header = [
        "行政区划代码",
        "村名称",
        "是否贫困村",
        "户籍人口",
        "村集体经济收入",
        "是否有电商服务站",
        "光伏装机容量",
        "更新时间",
    ]
    rows = [[510121001001, "测试一村", "是", 1200, 35000.5, "否", 0.1, "2020-01-01T08:00:00"]]
    path = write_xlsx(
        tmp_path / "villages_510121.xlsx", header, rows, kinds={0: "n", 3: "n", 4: "n", 6: "n"}
    )
    frame = read_delivery_file(path, "villages").frame
    got = frame.select(
        "village_code", "rural_population", "collective_income_yuan", "solar_capacity_kw"
    )
    assert got.row(0) == ("510121001001", "1200", "35000.5", "0.1")


def test_xlsx_numeric_province_code_is_two_digits(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "targets_national.xlsx",
        ["year", "province_code", "metric", "target"],
        [[2020, 0, "people_lifted", 1000], [2020, 51, "people_lifted", 10]],
        kinds={0: "n", 1: "n", 3: "n"},
    )
    assert read_delivery_file(path, "targets").frame["province_code"].to_list() == ["00", "51"]


def test_xlsx_chunks_carry_their_own_findings(tmp_path: Path) -> None:
    rows = [member_row(make_id("510121", dt.date(1980, 1, 1), i)) for i in range(1, 6)]
    rows[3][0] = ("n", 510121198001010041)
    path = write_xlsx(tmp_path / "members_510121.xlsx", MEMBER_HEADER, rows)
    parts = list(iter_delivery_file(path, "members", chunk_rows=2))
    assert [p.frame.height for p in parts] == [2, 2, 1]
    assert [p.cell_findings["_row_number"].to_list() for p in parts] == [[], [4], []]


def test_xlsx_value_beyond_the_header_is_unreadable(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "members_510121.xlsx", MEMBER_HEADER, [[*member_row(PERSON), "stray"]]
    )
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "members")
    assert held.value.reason == "file_unreadable"


def test_xlsx_unknown_header_is_held(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "members_510121.xlsx", [*MEMBER_HEADER, "备注"], [member_row(PERSON)]
    )
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "members")
    assert held.value.reason == "header_unknown_column"


def test_xlsx_empty_sheet_has_no_header(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "members_510121.xlsx", [], [])
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "members")
    assert held.value.reason == "header_missing_column"


def test_xlsx_header_only_is_an_empty_delivery(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "members_510121.xlsx", MEMBER_HEADER, [])
    result = read_delivery_file(path, "members")
    assert result.frame.height == 0 == count_data_rows(path)
    assert result.frame.columns == contract_columns("members")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"village_code,village_name\n", id="csv-text-named-xlsx"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 40, id="broken-zip"),
    ],
)
def test_corrupt_xlsx_is_unreadable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "villages_510121.xlsx"
    path.write_bytes(content)
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "villages")
    assert held.value.reason == "file_unreadable"
    with pytest.raises(FileHeld):
        count_data_rows(path)


def test_xlsx_zip_without_a_workbook_is_unreadable(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    path = tmp_path / "villages_510121.xlsx"
    path.write_bytes(buf.getvalue())
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "villages")
    assert held.value.reason == "file_unreadable"


def test_zero_byte_xlsx_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "villages_510121.xlsx"
    path.write_bytes(b"")
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "villages")
    assert held.value.reason == "file_empty"
    assert count_data_rows(path) == 0


# --------------------------------------------------------------------------------------
# parquet


def villages_parquet(path: Path) -> Path:
    table = pa.table(
        {
            "行政区划代码": pa.array(["510121001001", "510121001002", "510121001003"]),
            "village_name": pa.array(["测试一村", "测试二村", None]),
            "is_poor_village": pa.array([True, False, None]),
            "rural_population": pa.array([1200, 860, 5], pa.int32()),
            "collective_income_yuan": pa.array(
                [Decimal("35000.50"), None, Decimal("-1.00")], pa.decimal128(18, 2)
            ),
            "has_ecommerce_station": pa.array([False, True, True]),
            "solar_capacity_kw": pa.array([120.5, 3.0, None], pa.float64()),
            "updated_at": pa.array(
                [dt.datetime(2020, 1, 1, 8, 0), dt.datetime(2020, 1, 1, 8, 0, 0, 500000), None],
                pa.timestamp("us"),
            ),
        }
    )
    pq.write_table(table, path, row_group_size=2)
    return path


def test_parquet_columns_cast_to_text(tmp_path: Path) -> None:
    path = villages_parquet(tmp_path / "villages_510121.parquet")
    result = read_delivery_file(path, "villages")
    assert (result.format, result.encoding, result.delimiter) == ("parquet", None, None)
    assert_string_frame(result, "villages")
    got = result.frame.select(
        "village_code",
        "village_name",
        "is_poor_village",
        "rural_population",
        "collective_income_yuan",
        "solar_capacity_kw",
        "updated_at",
        "paper_mulberry_mu",
    )
    expected = pl.DataFrame(
        {
            "village_code": ["510121001001", "510121001002", "510121001003"],
            "village_name": ["测试一村", "测试二村", None],
            "is_poor_village": ["true", "false", None],
            "rural_population": ["1200", "860", "5"],
            "collective_income_yuan": ["35000.50", None, "-1.00"],
            "solar_capacity_kw": ["120.5", "3", None],
            "updated_at": ["2020-01-01T08:00:00", "2020-01-01T08:00:00.500", None],
            "paper_mulberry_mu": [None, None, None],
        },
        schema=dict.fromkeys(
            [
                "village_code",
                "village_name",
                "is_poor_village",
                "rural_population",
                "collective_income_yuan",
                "solar_capacity_kw",
                "updated_at",
                "paper_mulberry_mu",
            ],
            pl.String,
        ),
    )
    assert_frame_equal(got, expected)
    assert count_data_rows(path) == 3


def test_parquet_dates_and_zoned_timestamps(tmp_path: Path) -> None:
    table = pa.table(
        {
            "event_id": ["E1"],
            "program": ["solar_pv"],
            "event_date": pa.array([dt.date(2019, 5, 1)]),
            "updated_at": pa.array(
                [dt.datetime(2019, 5, 2, 2, 0, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    path = tmp_path / "assistance_510121.parquet"
    pq.write_table(table, path)
    frame = read_delivery_file(path, "assistance").frame
    assert frame.select("event_date", "updated_at").row(0) == (
        "2019-05-01",
        "2019-05-02T02:00:00+00:00",
    )


def test_parquet_chunks_agree_with_whole(tmp_path: Path) -> None:
    path = villages_parquet(tmp_path / "villages_510121.parquet")
    frame, _, parts = concat_chunks(path, "villages", 1)
    assert parts == 3
    assert_frame_equal(frame, read_delivery_file(path, "villages").frame)


def test_parquet_with_unknown_column_is_held(tmp_path: Path) -> None:
    path = tmp_path / "targets_national.parquet"
    pq.write_table(
        pa.table(
            {
                "year": [2020],
                "province_code": ["00"],
                "metric": ["people_lifted"],
                "target": [1],
                "note": ["x"],
            }
        ),
        path,
    )
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "targets")
    assert held.value.reason == "header_unknown_column"


def test_corrupt_parquet_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "villages_510121.parquet"
    path.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(FileHeld) as held:
        read_delivery_file(path, "villages")
    assert held.value.reason == "file_unreadable"
    with pytest.raises(FileHeld):
        count_data_rows(path)
