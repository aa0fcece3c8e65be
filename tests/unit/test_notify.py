"""Alerts: email only when SMTP is configured, and a clear held-delivery message."""

from __future__ import annotations

import pytest
from support import SmtpSink, free_port

from pipeline import notify
from warehouse.load import held_message


def test_no_email_without_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POVDB_SMTP_HOST", raising=False)
    monkeypatch.setenv("POVDB_ALERT_EMAIL", "ops@example.org")
    assert notify.send_email("s", "b") is False


def test_email_when_smtp_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = SmtpSink()
    try:
        monkeypatch.setenv("POVDB_SMTP_HOST", f"127.0.0.1:{sink.port}")
        monkeypatch.setenv("POVDB_ALERT_EMAIL", "ops@example.org, duty@example.org")
        assert notify.send_email("[povdb] subject", "the body") is True
        assert len(sink.messages) == 1
        assert "Subject: [povdb] subject" in sink.messages[0]
        assert "the body" in sink.messages[0]
    finally:
        sink.close()


def test_unreachable_smtp_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    port = free_port()  # bound and released: nothing listens there
    monkeypatch.setenv("POVDB_SMTP_HOST", f"127.0.0.1:{port}")
    monkeypatch.setenv("POVDB_ALERT_EMAIL", "ops@example.org")
    assert notify.send_email("s", "b") is False
    assert "could not send the alert email" in caplog.text


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
