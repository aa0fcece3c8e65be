"""Exit verification: is a reported exit (lifted) genuine, or a paper exit?

An exit is genuine when, on the exiting record, per-capita net income of the income year
is above that year's poverty line; food and clothing, housing and drinking water are
secure; compulsory education is secured (every active member aged 6-15 at the exit date
is in school); basic medical care is secured (every active member is insured); and the
exit year is after the identification year. Members are taken as currently known (latest
version of each, active ones). Pure LazyFrame -> LazyFrame.
"""

from __future__ import annotations

import polars as pl

CRITERIA = (
    ("income_ok", "income_below_line"),
    ("food_clothing_ok", "food_clothing_insecure"),
    ("housing_ok", "housing_unsafe"),
    ("water_ok", "drinking_water_unsafe"),
    ("education_ok", "child_out_of_school"),
    ("medical_ok", "member_uninsured"),
    ("exit_year_ok", "exit_in_identification_year"),
)


def age_at(birth: pl.Expr, when: pl.Expr) -> pl.Expr:
    """Whole years between two dates."""
    before_birthday = (when.dt.month() < birth.dt.month()) | (
        (when.dt.month() == birth.dt.month()) & (when.dt.day() < birth.dt.day())
    )
    return when.dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32)


def exit_checks(
    events: pl.LazyFrame, members: pl.LazyFrame, poverty_lines: pl.LazyFrame
) -> pl.LazyFrame:
    """One row per exit (status event into ``lifted``) with each criterion and the verdict.

    ``events``: core status events with the exiting record's facts; ``members``: current
    member records; ``poverty_lines``: ``year``, ``line_yuan_per_person``.
    """
    exits = events.filter(pl.col("to_status") == "lifted")
    active = members.filter(pl.col("member_status") == "active").select(
        "household_id", "birth_date", "in_school", "medical_insured"
    )
    per_member = exits.select("household_id", "event_date").join(active, on="household_id")
    per_member = per_member.with_columns(age=age_at(pl.col("birth_date"), pl.col("event_date")))
    member_checks = per_member.group_by("household_id", "event_date").agg(
        education_ok=~(pl.col("age").is_between(6, 15) & ~pl.col("in_school")).any(),
        medical_ok=pl.col("medical_insured").all(),
    )
    lines = poverty_lines.select(
        pl.col("year").cast(pl.Int64).alias("income_year"),
        pl.col("line_yuan_per_person").cast(pl.Float64).alias("poverty_line_yuan"),
    )
    checked = (
        exits.join(lines, on="income_year", how="left")
        .join(member_checks, on=["household_id", "event_date"], how="left")
        .with_columns(
            income_ok=(
                pl.col("per_capita_income_yuan").cast(pl.Float64) > pl.col("poverty_line_yuan")
            ).fill_null(False),
            food_clothing_ok=pl.col("food_clothing_secure").fill_null(False),
            housing_ok=pl.col("housing_safe").fill_null(False),
            water_ok=pl.col("drinking_water_safe").fill_null(False),
            education_ok=pl.col("education_ok").fill_null(True),
            medical_ok=pl.col("medical_ok").fill_null(True),
            exit_year_ok=pl.col("event_date").dt.year() > pl.col("identified_on").dt.year(),
        )
    )
    failed = [pl.when(~pl.col(ok)).then(pl.lit(name)) for ok, name in CRITERIA]
    return checked.with_columns(
        verified=pl.all_horizontal([pl.col(ok) for ok, _ in CRITERIA]),
        failed_criteria=pl.concat_str(failed, separator=",", ignore_nulls=True),
    ).select(
        "household_id",
        "village_code",
        "province_code",
        "county_code",
        "event_date",
        "people",
        "per_capita_income_yuan",
        "income_year",
        "poverty_line_yuan",
        *[ok for ok, _ in CRITERIA],
        "verified",
        pl.when(pl.col("failed_criteria") == "")
        .then(None)
        .otherwise(pl.col("failed_criteria"))
        .alias("failed_criteria"),
        "delivery_date",
        "file_name",
        "row_number",
    )
