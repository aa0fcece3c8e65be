"""The scheduling interface of ARCHITECTURE.md: the scheduled run for landing/D starts after
day D closes, `airflow dags test poverty_nightly D` processes landing/D, and
`airflow backfill create --from-date D1 --to-date D2` processes exactly D1..D2.

Each case goes through the code Airflow itself runs: the CLI's date parser, the serialized
DAG the scheduler sees, and the backfill's own run-info listing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pendulum
import pytest

from pipeline.timetable import DeliveryDayTimetable, delivery_date_of

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = pendulum.timezone("Asia/Shanghai")


@pytest.fixture(scope="module")
def serialized_dag():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["poverty_nightly"]
    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def _cli_date(text: str, tz: str) -> pendulum.DateTime:
    """What `--from-date`/`--to-date`/the logical date of `dags test` become in the CLI,
    with Airflow's default_timezone set to ``tz``."""
    from airflow._shared.timezones import timezone

    return timezone.parse(text, timezone=pendulum.timezone(tz))


def test_timetable_survives_serialization(serialized_dag) -> None:
    assert isinstance(serialized_dag.timetable, DeliveryDayTimetable)


@pytest.mark.parametrize("day", ["2015-03-01", "2015-12-31", "2016-02-29"])
def test_scheduled_run_for_d_starts_at_two_on_d_plus_one(serialized_dag, day: str) -> None:
    from airflow.timetables.base import DataInterval, TimeRestriction

    d = dt.date.fromisoformat(day)
    prev = pendulum.datetime(d.year, d.month, d.day, tz=SHANGHAI).subtract(days=1)
    info = serialized_dag.timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(prev, prev.add(days=1)),
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert delivery_date_of(info.logical_date) == d
    assert info.data_interval.end - info.data_interval.start == dt.timedelta(days=1)
    run_after = pendulum.instance(info.run_after).in_timezone(SHANGHAI)
    assert (run_after.date(), run_after.hour, run_after.minute) == (d + dt.timedelta(days=1), 2, 0)


@pytest.mark.parametrize("default_tz", ["Asia/Shanghai", "UTC"])
@pytest.mark.parametrize("day", ["2015-03-01", "2016-01-01"])
def test_dags_test_d_processes_d(serialized_dag, default_tz: str, day: str) -> None:
    logical = _cli_date(day, default_tz)
    interval = serialized_dag.timetable.infer_manual_data_interval(run_after=logical)
    assert delivery_date_of(interval.start) == dt.date.fromisoformat(day)


@pytest.mark.parametrize("default_tz", ["Asia/Shanghai", "UTC"])
def test_backfill_covers_exactly_the_range(serialized_dag, default_tz: str) -> None:
    from airflow.models.backfill import _get_info_list

    infos = _get_info_list(
        from_date=_cli_date("2015-03-01", default_tz),
        to_date=_cli_date("2015-03-04", default_tz),
        reverse=False,
        dag=serialized_dag,
    )
    assert [delivery_date_of(i.logical_date) for i in infos] == [
        dt.date(2015, 3, 1),
        dt.date(2015, 3, 2),
        dt.date(2015, 3, 3),
        dt.date(2015, 3, 4),
    ]


def test_single_day_backfill(serialized_dag) -> None:
    from airflow.models.backfill import _get_info_list

    d = _cli_date("2015-03-02", "Asia/Shanghai")
    infos = _get_info_list(from_date=d, to_date=d, reverse=False, dag=serialized_dag)
    assert [delivery_date_of(i.logical_date) for i in infos] == [dt.date(2015, 3, 2)]


def test_no_catchup_schedules_the_latest_closed_day() -> None:
    from airflow.timetables.base import TimeRestriction

    info = DeliveryDayTimetable().next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(
            earliest=pendulum.datetime(2015, 1, 1, tz=SHANGHAI), latest=None, catchup=False
        ),
    )
    now = pendulum.now(SHANGHAI)
    assert info.run_after <= now.add(days=1)
    assert delivery_date_of(info.logical_date) >= (
        now - dt.timedelta(hours=2)
    ).date() - dt.timedelta(days=1)
