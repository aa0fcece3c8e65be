"""Airflow plugin: registers the delivery-day timetable (custom timetables must be
registered) and puts the reports in the Airflow UI: the reports app under ``/povdb``
(``povdb.reports_app``), a menu link to the HTML report and to the list of pages, and a
link on each DAG run to the validation page of its delivery date."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from pipeline.timetable import DeliveryDayTimetable
from povdb.reports_app import create_app

URL_PREFIX = "/povdb"


class PovdbPlugin(AirflowPlugin):
    name = "povdb"
    # Airflow's plugin interface: class attributes.
    timetables = [DeliveryDayTimetable]  # noqa: RUF012
    fastapi_apps = [  # noqa: RUF012
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "povdb reports"},
    ]
    # hrefs relative to the UI's base URL; {DAG_ID} and {RUN_ID} are filled in by the UI.
    external_views = [  # noqa: RUF012
        {
            "name": "Registry report",
            "href": "povdb/reports/report.html",
            "destination": "nav",
            "category": "browse",
            "url_route": "povdb-report",
        },
        {
            "name": "Registry reports and validation pages",
            "href": "povdb/",
            "destination": "nav",
            "category": "browse",
            "url_route": "povdb-reports",
        },
        {
            "name": "Validation page",
            "href": "povdb/runs/{DAG_ID}/{RUN_ID}/validation",
            "destination": "dag_run",
            "url_route": "povdb-validation",
        },
    ]
