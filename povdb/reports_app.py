"""The reports in the Airflow UI: a read-only web app the ``povdb`` plugin mounts under
``/povdb`` in the Airflow API server.

- ``/povdb/`` lists the pages of the data root's ``reports/`` folder (``POVDB_HOME`` of the
  API server);
- ``/povdb/reports/<name>`` serves one of them (the HTML report, a date's validation page, a
  run summary): a plain file name of that folder, nothing else;
- ``/povdb/runs/<dag_id>/<run_id>/validation`` serves the validation page of the delivery
  date a ``poverty_nightly`` run processed, from that run's data root.

Whoever may read ``poverty_nightly``'s runs in Airflow may read these pages (the UI's
session, or a bearer token as for the REST API).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

import settings
from pipeline.timetable import delivery_date_of

# A page of the reports folder: a plain file name, never a path or a hidden file.
PAGE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.(html|json)")


async def may_read(request: Request) -> None:
    """Allow whoever may read ``poverty_nightly``'s runs; 401/403 for anyone else."""
    # Airflow's API security imports its auth stack: only in the API server, on a request
    # (every Airflow process loads the plugin).
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import (
        bearer_scheme,
        get_user,
        requires_access_dag,
    )

    user = await get_user(request, None, await bearer_scheme(request))
    requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=settings.DAG_ID)(request, user)


def _reports_of_home() -> Path:
    return settings.paths().reports


def _page(folder: Path, name: str) -> FileResponse:
    if not PAGE_NAME.fullmatch(name):
        raise HTTPException(404, f"{name!r} is not a page of the reports folder")
    path = folder / name
    if not path.is_file():
        raise HTTPException(404, f"no {name} in {folder}: the run that writes it has not run yet")
    return FileResponse(path)


def _run_date(dag_id: str, run_id: str) -> tuple[dt.date, Path]:
    """The delivery date of a ``poverty_nightly`` run and its data root's reports folder."""
    # The metadata database, as the API server reaches it.
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if dag_id != settings.DAG_ID:
        raise HTTPException(404, f"only {settings.DAG_ID} runs have a validation page")
    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        if run is None:
            raise HTTPException(404, f"no run {run_id} of {dag_id}")
        start = run.data_interval_start or run.logical_date
        data_root = (run.conf or {}).get("data_root")
    return delivery_date_of(start), settings.paths(data_root).reports


def create_app(reports: Callable[[], Path] = _reports_of_home) -> FastAPI:
    """The app; ``reports`` gives the folder it serves (read at each request)."""
    app = FastAPI(
        title="povdb reports",
        description="The registry's HTML report and validation pages, read-only.",
        dependencies=[Depends(may_read)],
    )

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        folder = reports()
        names = sorted(
            p.name for p in folder.glob("*") if p.is_file() and PAGE_NAME.fullmatch(p.name)
        )
        items = "".join(
            f'<li><a href="reports/{html.escape(n)}">{html.escape(n)}</a></li>' for n in names
        )
        return (
            "<!doctype html><meta charset=utf-8><title>povdb reports</title>"
            f"<h1>Reports in {html.escape(str(folder))}</h1><ul>{items or '<li>none yet</li>'}</ul>"
        )

    @app.get("/reports/{name}")
    def page(name: str) -> FileResponse:
        return _page(reports(), name)

    @app.get("/runs/{dag_id}/{run_id}/validation")
    def run_validation(dag_id: str, run_id: str) -> FileResponse:
        d, folder = _run_date(dag_id, run_id)
        return _page(folder, f"validation_{d.isoformat()}.html")

    return app
