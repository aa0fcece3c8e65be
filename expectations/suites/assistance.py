"""Suite for typed staging assistance events. Bump VERSION whenever a rule changes."""

from __future__ import annotations

from contract.landing import ASSISTANCE, HOUSEHOLD_ID_PATTERN, VILLAGE_CODE_PATTERN
from expectations.rules import (
    DELIVERY_DATE,
    Between,
    InSet,
    MatchesRegex,
    RowCondition,
    Rule,
    Suite,
)

VERSION = "1"

SUITE = Suite(
    entity="assistance",
    version=VERSION,
    record_key_sql="event_id",
    rules=(
        Rule(
            "target_present",
            "error",
            "assistance_target_missing",
            RowCondition("household_id IS NULL AND village_code IS NULL"),
            "An event names a household or a village.",
        ),
        Rule(
            "household_id_format",
            "error",
            "household_id_invalid",
            MatchesRegex("household_id", HOUSEHOLD_ID_PATTERN),
            "household_id is 16 digits when given.",
        ),
        Rule(
            "village_code_structure",
            "error",
            "village_code_invalid",
            MatchesRegex("village_code", VILLAGE_CODE_PATTERN),
            "village_code is 12 digits, township 001-599, village 001-399, when given.",
        ),
        Rule(
            "program_known",
            "error",
            "unknown_code_value",
            InSet("program", ASSISTANCE.column("program").enum_codes),
            "program is a programme of the contract.",
        ),
        Rule(
            "event_not_in_future",
            "error",
            "date_in_future",
            Between("event_date", max_value=DELIVERY_DATE),
            "event_date <= the delivery date.",
        ),
        Rule(
            "amount_non_negative",
            "error",
            "value_out_of_range",
            Between("amount_yuan", min_value=0),
            "amount_yuan >= 0 when given.",
        ),
    ),
)
