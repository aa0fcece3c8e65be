"""Pseudonymisation: persons are keyed by HMAC-SHA256 of their resident ID with a secret.

The secret is a setting (``settings.pseudonym_secret``); losing it changes every key:
back it up (docs/runbook.md).
"""

from __future__ import annotations

import hashlib
import hmac


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
