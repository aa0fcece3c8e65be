"""Suite for typed staging members. Bump VERSION whenever a rule changes (see docs/validation.md).

"Exactly one head per household" (household_head_count) needs the household's current
members across deliveries, so it is checked after the transform, not on one delivery here.
"""

from __future__ import annotations

from contract.landing import HOUSEHOLD_ID_PATTERN, ID_PATTERN, MEMBERS
from expectations.rules import (
    InSet,
    MatchesRegex,
    RowCondition,
    Rule,
    Suite,
    id_expected_check_char,
    id_helpers,
    quote_literal,
)

VERSION = "2"

# The ID's helper columns, computed once per row (Suite.helpers).
_HELPERS = id_helpers("id_number", "_id")
_OK, _BIRTH, _17 = (name for name, _ in _HELPERS)


def _enum(column: str) -> Rule:
    return Rule(
        f"{column}_known",
        "error",
        "unknown_code_value",
        InSet(column, MEMBERS.column(column).enum_codes),
        f"{column} is a code of the contract.",
    )


SUITE = Suite(
    entity="members",
    version=VERSION,
    # A 20-character disability number keys the person by its first 18 characters.
    record_key_sql="CASE WHEN length(id_number) = 20 THEN substr(id_number, 1, 18) ELSE id_number END",
    helpers=_HELPERS,
    rules=(
        Rule(
            "id_format",
            "error",
            "id_format_invalid",
            MatchesRegex("id_number", ID_PATTERN),
            "id_number is 17 digits + digit/X, or a 20-character disability number.",
        ),
        Rule(
            "id_birth_date_valid",
            "error",
            "id_birth_date_mismatch",
            RowCondition(f"{_OK} AND {_BIRTH} IS NULL"),
            "The birth date inside id_number is a real date.",
        ),
        Rule(
            "id_check_char",
            "error",
            "id_check_char_invalid",
            RowCondition(
                f"{_OK} AND {_BIRTH} IS NOT NULL "
                f"AND substr(id_number, 18, 1) <> {id_expected_check_char(_17)}"
            ),
            "The ISO 7064 MOD 11-2 check character of id_number is right.",
        ),
        Rule(
            "birth_date_matches_id",
            "error",
            "id_birth_date_mismatch",
            RowCondition(f"{_OK} AND birth_date IS NOT NULL AND birth_date <> {_BIRTH}"),
            "birth_date equals the date inside id_number.",
        ),
        Rule(
            "sex_matches_id",
            "error",
            "id_sex_mismatch",
            RowCondition(
                f"{_OK} AND sex IN ('male', 'female') AND sex <> "
                "CASE WHEN TRY_CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 "
                "THEN 'male' ELSE 'female' END"
            ),
            "sex agrees with the parity of the ID's sequence number (odd male, even female).",
        ),
        Rule(
            "household_id_format",
            "error",
            "household_id_invalid",
            MatchesRegex("household_id", HOUSEHOLD_ID_PATTERN),
            "household_id is 16 digits.",
        ),
        Rule(
            "id_from_household_county",
            "warn",
            "id_other_county",
            RowCondition(
                f"{_OK} AND regexp_matches(household_id, {quote_literal(HOUSEHOLD_ID_PATTERN)}) "
                "AND substr(id_number, 1, 6) <> substr(household_id, 1, 6)"
            ),
            "The ID's address code is another county's (people keep their ID when they move).",
        ),
        _enum("relation"),
        _enum("sex"),
        _enum("education"),
        _enum("health"),
        _enum("labour"),
        _enum("member_status"),
    ),
)
