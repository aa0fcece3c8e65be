"""Suite for typed staging targets. Bump VERSION whenever a rule changes."""

from __future__ import annotations

from contract.landing import TARGETS
from expectations.rules import Between, InSet, Rule, Suite

VERSION = "1"

# "00" (national) and the province-level codes of GB/T 2260, as in
# contract/ref/provinces.csv. The code system, not a figure: a new province would be a
# new suite version.
# fmt: off
PROVINCE_CODES: tuple[str, ...] = (
    "00",
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65",
)
# fmt: on

SUITE = Suite(
    entity="targets",
    version=VERSION,
    record_key_sql="CAST(year AS VARCHAR) || '|' || province_code || '|' || metric",
    rules=(
        Rule(
            "province_code_known",
            "error",
            "province_code_invalid",
            InSet("province_code", PROVINCE_CODES),
            "province_code is 00 (national) or a province of the reference table.",
        ),
        Rule(
            "metric_known",
            "error",
            "unknown_code_value",
            InSet("metric", TARGETS.column("metric").enum_codes),
            "metric is a metric of the contract.",
        ),
        Rule(
            "target_non_negative",
            "error",
            "value_out_of_range",
            Between("target", min_value=0),
            "target >= 0.",
        ),
    ),
)
