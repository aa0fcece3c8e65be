"""The pseudonymisation secret the warehouse's person keys were made with, by fingerprint.

The core tables store each person's key beside their resident ID and the snapshot publishes
it, so a run under another secret would give persons keys that match nobody keyed before
(analysts' joins across snapshots would break), and nothing would say so. The first load
records a fingerprint of its secret in ``meta.pseudonym_secret``; a run whose
secret has another fingerprint stops before it writes anything (:func:`check`), and so
do the load (:func:`record_fingerprint`) and the publish (:func:`verified_secret`).

``python -m warehouse.secret FILE`` prints the fingerprint of the secret in FILE (a backup,
say), to compare with the one a warehouse records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import sys
from pathlib import Path
from typing import NamedTuple

import duckdb

import settings
from settings import Paths
from warehouse import sqlfiles
from warehouse.loader import connect

# An HMAC of a fixed label under the secret, not a hash of the secret: for secrets longer
# than a block, SHA-256 of the secret is the very key HMAC uses for person keys. The label
# is not a resident ID, so the fingerprint is no person's key either; without the secret it
# is of no use.
LABEL = b"povdb pseudonymisation secret fingerprint"
RUNBOOK = 'docs/runbook.md, "The pseudonymisation secret"'


class SecretMismatch(RuntimeError):
    """The run's pseudonymisation secret is not the one the warehouse's keys were made with."""


class Recorded(NamedTuple):
    fingerprint: str
    run_id: str
    loaded_at: dt.datetime


def fingerprint(secret: bytes) -> str:
    """Hex HMAC-SHA256 of :data:`LABEL` under ``secret``."""
    return hmac.new(secret, LABEL, hashlib.sha256).hexdigest()


def _recorded(con: duckdb.DuckDBPyConnection) -> Recorded | None:
    row = con.execute(sqlfiles.read("meta/secret_recorded.sql")).fetchone()
    return Recorded(*row) if row else None


def _recorded_in(warehouse: Path) -> Recorded | None:
    """What ``warehouse`` records, read-only; None for a warehouse that does not exist yet,
    was made by a release without the table, or has not recorded it yet."""
    if not warehouse.exists():
        return None
    con = connect(warehouse, read_only=True)
    try:
        return _recorded(con)
    except duckdb.CatalogException:
        return None
    finally:
        con.close()


def _verified(recorded: Recorded, secret_file: Path, warehouse: str) -> bytes:
    """The configured secret, if its fingerprint is the recorded one; else SecretMismatch."""
    when = (
        f"recorded in meta.pseudonym_secret by run {recorded.run_id}"
        f" on {recorded.loaded_at:%Y-%m-%d}"
    )
    todo = (
        " The step stopped before writing anything: nothing was changed. To do: restore the"
        f" secret from its backup ({RUNBOOK}), then run again."
    )
    found = settings.configured_secret(secret_file)
    if found is None:
        raise SecretMismatch(
            f"no pseudonymisation secret is configured ({settings.SECRET_ENV_VAR}, the Airflow"
            f" Variable {settings.SECRET_AIRFLOW_VARIABLE} and {secret_file} are all absent),"
            f" but the person keys of {warehouse} were made with one (fingerprint"
            f" {recorded.fingerprint[:16]}, {when}). A new secret would give new persons keys"
            " that match nobody keyed before." + todo
        )
    secret, source = found
    if (ours := fingerprint(secret)) != recorded.fingerprint:
        raise SecretMismatch(
            f"the pseudonymisation secret from {source} is not the one the person keys of"
            f" {warehouse} were made with: its fingerprint {ours[:16]} differs from"
            f" {recorded.fingerprint[:16]}, {when}. Persons keyed with it would match nobody"
            " keyed before." + todo
        )
    return secret


def check(paths: Paths) -> None:
    """Before a run writes anything: raise SecretMismatch unless its secret is the one the
    warehouse recorded. The warehouse is opened read-only; one without a fingerprint passes
    (its next load records one)."""
    if (recorded := _recorded_in(paths.warehouse)) is not None:
        _verified(recorded, paths.secret, str(paths.warehouse))


def verified_secret(paths: Paths) -> bytes:
    """The secret to key persons with outside the load: the configured one once its
    fingerprint matches the warehouse's (SecretMismatch otherwise)."""
    if (recorded := _recorded_in(paths.warehouse)) is None:
        return settings.pseudonym_secret(paths.secret)
    return _verified(recorded, paths.secret, str(paths.warehouse))


def record_fingerprint(con: duckdb.DuckDBPyConnection, secret_file: Path, run_id: str) -> None:
    """In the load's transaction, after the migrations: record the fingerprint of the secret
    if none is recorded yet, else raise SecretMismatch unless it matches."""
    if (recorded := _recorded(con)) is not None:
        _verified(recorded, secret_file, "this warehouse")
        return
    con.execute(
        sqlfiles.read("meta/secret_record.sql"),
        {"fingerprint": fingerprint(settings.pseudonym_secret(secret_file)), "run_id": run_id},
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m warehouse.secret", description=__doc__)
    p.add_argument("file", type=Path, help="a file holding a pseudonymisation secret")
    a = p.parse_args(argv)
    # Read as settings reads the secret file: surrounding whitespace is not part of it.
    print(fingerprint(a.file.read_text().strip().encode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
