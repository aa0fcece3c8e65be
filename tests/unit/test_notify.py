"""Alerts go through Airflow's SMTP provider to a real SMTP server, only when an SMTP
connection and recipients are configured; a clear held-delivery message."""

from __future__ import annotations

import datetime as dt
import email
from collections.abc import Iterator
from email.message import Message
from types import SimpleNamespace

import duckdb
import pendulum
import pytest
from support import SmtpSink

from pipeline import notify
from warehouse.load import held_message


def _connection(
    monkeypatch: pytest.MonkeyPatch, server: SmtpSink, conn_id: str = "povdb_smtp"
) -> None:
    """An Airflow SMTP connection to ``server``, from the environment as a deployment may
    set it."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", server.uri)


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """An SMTP server behind the default connection, with two recipients configured."""
    server = SmtpSink()
    monkeypatch.delenv("POVDB_SMTP_CONN_ID", raising=False)
    _connection(monkeypatch, server)
    monkeypatch.setenv("POVDB_ALERT_EMAIL", "ops@example.org, duty@example.org")
    try:
        yield server
    finally:
        server.close()


def _received(sink: SmtpSink) -> list[tuple[Message, str]]:
    """Each message the server got, with its decoded text."""
    out = []
    for raw in sink.messages:
        msg = email.message_from_string(raw)
        body = next(
            p.get_payload(decode=True).decode()
            for p in msg.walk()
            if p.get_content_type() == "text/html"
        )
        out.append((msg, body))
    return out


def test_email_through_the_smtp_connection(sink: SmtpSink) -> None:
    assert notify.send_email("[povdb] subject", "the body: 3 < 4") is True
    [(msg, body)] = _received(sink)
    assert msg["Subject"] == "[povdb] subject"
    assert msg["To"] == "ops@example.org, duty@example.org"
    assert msg["From"] == notify.DEFAULT_SENDER
    assert "the body: 3 &lt; 4" in body


def test_the_connection_id_is_a_setting(sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    other = SmtpSink()
    try:
        _connection(monkeypatch, other, "ops_mail")
        monkeypatch.setenv("POVDB_SMTP_CONN_ID", "ops_mail")
        assert notify.send_email("s", "b") is True
    finally:
        other.close()
    assert len(other.messages) == 1 and sink.messages == []


def test_no_email_without_recipients(sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POVDB_ALERT_EMAIL", " , ")
    assert notify.send_email("s", "b") is False
    assert sink.messages == []


def test_no_email_without_a_connection(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("POVDB_SMTP_CONN_ID", "povdb_smtp_not_configured")
    monkeypatch.setenv("POVDB_ALERT_EMAIL", "ops@example.org")
    with caplog.at_level("INFO", logger="pipeline.notify"):
        assert notify.send_email("s", "b") is False
    assert "no Airflow connection povdb_smtp_not_configured" in caplog.text


def test_unreachable_smtp_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stopped = SmtpSink()
    stopped.close()  # nothing listens on its port any more
    _connection(monkeypatch, stopped)
    monkeypatch.delenv("POVDB_SMTP_CONN_ID", raising=False)
    monkeypatch.setenv("POVDB_ALERT_EMAIL", "ops@example.org")
    assert notify.send_email("s", "b") is False
    assert "could not send the alert email" in caplog.text


def test_held_rows_alert(sink: SmtpSink) -> None:
    summary = {
        "delivery_date": "2015-03-01",
        "files_held": 0,
        "rows_held": 2,
        "held_reasons": {"id_check_char_invalid": 2},
    }
    notify.alert_held({**summary, "held_message": held_message(summary)})
    [(msg, body)] = _received(sink)
    assert msg["Subject"] == "[povdb] held rows in delivery 2015-03-01"
    assert "2 row(s) held for review (id_check_char_invalid (2))" in body


def test_nothing_held_no_alert(sink: SmtpSink) -> None:
    notify.alert_held({"delivery_date": "2015-03-01", "held_message": None})
    assert sink.messages == []


def test_failure_alert(sink: SmtpSink, tmp_path) -> None:
    context = {
        "params": {"data_root": str(tmp_path / "data")},
        "data_interval_start": pendulum.datetime(2015, 3, 2, tz="Asia/Shanghai"),
        "dag_run": SimpleNamespace(run_id="scheduled__2015-03-01T16:00:00+00:00"),
        "task_instance": SimpleNamespace(task_id="transform"),
        "exception": ValueError("disk says no"),
    }
    notify.task_failed(context)
    [(msg, body)] = _received(sink)
    assert msg["Subject"] == "[povdb] poverty_nightly failed for 2015-03-02"
    assert "task transform failed with ValueError(&#x27;disk says no&#x27;)" in body


def _deadline_context(exception: BaseException) -> dict:
    """What Airflow passes the failure callback of poverty_deadline's run at 08:00 on
    2015-03-03 (Asia/Shanghai), which checks 2015-03-02."""
    return {
        "logical_date": pendulum.datetime(2015, 3, 3, 8, tz="Asia/Shanghai"),
        "dag_run": SimpleNamespace(run_id="scheduled__2015-03-03T00:00:00+00:00"),
        "task_instance": SimpleNamespace(task_id="check_published"),
        "exception": exception,
    }


def test_deadline_alert_for_an_unpublished_date(sink: SmtpSink) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    verdict = AirflowFailException("delivery date 2015-03-02 is not published at ...")
    assert notify.deadline_missed(_deadline_context(verdict)) is True
    [(msg, body)] = _received(sink)
    assert msg["Subject"] == "[povdb] delivery date 2015-03-02 not published by its deadline"
    assert body == "<pre>delivery date 2015-03-02 is not published at ...</pre>"


def test_a_check_that_could_not_run_alerts_too(sink: SmtpSink, tmp_path) -> None:
    """A snapshot the check cannot read: the alert says it could not tell."""
    analytics = tmp_path / "analytics.duckdb"
    analytics.write_bytes(b"not a database")
    with pytest.raises(duckdb.Error) as failed:
        notify.published(analytics, dt.date(2015, 3, 2))
    assert notify.deadline_missed(_deadline_context(failed.value)) is True
    [(msg, body)] = _received(sink)
    assert msg["Subject"] == "[povdb] could not check that delivery date 2015-03-02 is published"
    assert "poverty_deadline could not tell whether delivery date 2015-03-02 is published" in body


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ({"delivery_date": "2015-03-01", "files_held": 0, "rows_held": 0}, None),
        (
            {
                "delivery_date": "2015-03-01",
                "files_held": 1,
                "rows_held": 3,
                "held_reasons": {"id_check_char_invalid": 2, "file_empty": 1},
            },
            "1 file(s) and 3 row(s) held for review (id_check_char_invalid (2), file_empty (1))",
        ),
    ],
    ids=["nothing-held", "held"],
)
def test_held_message(summary: dict, expected: str | None) -> None:
    message = held_message(summary)
    if expected is None:
        assert message is None
    else:
        assert message is not None and expected in message
