"""The reports in the Airflow UI: the plugin's web app serves the reports folder read-only,
nothing outside it, and only to users Airflow lets read the nightly's runs; the plugin
registers through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from povdb import reports_app


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "reports"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<h1>Target progress</h1>")
    (folder / "validation_2015-03-02.html").write_text("<h1>Validation 2015-03-02</h1>")
    (folder / "run_2015-03-02.json").write_text('{"delivery_date": "2015-03-02"}')
    (folder / ".report.html.tmp").write_text("half written")
    (tmp_path / "data" / "secret.html").write_text("SECRET")
    (tmp_path / "data" / ".pseudonym_secret").write_text("SECRET")
    return folder


@pytest.fixture
def client(reports: Path) -> TestClient:
    """A client Airflow lets read the nightly's runs."""
    app = reports_app.create_app(lambda: reports)
    app.dependency_overrides[reports_app.may_read] = lambda: None
    return TestClient(app)


def test_serves_the_report_and_a_validation_page(client: TestClient) -> None:
    report = client.get("/reports/report.html")
    assert report.status_code == 200 and report.text == "<h1>Target progress</h1>"
    assert report.headers["content-type"].startswith("text/html")
    page = client.get("/reports/validation_2015-03-02.html")
    assert page.status_code == 200 and "Validation 2015-03-02" in page.text


def test_the_index_lists_the_pages(client: TestClient) -> None:
    index = client.get("/")
    assert index.status_code == 200
    for name in ("report.html", "validation_2015-03-02.html", "run_2015-03-02.json"):
        assert f'href="reports/{name}"' in index.text
    assert ".report.html.tmp" not in index.text


@pytest.mark.parametrize(
    "url",
    [
        "/reports/..%2Fsecret.html",
        "/reports/..%2F.pseudonym_secret",
        "/reports/%2Fetc%2Fpasswd",
        "/reports/.report.html.tmp",
        "/reports/../secret.html",
        "/reports/validation_2015-03-09.html",
    ],
)
def test_nothing_else_is_served(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert "SECRET" not in response.text and "half written" not in response.text


def test_a_validation_page_only_for_nightly_runs(client: TestClient) -> None:
    response = client.get("/runs/poverty_verify/scheduled__2015-03-01/validation")
    assert response.status_code == 404
    assert "only poverty_nightly runs have a validation page" in response.json()["detail"]


def test_anonymous_users_are_refused(reports: Path) -> None:
    client = TestClient(reports_app.create_app(lambda: reports))
    for url in ("/", "/reports/report.html", "/runs/poverty_nightly/x/validation"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert "Target progress" not in response.text


def test_the_plugin_registers_through_its_entry_point(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(tmp_path / "plugins"),
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    out = subprocess.run(
        [airflow, "plugins", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    [plugin] = [p for p in json.loads(out.stdout) if p["name"] == "povdb"]
    assert "povdb.airflow_plugin:PovdbPlugin" in plugin["source"]
    assert plugin["timetables"] == ["pipeline.timetable.DeliveryDayTimetable"]
    assert [(a["url_prefix"], a["app"]) for a in plugin["fastapi_apps"]] == [
        ("/povdb", "fastapi.applications.FastAPI")
    ]
    links = {v["destination"]: v["href"] for v in plugin["external_views"]}
    assert links["dag_run"] == "povdb/runs/{DAG_ID}/{RUN_ID}/validation"
    assert "povdb/reports/report.html" in {
        v["href"] for v in plugin["external_views"] if v["destination"] == "nav"
    }
