"""Suite for typed staging villages. Bump VERSION whenever a rule changes (see docs/validation.md)."""

from __future__ import annotations

from contract.landing import VILLAGE_CODE_PATTERN
from expectations.rules import Between, MatchesRegex, Rule, Suite

VERSION = "1"

SUITE = Suite(
    entity="villages",
    version=VERSION,
    record_key_sql="village_code",
    rules=(
        Rule(
            "village_code_structure",
            "error",
            "village_code_invalid",
            MatchesRegex("village_code", VILLAGE_CODE_PATTERN),
            "village_code is 12 digits, township part 001-599, village part 001-399.",
        ),
        Rule(
            "rural_population_non_negative",
            "error",
            "value_out_of_range",
            Between("rural_population", min_value=0),
            "rural_population >= 0 (the denominator of poverty incidence).",
        ),
        Rule(
            "collective_income_non_negative",
            "error",
            "value_out_of_range",
            Between("collective_income_yuan", min_value=0),
            "collective_income_yuan >= 0 when given.",
        ),
        Rule(
            "ecommerce_pilot_year_range",
            "error",
            "value_out_of_range",
            Between("ecommerce_pilot_year", min_value=2014, max_value=2030),
            "ecommerce_pilot_year within 2014-2030 when given.",
        ),
        Rule(
            "solar_capacity_non_negative",
            "error",
            "value_out_of_range",
            Between("solar_capacity_kw", min_value=0),
            "solar_capacity_kw >= 0 when given.",
        ),
        Rule(
            "paper_mulberry_area_non_negative",
            "error",
            "value_out_of_range",
            Between("paper_mulberry_mu", min_value=0),
            "paper_mulberry_mu >= 0 when given.",
        ),
    ),
)
