"""The pseudonymisation secret: where it is read from, and the fingerprint that keeps a run
from keying persons with another secret than the warehouse's."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import ErrorResponse, GetVariable, VariableResult

import settings
from contract import pseudonym
from warehouse import secret
from warehouse.loader import connect, migrate

VARIABLE = settings.SECRET_AIRFLOW_VARIABLE


@pytest.fixture
def no_env_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.SECRET_ENV_VAR, raising=False)


# --- the fingerprint -----------------------------------------------------------------------


def test_the_fingerprint_tells_secrets_apart_and_gives_away_no_key() -> None:
    long = b"k" * 65  # longer than a block: HMAC keys person IDs with SHA-256 of it
    found = secret.fingerprint(long)
    assert found == secret.fingerprint(long) != secret.fingerprint(b"k" * 64)
    assert len(found) == 64 and set(found) <= set("0123456789abcdef")
    assert hashlib.sha256(long).hexdigest() != found
    assert pseudonym.person_key(long, secret.LABEL.decode()) == found[:32]  # a keyed hash...
    assert len(secret.LABEL) != 18, "...of a label that is no resident ID"


def test_the_command_prints_a_files_fingerprint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "backup"
    backup.write_text("the secret\n")
    assert secret.main([str(backup)]) == 0
    assert capsys.readouterr().out.strip() == secret.fingerprint(b"the secret")


# --- the Airflow Variable --------------------------------------------------------------------


class FakeSupervisor:
    """What a task's process asks the Airflow supervisor through, answering GetVariable
    with ``answer`` (a reply, or an exception to raise)."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.asked = 0

    def send(self, msg: object) -> object:
        if not isinstance(msg, GetVariable):
            return None  # MaskSecret and the like
        assert msg.key == VARIABLE
        self.asked += 1
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def _in_a_task(monkeypatch: pytest.MonkeyPatch, answer: object) -> FakeSupervisor:
    supervisor = FakeSupervisor(answer)
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", supervisor, raising=False)
    return supervisor


def test_outside_a_task_airflow_is_not_imported_to_find_the_secret(tmp_path: Path) -> None:
    # A process that is no Airflow task (povdb, the benchmark) reads the secret without
    # importing Airflow, which alone costs seconds at every load.
    secret_file = tmp_path / "secret"
    secret_file.write_text("from the file\n")
    probe = (
        "import sys, settings;"
        f"found = settings.configured_secret(__import__('pathlib').Path({str(secret_file)!r}));"
        "print(found[0].decode(), sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))"
    )
    env = {k: v for k, v in os.environ.items() if k != settings.SECRET_ENV_VAR}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(settings.__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "from the file []"


def test_outside_a_task_the_variable_is_absent_and_not_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert getattr(task_runner, "SUPERVISOR_COMMS", None) is None
    monkeypatch.setattr(
        "airflow.sdk.Variable.get", lambda *a, **k: pytest.fail("asked outside a task")
    )
    assert settings._secret_from_airflow() is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (VariableResult(key=VARIABLE, value="from the variable"), "from the variable"),
        (VariableResult(key=VARIABLE, value=""), None),
        (ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"key": VARIABLE}), None),
    ],
    ids=["set", "empty", "not-set"],
)
def test_in_a_task_the_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, answer: object, expected: str | None
) -> None:
    _in_a_task(monkeypatch, answer)
    assert settings._secret_from_airflow() == expected


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (
            AirflowRuntimeError(
                ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail={"status_code": 500})
            ),
            "API_SERVER_ERROR",
        ),
        (
            AirflowRuntimeError(
                ErrorResponse(
                    error=ErrorType.API_SERVER_ERROR,
                    detail={"message": "cryptography.fernet.InvalidToken"},
                )
            ),
            "InvalidToken",
        ),
        (ConnectionResetError("supervisor went away"), "supervisor went away"),
        (
            ErrorResponse(error=ErrorType.PERMISSION_DENIED, detail={"status_code": 403}),
            "Access denied",
        ),
    ],
    ids=["api-server-error", "cannot-decrypt", "broken-pipe", "permission-denied"],
)
def test_in_a_task_a_failed_lookup_fails_instead_of_falling_back(
    monkeypatch: pytest.MonkeyPatch, no_env_secret: None, tmp_path: Path, answer: object, cause: str
) -> None:
    supervisor = _in_a_task(monkeypatch, answer)
    secret_file = tmp_path / ".pseudonym_secret"
    with pytest.raises(settings.SecretUnavailable) as failed:
        settings.pseudonym_secret(secret_file)
    assert f"could not read the Airflow Variable {VARIABLE}" in str(failed.value)
    assert cause in str(failed.value)
    assert supervisor.asked >= 1
    assert not secret_file.exists(), "no secret generated in its place"


def test_in_a_task_an_unset_variable_falls_back_to_the_file(
    monkeypatch: pytest.MonkeyPatch, no_env_secret: None, tmp_path: Path
) -> None:
    _in_a_task(monkeypatch, ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND))
    secret_file = tmp_path / ".pseudonym_secret"
    secret_file.write_text("from the file\n")
    assert settings.configured_secret(secret_file) == (b"from the file", str(secret_file))


def test_the_environment_wins_without_asking_airflow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(settings.SECRET_ENV_VAR, "from the environment")
    supervisor = _in_a_task(monkeypatch, AssertionError("Airflow asked"))
    assert settings.configured_secret(tmp_path / "none") == (
        b"from the environment",
        settings.SECRET_ENV_VAR,
    )
    assert supervisor.asked == 0


# --- the fingerprint the warehouse records ----------------------------------------------------

RECORDED = "the warehouse's secret"


def _warehouse(
    paths: settings.Paths, *, migrated: bool = True, recorded: str | None = None
) -> None:
    """A warehouse file: as a release before the fingerprint left it (``migrated`` False:
    one table of its own), migrated, and with ``recorded``'s fingerprint recorded."""
    con = connect(paths.warehouse)
    try:
        if not migrated:
            con.execute("CREATE SCHEMA core; CREATE TABLE core.person_keys (id VARCHAR)")
            return
        migrate(con)
        if recorded is not None:
            con.execute(
                secret.sqlfiles.read("meta/secret_record.sql"),
                {"fingerprint": secret.fingerprint(recorded.encode()), "run_id": "first"},
            )
    finally:
        con.close()


def _rows(paths: settings.Paths) -> list[tuple[str, str]]:
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        return con.execute("SELECT fingerprint, run_id FROM meta.pseudonym_secret").fetchall()
    finally:
        con.close()


def _env(value: str) -> Callable[[pytest.MonkeyPatch, settings.Paths], None]:
    def configure(monkeypatch: pytest.MonkeyPatch, paths: settings.Paths) -> None:
        monkeypatch.setenv(settings.SECRET_ENV_VAR, value)

    return configure


def _file(value: str) -> Callable[[pytest.MonkeyPatch, settings.Paths], None]:
    def configure(monkeypatch: pytest.MonkeyPatch, paths: settings.Paths) -> None:
        monkeypatch.delenv(settings.SECRET_ENV_VAR, raising=False)
        paths.secret.write_text(value + "\n")

    return configure


def _nothing(monkeypatch: pytest.MonkeyPatch, paths: settings.Paths) -> None:
    monkeypatch.delenv(settings.SECRET_ENV_VAR, raising=False)


@pytest.mark.parametrize(
    ("warehouse", "configure", "refused"),
    [
        (None, _env("another"), None),
        ({"migrated": False}, _env("another"), None),
        ({}, _env("another"), None),
        ({"recorded": RECORDED}, _env(RECORDED), None),
        ({"recorded": RECORDED}, _file(RECORDED), None),
        ({"recorded": RECORDED}, _env("another"), "the pseudonymisation secret from POVDB_"),
        ({"recorded": RECORDED}, _file("another"), "the pseudonymisation secret from /"),
        ({"recorded": RECORDED}, _nothing, "no pseudonymisation secret is configured"),
    ],
    ids=[
        "no-warehouse",
        "previous-release",
        "nothing-recorded-yet",
        "same-from-env",
        "same-from-file",
        "other-from-env",
        "other-from-file",
        "none-configured",
    ],
)
def test_a_run_goes_on_only_with_the_warehouses_secret(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    warehouse: dict | None,
    configure: Callable[[pytest.MonkeyPatch, settings.Paths], None],
    refused: str | None,
) -> None:
    paths = settings.Paths(tmp_path).ensure()
    if warehouse is not None:
        _warehouse(paths, **warehouse)
    configure(monkeypatch, paths)
    had_file = paths.secret.exists()
    if refused is None:
        secret.check(paths)
        return
    with pytest.raises(secret.SecretMismatch) as failed:
        secret.check(paths)
    message = str(failed.value)
    assert message.startswith(refused), message
    assert secret.fingerprint(RECORDED.encode())[:16] in message
    assert "by run first" in message and str(paths.warehouse) in message
    assert "nothing was changed" in message
    assert "restore the secret from its backup" in message and "docs/runbook.md" in message
    assert paths.secret.exists() == had_file, "check generates no secret"
    with pytest.raises(secret.SecretMismatch):
        secret.verified_secret(paths)


def test_the_first_load_records_the_fingerprint_and_later_ones_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = settings.Paths(tmp_path).ensure()
    _warehouse(paths)
    monkeypatch.setenv(settings.SECRET_ENV_VAR, RECORDED)
    for run_id in ("first", "second"):
        con = connect(paths.warehouse)
        secret.record_fingerprint(con, paths.secret, run_id)
        con.close()
    assert _rows(paths) == [(secret.fingerprint(RECORDED.encode()), "first")]
    assert secret.verified_secret(paths) == RECORDED.encode()

    monkeypatch.setenv(settings.SECRET_ENV_VAR, "another")
    con = connect(paths.warehouse)
    try:
        with pytest.raises(secret.SecretMismatch, match="person keys of this warehouse"):
            secret.record_fingerprint(con, paths.secret, "third")
    finally:
        con.close()
    assert _rows(paths) == [(secret.fingerprint(RECORDED.encode()), "first")]


def test_without_a_recorded_fingerprint_the_publish_keys_with_the_configured_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = settings.Paths(tmp_path).ensure()
    _warehouse(paths, migrated=False)
    monkeypatch.setenv(settings.SECRET_ENV_VAR, "any")
    assert secret.verified_secret(paths) == b"any"
