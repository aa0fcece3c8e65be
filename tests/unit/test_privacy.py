"""Person keys computed inside DuckDB are exactly the HMAC-SHA256 keys Python computes."""

from __future__ import annotations

import duckdb
import pytest

from contract import pseudonym

IDS = ["110101199001011234", "52012120150301002X", "", "中文不是身份证", "x" * 200]


@pytest.mark.parametrize(
    "secret",
    [b"s", b"0123456789abcdef" * 4, b"k" * 65, b"\xff\x00binary secret", "密钥".encode()],
    ids=["short", "block-sized", "longer-than-a-block", "binary", "utf-8"],
)
def test_sql_keys_equal_the_python_hmac(secret: bytes) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE ids (id VARCHAR)")
    con.executemany("INSERT INTO ids VALUES (?)", [[i] for i in IDS])
    rows = con.execute(
        f"SELECT id, {pseudonym.person_key_sql('id')} FROM ids",
        pseudonym.person_key_params(secret),
    ).fetchall()
    assert dict(rows) == {i: pseudonym.person_key(secret, i) for i in IDS}


def test_another_secret_gives_other_keys() -> None:
    con = duckdb.connect()
    one, two = (
        con.execute(
            f"SELECT {pseudonym.person_key_sql('$id')}",
            {**pseudonym.person_key_params(s), "id": IDS[0]},
        ).fetchone()[0]
        for s in (b"one", b"two")
    )
    assert one != two and len(one) == len(two) == 32
