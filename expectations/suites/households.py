"""Suite for typed staging households. Bump VERSION whenever a rule changes (see docs/validation.md)."""

from __future__ import annotations

from contract.landing import HOUSEHOLD_ID_PATTERN, HOUSEHOLDS, ID_PATTERN, VILLAGE_CODE_PATTERN
from expectations.rules import (
    DELIVERY_DATE,
    AAtLeastB,
    Between,
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

# The head ID's helper columns, computed once per row (Suite.helpers).
_HELPERS = id_helpers("head_id_number", "_head_id")
_OK, _BIRTH, _17 = (name for name, _ in _HELPERS)

_CAUSES = HOUSEHOLDS.column("main_cause").enum_codes
_CAUSE_LIST = "[" + ", ".join(quote_literal(c) for c in _CAUSES) + "]"
_OTHER = "string_split(other_causes, ';')"

SUITE = Suite(
    entity="households",
    version=VERSION,
    record_key_sql="household_id",
    helpers=_HELPERS,
    rules=(
        Rule(
            "household_id_format",
            "error",
            "household_id_invalid",
            MatchesRegex("household_id", HOUSEHOLD_ID_PATTERN),
            "household_id is 16 digits (village code + 4-digit sequence).",
        ),
        Rule(
            "village_code_structure",
            "error",
            "village_code_invalid",
            MatchesRegex("village_code", VILLAGE_CODE_PATTERN),
            "village_code is 12 digits, township part 001-599, village part 001-399.",
        ),
        Rule(
            "village_code_matches_household_id",
            "error",
            "household_village_mismatch",
            RowCondition(
                f"regexp_matches(household_id, {quote_literal(HOUSEHOLD_ID_PATTERN)}) "
                "AND regexp_matches(village_code, '^[0-9]{12}$') "
                "AND substr(household_id, 1, 12) <> village_code"
            ),
            "village_code equals the first 12 digits of household_id "
            "(checked when both are all digits of the right length).",
        ),
        Rule(
            "head_id_format",
            "error",
            "id_format_invalid",
            MatchesRegex("head_id_number", ID_PATTERN),
            "head_id_number is 17 digits + digit/X, or a 20-character disability number "
            "(that ID + category 1-7 + grade 1-4).",
        ),
        Rule(
            "head_id_birth_date",
            "error",
            "id_birth_date_mismatch",
            RowCondition(f"{_OK} AND {_BIRTH} IS NULL"),
            "The birth date inside head_id_number is a real date.",
        ),
        Rule(
            "head_id_check_char",
            "error",
            "id_check_char_invalid",
            RowCondition(
                f"{_OK} AND {_BIRTH} IS NOT NULL "
                f"AND substr(head_id_number, 18, 1) <> {id_expected_check_char(_17)}"
            ),
            "The ISO 7064 MOD 11-2 check character of head_id_number is right.",
        ),
        Rule(
            "household_size_range",
            "error",
            "value_out_of_range",
            Between("household_size", min_value=1, max_value=20),
            "household_size within 1-20.",
        ),
        Rule(
            "attribute_known",
            "error",
            "unknown_code_value",
            InSet("attribute", HOUSEHOLDS.column("attribute").enum_codes),
            "attribute is a code of the contract.",
        ),
        Rule(
            "main_cause_known",
            "error",
            "unknown_code_value",
            InSet("main_cause", _CAUSES),
            "main_cause is a cause of the contract.",
        ),
        Rule(
            "status_known",
            "error",
            "unknown_code_value",
            InSet("status", HOUSEHOLDS.column("status").enum_codes),
            "status is a code of the contract.",
        ),
        Rule(
            "per_capita_income_consistent",
            "error",
            "per_capita_mismatch",
            # Compared multiplied out, in exact decimals: |pc - net/size| > 1 <=> |pc*size - net| > size.
            RowCondition(
                "household_size > 0 "
                "AND abs(per_capita_income_yuan * household_size - net_income_yuan) > household_size"
            ),
            "per_capita_income_yuan = net_income_yuan / household_size within 1 yuan.",
        ),
        Rule(
            "other_causes_valid",
            "error",
            "other_causes_invalid",
            RowCondition(
                f"other_causes IS NOT NULL AND (len({_OTHER}) > 2 "
                f"OR NOT list_has_all({_CAUSE_LIST}, {_OTHER}) "
                f"OR list_contains({_OTHER}, main_cause))"
            ),
            "other_causes: at most two known causes (';'-joined codes), none equal to main_cause.",
        ),
        Rule(
            "status_change_not_before_identification",
            "error",
            "date_order_invalid",
            AAtLeastB("status_changed_on", "identified_on"),
            "status_changed_on >= identified_on.",
        ),
        Rule(
            "status_change_not_in_future",
            "error",
            "date_in_future",
            Between("status_changed_on", max_value=DELIVERY_DATE),
            "status_changed_on <= the delivery date.",
        ),
        Rule(
            "identification_not_in_future",
            "error",
            "date_in_future",
            Between("identified_on", max_value=DELIVERY_DATE),
            "identified_on <= the delivery date.",
        ),
        Rule(
            "exit_in_identification_year",
            "warn",
            "exit_in_identification_year",
            RowCondition("status = 'lifted' AND year(status_changed_on) = year(identified_on)"),
            "A household lifted in the year it was identified (a paper exit: loaded, listed).",
        ),
    ),
)
