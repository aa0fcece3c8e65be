"""Pseudonymisation: persons are keyed by HMAC-SHA256 of their resident ID with a secret.

The secret comes from ``POVDB_PSEUDONYM_SECRET``, else the Airflow Variable
``povdb_pseudonym_secret``, else a file under the data root that is generated (mode 0600)
on first use with a warning. Losing the secret changes every key: back it up
(docs/runbook.md).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

ENV_VAR = "POVDB_PSEUDONYM_SECRET"
AIRFLOW_VARIABLE = "povdb_pseudonym_secret"


def _from_airflow() -> str | None:
    try:
        from airflow.sdk import Variable

        value = Variable.get(AIRFLOW_VARIABLE, default=None)
    except Exception:  # outside a task, or Airflow not configured: not an error
        return None
    return value or None


def load_secret(secret_file: Path) -> bytes:
    value = os.environ.get(ENV_VAR) or _from_airflow()
    if value:
        return value.encode()
    if secret_file.exists():
        return secret_file.read_text().strip().encode()
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    log.warning(
        "no pseudonymisation secret configured: generated %s (mode 0600). Back it up: "
        "losing it changes every person key (see docs/runbook.md).",
        secret_file,
    )
    return secret_file.read_text().strip().encode()


def person_key(secret: bytes, id_number: str) -> str:
    """The person's pseudonymous key: hex HMAC-SHA256 of the 18-character ID, first 32 chars."""
    return hmac.new(secret, id_number.encode(), hashlib.sha256).hexdigest()[:32]


def person_key_sql(column: str) -> str:
    """SQL for :func:`person_key` of a VARCHAR column, computed inside DuckDB.

    HMAC-SHA256 is ``H((K ^ opad) || H((K ^ ipad) || m))`` (RFC 2104); DuckDB's ``sha256``
    takes BLOBs, so the two padded keys come in as the parameters ``$hmac_ipad`` and
    ``$hmac_opad`` (:func:`person_key_params`). Keys stay identical to :func:`person_key`
    and the whole column is hashed in parallel, without a round trip through Python.
    """
    return f"left(sha256($hmac_opad || unhex(sha256($hmac_ipad || encode({column})))), 32)"


def person_key_params(secret: bytes) -> dict[str, bytes]:
    """The padded keys :func:`person_key_sql` needs, from the secret."""
    key = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    key = key.ljust(64, b"\0")
    return {
        "hmac_ipad": bytes(b ^ 0x36 for b in key),
        "hmac_opad": bytes(b ^ 0x5C for b in key),
    }
