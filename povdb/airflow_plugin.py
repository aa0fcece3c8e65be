"""Airflow plugin: registers the delivery-day timetable (custom timetables must be registered)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from pipeline.timetable import DeliveryDayTimetable


class PovdbPlugin(AirflowPlugin):
    name = "povdb"
    timetables = [DeliveryDayTimetable]  # noqa: RUF012 - Airflow's plugin interface
