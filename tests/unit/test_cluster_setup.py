"""`povdb cluster`'s refusals, before it starts anything: a server binary missing, a port
taken, `import-metadata` from a home without an embedded Airflow, to a cluster that is not
up, or with an Airflow command that fails; and the Airflow configuration it gives every
component."""

from __future__ import annotations

import json
import os
import socket
import tempfile
from pathlib import Path

import pytest

from povdb import cli, cluster


@pytest.fixture
def fake_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand-ins for initdb, pg_ctl and redis-server that must never run."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("initdb", "pg_ctl", "redis-server"):
        exe = bindir / name
        exe.write_text("#!/bin/sh\necho must not run >&2\nexit 99\n")
        exe.chmod(0o755)
    monkeypatch.setenv("POVDB_PG_BINDIR", str(bindir))
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setenv("POVDB_CLUSTER_DIR", str(tmp_path / "cluster"))
    return bindir


def test_missing_servers_are_named_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POVDB_PG_BINDIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(cluster.ClusterError) as err:
        cluster.up(tmp_path / "cluster", echo=lambda *_: None)
    message = str(err.value)
    assert "initdb and pg_ctl" in message and "apt-get install -y postgresql" in message
    assert "redis-server" in message and "apt-get install -y redis-server" in message
    assert not (tmp_path / "cluster").exists(), "nothing was made"


def test_a_taken_port_is_refused_before_anything_starts(
    fake_servers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        cluster._postgres_user()
    except cluster.ClusterError:
        pytest.skip("root without a postgres user: refused for that reason first")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("AIRFLOW__API__PORT", str(port))
        with pytest.raises(cluster.ClusterError, match=rf"port {port} .*API server.*is taken"):
            cluster.up(echo=lambda *_: None)
    layout = cluster.Layout(tmp_path / "cluster")
    assert not layout.pgdata.exists() and cluster.running(layout) == {}


def test_status_without_a_cluster(tmp_path: Path) -> None:
    ok, lines = cluster.status(tmp_path / "none")
    assert not ok and "povdb cluster up starts one" in lines[0]


def test_down_without_a_cluster_stops_nothing(tmp_path: Path) -> None:
    assert cluster.down(tmp_path / "none", echo=lambda *_: None) == []


def test_every_component_gets_the_cluster_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The environment's embedded settings (SQLite, LocalExecutor) do not leak in.
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite:////tmp/x.db")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    layout = cluster.Layout(tmp_path / "cluster")
    state = {"postgres_port": 5999, "redis_port": 6999, "api_port": 8999}
    secrets = {
        "postgres_password": "pg",
        "redis_password": "rd",
        "jwt_secret": "jwt",
        "fernet_key": "fk",
    }
    env = cluster.airflow_env(layout, state, secrets)
    db = "postgresql+psycopg2://airflow:pg@127.0.0.1:5999/airflow"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == db
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:rd@127.0.0.1:6999/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + db
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8999/execution/"
    assert env["POVDB_CLUSTER_DIR"] == str(layout.root)


def _import_metadata(*args: str) -> int:
    return cli.main(["cluster", "import-metadata", *args])


def test_import_metadata_needs_an_embedded_home_with_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POVDB_CLUSTER_DIR", str(tmp_path / "cluster"))
    home = tmp_path / "embedded"
    home.mkdir()
    (home / "airflow.cfg").write_text("[core]\n")  # a home, but Airflow never ran in it
    assert _import_metadata("--from", str(home)) == 2
    err = capsys.readouterr().err
    assert f"no embedded Airflow metadata database in {home} (no airflow.db" in err
    assert "give --from the AIRFLOW_HOME the embedded Airflow ran with" in err
    assert not (tmp_path / "cluster").exists(), "nothing was made"

    assert _import_metadata() == 2
    assert "--from <the embedded AIRFLOW_HOME>" in capsys.readouterr().err


def test_import_metadata_needs_the_cluster_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POVDB_CLUSTER_DIR", str(tmp_path / "cluster"))
    home = tmp_path / "embedded"
    home.mkdir()
    (home / "airflow.db").touch()
    assert _import_metadata("--from", str(home)) == 2
    err = capsys.readouterr().err
    assert f"the cluster in {tmp_path / 'cluster'} is not up: povdb cluster up first" in err
    assert not (tmp_path / "cluster").exists(), "nothing was made"
    assert (home / "airflow.db").read_bytes() == b"", "the embedded home is left as it was"


def test_from_goes_with_import_metadata_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POVDB_CLUSTER_DIR", str(tmp_path / "cluster"))
    assert cli.main(["cluster", "status", "--from", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert "povdb cluster status: --from goes with import-metadata only" in out.err
    assert out.out == "", "status did not run"


def test_a_failing_airflow_export_is_shown_and_the_exports_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A cluster whose PostgreSQL "runs" (its pid file names this process), and an airflow
    # that records what it was given and fails as on a database it cannot read.
    layout = cluster.Layout(tmp_path / "cluster")
    layout.pids.mkdir(parents=True)
    layout.pid_file("postgres").write_text(f"{os.getpid()}\n")
    layout.state.write_text(json.dumps({"postgres_port": 1, "redis_port": 2, "api_port": 3}))
    keys = ("postgres_password", "redis_password", "jwt_secret", "fernet_key")
    layout.secrets.write_text(json.dumps(dict.fromkeys(keys, "x")))
    monkeypatch.setenv("POVDB_CLUSTER_DIR", str(layout.root))
    seen = tmp_path / "seen"
    airflow = tmp_path / "airflow"
    airflow.write_text(
        "#!/bin/sh\n"
        f'stat -c "%a %n" "$(dirname "$3")" "$3" >> {seen}\n'
        f'echo "$AIRFLOW_HOME $AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" >> {seen}\n'
        'echo "sqlite3.OperationalError: no such table: $1" >&2\n'
        "exit 1\n"
    )
    airflow.chmod(0o755)
    monkeypatch.setattr(cluster, "_airflow_bin", lambda: str(airflow))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    home = tmp_path / "embedded"
    home.mkdir()
    (home / "airflow.db").touch()

    assert _import_metadata("--from", str(home)) == 2
    err = capsys.readouterr().err
    for kind in ("variables", "connections", "pools"):
        assert f"`airflow {kind} export` on the embedded Airflow in {home} failed (exit 1)" in err
        assert f"no such table: {kind}" in err
    lines = seen.read_text().splitlines()
    # Each export went to a file only its owner may read, in a folder only its owner may
    # enter, on the embedded home's own database.
    assert sorted(line.split()[0] for line in lines if line.startswith(("600", "700"))) == [
        *["600"] * 3,
        *["700"] * 3,
    ]
    assert lines.count(f"{home} sqlite:///{home / 'airflow.db'}") == 3
    assert list(temp.iterdir()) == [], "the exports were removed"
