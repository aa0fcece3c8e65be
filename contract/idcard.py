"""Resident ID numbers (GB 11643-1999) and village codes: structure and check character."""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID18_RE = re.compile(r"^\d{17}[\dX]$")
_DISABILITY_RE = re.compile(r"^\d{17}[\dX][1-7][1-4]$")
_CODE12_RE = re.compile(r"^\d{6}(?P<town>\d{3})(?P<village>\d{3})$")


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"need 17 digits, got {first17!r}")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_id(raw: str) -> str:
    """Upper-case the check character and cut a disability number to the person's 18."""
    value = raw.strip().upper()
    if _DISABILITY_RE.match(value):
        return value[:18]
    return value


def id_problem(raw: str) -> str | None:
    """Return the reason code for an invalid ID (or disability number), None when valid."""
    value = raw.strip().upper()
    if _DISABILITY_RE.match(value):
        value = value[:18]
    if not _ID18_RE.match(value):
        return "id_format_invalid"
    if birth_date_of(value) is None:
        return "id_birth_date_mismatch"
    if check_char(value[:17]) != value[17]:
        return "id_check_char_invalid"
    return None


def birth_date_of(id18: str) -> dt.date | None:
    try:
        return dt.date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))
    except ValueError:
        return None


def sex_of(id18: str) -> str:
    """male for an odd sequence number, female for an even one."""
    return "male" if int(id18[16]) % 2 else "female"


def make_id(address6: str, birth: dt.date, sequence: int) -> str:
    """Build a valid 18-character ID from an address code, a birth date and a 3-digit sequence."""
    first17 = f"{address6}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def village_code_ok(code: str) -> bool:
    """12 digits, township part 001-599, village part 001-399."""
    m = _CODE12_RE.match(code)
    if not m:
        return False
    return 1 <= int(m["town"]) <= 599 and 1 <= int(m["village"]) <= 399
