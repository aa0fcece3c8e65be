"""Vectorised resident IDs (GB 11643-1999) for whole counties at once.

A person is held as numbers (address code, birth day, 3-digit sequence, optional disability
category and grade); the 18- or 20-character string is built only when a file is written.
``contract.idcard`` is the scalar reference these functions are tested against.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
_CHECK = np.array(list("10X98765432"))
_POW10 = 10 ** np.arange(16, -1, -1, dtype=np.int64)
EPOCH_1900 = -25_567  # 1900-01-01 in days since 1970-01-01
_DAYS = 60_000  # birth days 1900 .. 2064


def ymd(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 -> YYYYMMDD integers."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    return year * 10_000 + month * 100 + day


def first17(addr: np.ndarray, birth_ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    return (
        np.asarray(addr, dtype=np.int64) * 10**11
        + np.asarray(birth_ymd, dtype=np.int64) * 1_000
        + np.asarray(seq, dtype=np.int64)
    )


def check_chars(f17: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 check characters of 17-digit integers (as a string array)."""
    f17 = np.asarray(f17, dtype=np.int64)
    digits = (f17[:, None] // _POW10[None, :]) % 10
    return _CHECK[(digits * _WEIGHTS).sum(axis=1) % 11]


def id_strings(
    addr: np.ndarray,
    birth_days: np.ndarray,
    seq: np.ndarray,
    dis_cat: np.ndarray | None = None,
    dis_grade: np.ndarray | None = None,
) -> pl.Series:
    """18-character IDs, or 20-character disability numbers where ``dis_cat`` > 0."""
    f17 = first17(addr, ymd(birth_days), seq)
    check = check_chars(f17) if len(f17) else np.array([], dtype="<U1")
    frame = pl.DataFrame({"f": f17, "c": check.astype(str)})
    expr = pl.concat_str(pl.col("f").cast(pl.String), pl.col("c"))
    if dis_cat is not None and dis_grade is not None:
        frame = frame.with_columns(
            k=pl.Series(np.asarray(dis_cat, dtype=np.int64)),
            g=pl.Series(np.asarray(dis_grade, dtype=np.int64)),
        )
        expr = (
            pl.when(pl.col("k") > 0)
            .then(pl.concat_str(expr, pl.col("k").cast(pl.String), pl.col("g").cast(pl.String)))
            .otherwise(expr)
        )
    return frame.select(expr.alias("id")).to_series()


class SequenceAllocator:
    """Hands out 3-digit sequence numbers unique per (address, birth date, sex).

    The parity of the sequence is the sex (odd male, even female); within one birth date
    and sex up to 500 people get distinct numbers.
    """

    def __init__(self) -> None:
        self._used = np.zeros(2 * _DAYS, dtype=np.int32)

    def allocate(self, birth_days: np.ndarray, male: np.ndarray) -> np.ndarray:
        b = np.asarray(birth_days, dtype=np.int64) - EPOCH_1900
        if len(b) and (b.min() < 0 or b.max() >= _DAYS):
            raise ValueError("birth date outside 1900-2064")
        key = b * 2 + np.asarray(male, dtype=np.int64)
        order = np.argsort(key, kind="stable")
        sk = key[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sk)) + 1] if len(sk) else np.zeros(0, np.int64)
        lengths = np.diff(np.r_[starts, len(sk)])
        rank_sorted = np.arange(len(sk)) - np.repeat(starts, lengths)
        rank = np.empty_like(rank_sorted)
        rank[order] = rank_sorted
        k = self._used[key] + rank
        np.add.at(self._used, key, 1)
        offset = (key * 37) % 500
        return 2 * ((offset + k) % 500) + np.asarray(male, dtype=np.int64)
