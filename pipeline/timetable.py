"""The delivery-day timetable of ``poverty_nightly``.

A run processes one delivery date D (a calendar day in Asia/Shanghai):

- data interval = [D 00:00, D+1 00:00) Asia/Shanghai, logical date = D 00:00 Asia/Shanghai;
- the scheduled run starts after the day has closed, at 02:00 Asia/Shanghai on D+1;
- a manual run (``airflow dags test poverty_nightly D``, a trigger with a logical date)
  processes the Asia/Shanghai day that contains its logical date;
- a backfill ``--from-date D1 --to-date D2`` processes exactly D1..D2: each bound names the
  Asia/Shanghai day that contains it, so a bound given as local midnight and one given as
  UTC midnight both mean that day (a plain 02:00 cron would leave D2 out).

Registered with Airflow by ``povdb.airflow_plugin`` (custom timetables must be).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable

TZ = pendulum.timezone("Asia/Shanghai")
RUN_AT = dt.timedelta(hours=2)  # after the delivery day closes


def day_start(moment: dt.datetime) -> pendulum.DateTime:
    """Midnight (Asia/Shanghai) of the day that contains ``moment``."""
    local = pendulum.instance(moment).in_timezone(TZ)
    return pendulum.datetime(local.year, local.month, local.day, tz=TZ)


def delivery_date_of(moment: dt.datetime) -> dt.date:
    """The delivery date a logical date or data-interval start stands for."""
    return day_start(moment).date()


def logical_date_for(delivery_date: dt.date) -> pendulum.DateTime:
    return pendulum.datetime(delivery_date.year, delivery_date.month, delivery_date.day, tz=TZ)


class DeliveryDayTimetable(Timetable):
    description = "Daily, for the delivery day, at 02:00 Asia/Shanghai the next day"
    periodic = True
    can_be_scheduled = True
    run_ordering = ("logical_date",)

    @property
    def summary(self) -> str:
        return "delivery day (Asia/Shanghai), runs 02:00 next day"

    def serialize(self) -> dict[str, Any]:
        return {}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DeliveryDayTimetable:
        return cls()

    def _info(self, start: pendulum.DateTime) -> DagRunInfo:
        end = start.add(days=1)
        return DagRunInfo(run_after=end + RUN_AT, data_interval=DataInterval(start, end))

    def infer_manual_data_interval(self, *, run_after: dt.datetime) -> DataInterval:
        start = day_start(run_after)
        return DataInterval(start=start, end=start.add(days=1))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            start = day_start(last_automated_data_interval.start).add(days=1)
        elif restriction.earliest is not None:
            start = day_start(restriction.earliest)
        else:
            return None
        if not restriction.catchup:
            # The latest delivery day that has already closed at 02:00 today.
            now = pendulum.now(TZ)
            latest_closed = day_start(now - RUN_AT).subtract(days=1)
            start = max(start, latest_closed)
        if restriction.earliest is not None:
            start = max(start, day_start(restriction.earliest))
        if restriction.latest is not None and start > restriction.latest:
            return None
        return self._info(start)
