"""``povdb cluster up|down|status``: the DAG on real servers, all on this host.

PostgreSQL holds Airflow's metadata (a private cluster made with ``initdb`` and run with
``pg_ctl``, as the current user, or as ``postgres`` when run as root), Redis is the Celery
broker, and Airflow's API server, scheduler, DAG processor, triggerer and the Celery workers
(one task at a time each) run as separate processes. Everything lives under one folder
(``settings.cluster_dir()``, default ``<AIRFLOW_HOME>/cluster``):

    postgres/        the database cluster         redis/      Redis' config and dump
    logs/<name>.log  every server's own log       pids/       one pid file per server
    cluster.json     the ports of the last ``up`` secrets.json  passwords and keys (0600)

Task logs stay where Airflow writes them, ``<AIRFLOW_HOME>/logs``. Every process started
carries ``POVDB_CLUSTER_DIR`` in its environment; ``down`` stops the servers by their pids
and then whatever still carries it, so nothing is left running. docs/runbook.md, "The
cluster", says how to use it and how a deployment on several hosts differs;
``import-metadata`` carries an embedded Airflow's Variables, Connections and Pools over to
it ("Moving from embedded to cluster").
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import settings

GRACE = 30.0  # seconds the servers get to stop before they are killed
READY_WITHIN = 240.0  # seconds `up` waits for every server to be ready
DB_NAME = DB_USER = "airflow"
AIRFLOW_SERVERS = ("api-server", "scheduler", "dag-processor", "triggerer")


class ClusterError(RuntimeError):
    """The cluster cannot be started or stopped; the message says why and what to do."""


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "postgres"

    @property
    def redis(self) -> Path:
        return self.root / "redis"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def state(self) -> Path:
        return self.root / "cluster.json"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.pids / f"{name}.pid"


def worker_names(count: int | None = None) -> list[str]:
    return [f"worker{i}" for i in range(1, (count or settings.cluster_workers()) + 1)]


# --- processes -------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _read_pid(file: Path) -> int | None:
    try:
        return int(file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def marked_processes(root: Path) -> list[int]:
    """Pids of the processes started for the cluster in ``root`` (by the environment
    marker), this process and its ancestors excepted."""
    marker = f"POVDB_CLUSTER_DIR={root}".encode()
    mine = {os.getpid()}
    pid = os.getpid()
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
        mine.add(pid)
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in mine:
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0") and _alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return sorted(found)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _stop_pids(pids: list[int], grace: float) -> list[int]:
    """SIGTERM to each pid's process group, SIGKILL to what is left after ``grace``;
    the pids that would not die."""
    for pid in pids:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the servers -----------------------------------------------------------------------


def _secrets(layout: Layout) -> dict[str, str]:
    """Passwords and keys of this cluster, made once (mode 0600)."""
    if layout.secrets.exists():
        return json.loads(layout.secrets.read_text())
    values = {
        "postgres_password": secrets.token_urlsafe(24),
        "redis_password": secrets.token_urlsafe(24),
        "jwt_secret": secrets.token_urlsafe(32),
        "fernet_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    fd = os.open(layout.secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh)
    return values


def _postgres_user() -> str | None:
    """Who runs PostgreSQL: None for the current user; ``postgres`` for root (PostgreSQL
    refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError(
            "running as root, and PostgreSQL refuses to run as root: there is no `postgres`"
            " user to run it as. Install Debian's postgresql package (it creates one), or run"
            " povdb cluster as an ordinary user."
        ) from None
    return "postgres"


def _as(user: str | None, command: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *command] if user else command


def _binaries() -> tuple[Path, str]:
    """PostgreSQL's bin folder and redis-server, or ClusterError saying what to install."""
    bindir = settings.postgres_bindir()
    missing = []
    if bindir is None or not (bindir / "initdb").exists() or not (bindir / "pg_ctl").exists():
        missing.append(
            "PostgreSQL's initdb and pg_ctl (Debian: apt-get install -y postgresql; or set"
            " POVDB_PG_BINDIR to the folder that holds them)"
        )
    redis = shutil.which("redis-server")
    if redis is None:
        missing.append("redis-server (Debian: apt-get install -y redis-server)")
    if missing:
        raise ClusterError("cannot start the cluster: missing " + "; and ".join(missing))
    assert bindir is not None and redis is not None
    return bindir, redis


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise ClusterError(
            f"{what} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}"
        )


def _init_postgres(layout: Layout, bindir: Path, user: str | None, password: str) -> None:
    if (layout.pgdata / "PG_VERSION").exists():
        return
    layout.pgdata.mkdir(mode=0o700)
    pwfile = layout.root / ".pgpass.init"
    pwfile.write_text(password + "\n")
    if user:
        entry = pwd.getpwnam(user)
        for path in (layout.pgdata, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        probe = subprocess.run(_as(user, ["test", "-w", str(layout.pgdata)]))
        if probe.returncode:
            pwfile.unlink()
            layout.pgdata.rmdir()
            raise ClusterError(
                f"the `{user}` user cannot reach {layout.pgdata}: PostgreSQL runs as that user"
                f" when povdb runs as root. Let it traverse the parent folders (chmod o+x),"
                f" or set POVDB_CLUSTER_DIR to a folder it can reach."
            )
    try:
        _run(
            _as(
                user,
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(layout.pgdata),
                    "-U",
                    DB_USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
            ),
            "initdb",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    with open(layout.pgdata / "postgresql.conf", "a") as conf:
        # TCP on localhost only, no Unix socket (its default folder belongs to the system's
        # PostgreSQL); the port is given at each start.
        conf.write(
            "\n# povdb cluster\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
            "max_connections = 200\n"
        )


def _start_postgres(
    layout: Layout, bindir: Path, user: str | None, port: int, password: str
) -> None:
    log = layout.log("postgres")
    log.touch()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(log, entry.pw_uid, entry.pw_gid)
    _run(
        _as(
            user,
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(layout.pgdata),
                "-l",
                str(log),
                "-o",
                f"-p {port}",
                "-w",
                "-t",
                "60",
                "start",
            ],
        ),
        f"starting PostgreSQL on port {port} (log: {log})",
        env=_marked_env(layout),
    )
    pid = _read_pid(layout.pgdata / "postmaster.pid")
    layout.pid_file("postgres").write_text(f"{pid}\n")
    import psycopg2

    con = psycopg2.connect(
        host="127.0.0.1", port=port, user=DB_USER, password=password, dbname="postgres"
    )
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if cur.fetchone() is None:
                cur.execute(f"CREATE DATABASE {DB_NAME}")
    finally:
        con.close()


def _stop_postgres(layout: Layout) -> None:
    bindir = settings.postgres_bindir()
    if not (layout.pgdata / "postmaster.pid").exists() or bindir is None:
        return
    user = _postgres_user()
    subprocess.run(
        _as(user, [str(bindir / "pg_ctl"), "-D", str(layout.pgdata), "-m", "fast", "-w", "stop"]),
        capture_output=True,
    )


def _start_redis(layout: Layout, redis: str, port: int, password: str) -> subprocess.Popen:
    layout.redis.mkdir(exist_ok=True)
    conf = layout.redis / "redis.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\nprotected-mode yes\nrequirepass {password}\n"
        f'dir {layout.redis}\ndaemonize no\nlogfile ""\nsave ""\nappendonly no\n'
    )
    conf.chmod(0o600)
    return _spawn(layout, "redis", [redis, str(conf)], _marked_env(layout))


def _marked_env(layout: Layout, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(base if base is not None else os.environ)
    env["POVDB_CLUSTER_DIR"] = str(layout.root)
    return env


def _spawn(layout: Layout, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
    with open(layout.log(name), "ab") as log:
        proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    layout.pid_file(name).write_text(f"{proc.pid}\n")
    return proc


def airflow_env(layout: Layout, state: dict, secrets_: dict[str, str]) -> dict[str, str]:
    """The environment every Airflow process of the cluster runs with."""
    pw = secrets_["postgres_password"]
    db_url = f"postgresql+psycopg2://{DB_USER}:{pw}@127.0.0.1:{state['postgres_port']}/{DB_NAME}"
    broker = f"redis://:{secrets_['redis_password']}@127.0.0.1:{state['redis_port']}/0"
    env = dict(os.environ)
    env.update(
        settings.cluster_airflow_env(
            db_url=db_url,
            broker_url=broker,
            api_port=state["api_port"],
            jwt_secret=secrets_["jwt_secret"],
            fernet_key=secrets_["fernet_key"],
        )
    )
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return _marked_env(layout, env)


def _airflow_bin() -> str:
    exe = Path(sys.executable).with_name("airflow")
    return str(exe) if exe.exists() else "airflow"


def _ports(layout: Layout) -> dict[str, int]:
    wanted = {
        "postgres_port": (settings.cluster_port("postgres"), "POVDB_CLUSTER_PG_PORT", "PostgreSQL"),
        "redis_port": (settings.cluster_port("redis"), "POVDB_CLUSTER_REDIS_PORT", "Redis"),
        "api_port": (settings.api_port(), "AIRFLOW__API__PORT", "Airflow's API server"),
    }
    chosen: dict[str, int] = {}
    for key, (port, var, what) in wanted.items():
        if port == 0:
            port = _free_port()
            while port in chosen.values():
                port = _free_port()
        elif not port_free(port):
            raise ClusterError(
                f"port {port} on 127.0.0.1, for {what}, is taken by another process: stop it,"
                f" or set {var} to a free port"
            )
        chosen[key] = port
    return chosen


def _http_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def _log_size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def _ready(layout: Layout, state: dict, since: dict[str, int]) -> list[str]:
    """What is not ready yet (empty: everything is); a worker's log is read from where it
    ended before this start (``since``)."""
    waiting = []
    try:
        health = _http_json(f"http://127.0.0.1:{state['api_port']}/api/v2/monitor/health")
    except (OSError, ValueError):
        return ["api-server"]
    for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
        if (health.get(part) or {}).get("status") != "healthy":
            waiting.append(part.replace("_", "-"))
    for name in state["workers"]:
        try:
            with open(layout.log(name), "rb") as fh:
                fh.seek(since.get(name, 0))
                text = fh.read().decode(errors="replace")
        except OSError:
            text = ""
        if f"{name}@" not in text or " ready." not in text:
            waiting.append(name)
    return waiting


def _tail(file: Path, lines: int = 30) -> str:
    try:
        return "\n".join(file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _recorded(layout: Layout) -> dict[str, int]:
    if not layout.pids.exists():
        return {}
    found = {}
    for file in sorted(layout.pids.glob("*.pid")):
        pid = _read_pid(file)
        if pid is not None:
            found[file.stem] = pid
    return found


def running(layout: Layout) -> dict[str, int]:
    """The cluster's servers that run now, by name."""
    return {name: pid for name, pid in _recorded(layout).items() if _alive(pid)}


def up(root: Path | None = None, *, echo=print) -> dict:
    """Start every server, wait until each is ready and return the cluster's state. On any
    failure everything started is stopped again and ClusterError says why."""
    layout = Layout(root or settings.cluster_dir())
    bindir, redis = _binaries()
    user = _postgres_user()
    layout.root.mkdir(parents=True, exist_ok=True)
    if alive := running(layout):
        raise ClusterError(
            f"the cluster in {layout.root} is already up ({', '.join(sorted(alive))}):"
            " `povdb cluster status` shows it, `povdb cluster down` stops it"
        )
    for folder in (layout.logs, layout.pids):
        folder.mkdir(exist_ok=True)
    for stale in layout.pids.glob("*.pid"):
        stale.unlink()
    state: dict = {**_ports(layout), "workers": worker_names(), "host": settings.hostname()}
    secrets_ = _secrets(layout)
    layout.state.write_text(json.dumps(state, indent=1) + "\n")
    try:
        echo(f"PostgreSQL on 127.0.0.1:{state['postgres_port']} ({layout.pgdata}) ...")
        _init_postgres(layout, bindir, user, secrets_["postgres_password"])
        _start_postgres(layout, bindir, user, state["postgres_port"], secrets_["postgres_password"])
        echo(f"Redis on 127.0.0.1:{state['redis_port']} ...")
        _start_redis(layout, redis, state["redis_port"], secrets_["redis_password"])
        env = airflow_env(layout, state, secrets_)
        echo("Airflow metadata database: migrating ...")
        settings.airflow_home().mkdir(parents=True, exist_ok=True)
        with open(layout.log("db-migrate"), "ab") as log:
            migrate = subprocess.run(
                [_airflow_bin(), "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        if migrate.returncode:
            raise ClusterError(
                f"airflow db migrate failed (exit {migrate.returncode}):\n"
                + _tail(layout.log("db-migrate"))
            )
        airflow = _airflow_bin()
        for name in AIRFLOW_SERVERS:
            extra = ["--port", str(state["api_port"])] if name == "api-server" else []
            _spawn(layout, name, [airflow, name, *extra], env)
        since = {name: _log_size(layout.log(name)) for name in state["workers"]}
        for name in state["workers"]:
            worker_env = {**env, "POVDB_HOSTNAME": f"{name}@{state['host']}"}
            command = [airflow, "celery", "worker", "--concurrency", "1"]
            command += ["--celery-hostname", f"{name}@{state['host']}", "--skip-serve-logs"]
            _spawn(layout, name, command, worker_env)
        echo(
            f"Airflow: api-server on http://127.0.0.1:{state['api_port']}, scheduler,"
            f" dag-processor, triggerer, {len(state['workers'])} Celery workers; waiting ..."
        )
        deadline = time.monotonic() + READY_WITHIN
        while waiting := _ready(layout, state, since):
            dead = [n for n, pid in _recorded(layout).items() if not _alive(pid)]
            if dead:
                raise ClusterError(
                    f"{', '.join(dead)} stopped while starting; its log ({layout.log(dead[0])}):\n"
                    + _tail(layout.log(dead[0]))
                )
            if time.monotonic() > deadline:
                first = {"metadatabase": "postgres"}.get(waiting[0], waiting[0])
                raise ClusterError(
                    f"not ready after {READY_WITHIN:.0f} s: {', '.join(waiting)}; logs in"
                    f" {layout.logs}. The end of {layout.log(first)}:\n" + _tail(layout.log(first))
                )
            time.sleep(1)
    except BaseException:
        echo("Stopping what was started ...")
        down(layout.root, echo=lambda *_: None)
        raise
    return state


def down(root: Path | None = None, *, echo=print) -> list[int]:
    """Stop every server of the cluster and whatever else still runs for it (Celery's
    pool, task processes); the pids that could not be stopped (empty: none)."""
    layout = Layout(root or settings.cluster_dir())
    recorded = _recorded(layout)
    airflow = [n for n in recorded if n not in ("postgres", "redis")]
    # The scheduler first (it queues no more), then the rest of Airflow, then the workers'
    # leftovers, then the broker and the database the others need until they are gone.
    order = sorted(airflow, key=lambda n: (n != "scheduler", n.startswith("worker"), n))
    pids = [recorded[n] for n in order if _alive(recorded[n])]
    if pids:
        echo(f"Stopping {', '.join(n for n in order if _alive(recorded[n]))} ...")
    _stop_pids(pids, GRACE)
    leftovers = [
        p for p in marked_processes(layout.root) if p not in _postgres_pids(layout, recorded)
    ]
    leftovers = [p for p in leftovers if p != recorded.get("redis")]
    _stop_pids(leftovers, 5)
    if "redis" in recorded and _alive(recorded["redis"]):
        echo("Stopping Redis ...")
        _stop_pids([recorded["redis"]], GRACE)
    if (layout.pgdata / "postmaster.pid").exists():
        echo("Stopping PostgreSQL ...")
        _stop_postgres(layout)
    left = _stop_pids(marked_processes(layout.root), 5)
    for file in layout.pids.glob("*.pid") if layout.pids.exists() else []:
        file.unlink()
    return left


def _postgres_pids(layout: Layout, recorded: dict[str, int]) -> set[int]:
    """The postmaster and its backends (stopped by pg_ctl, not by signals to each)."""
    master = recorded.get("postgres")
    if master is None:
        return set()
    pids = {master}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if ppid == master:
            pids.add(int(proc.name))
    return pids


def status(root: Path | None = None) -> tuple[bool, list[str]]:
    """Whether every server runs, and one line per server."""
    layout = Layout(root or settings.cluster_dir())
    if not layout.state.exists():
        return False, [f"no cluster in {layout.root} (povdb cluster up starts one)"]
    state = json.loads(layout.state.read_text())
    recorded = _recorded(layout)
    names = ["postgres", "redis", *AIRFLOW_SERVERS, *state["workers"]]
    ports = {"postgres": state["postgres_port"], "redis": state["redis_port"]}
    ports["api-server"] = state["api_port"]
    lines, ok = [f"cluster in {layout.root}"], True
    for name in names:
        pid = recorded.get(name)
        up_ = pid is not None and _alive(pid)
        ok = ok and up_
        where = f" on 127.0.0.1:{ports[name]}" if name in ports else ""
        lines.append(
            f"  {name:14} {'running' if up_ else 'stopped':8} "
            + (f"pid {pid}{where}" if up_ else "")
            + f"  log {layout.log(name)}"
        )
    if recorded.get("api-server") and _alive(recorded["api-server"]):
        try:
            health = _http_json(f"http://127.0.0.1:{state['api_port']}/api/v2/monitor/health")
            parts = ", ".join(f"{k} {(v or {}).get('status')}" for k, v in health.items())
            lines.append(f"  health: {parts}")
        except (OSError, ValueError) as exc:
            lines.append(f"  health: the API server does not answer ({exc})")
    return ok, lines


def _up_env(layout: Layout) -> dict[str, str]:
    """The cluster's Airflow environment, or ClusterError when its PostgreSQL does not run."""
    if not layout.state.exists() or "postgres" not in running(layout):
        raise ClusterError(f"the cluster in {layout.root} is not up: povdb cluster up first")
    state = json.loads(layout.state.read_text())
    return airflow_env(layout, state, _secrets(layout))


def airflow_command(args: list[str], root: Path | None = None) -> int:
    """Any ``airflow`` command on the cluster's configuration (its PostgreSQL, its broker)."""
    env = _up_env(Layout(root or settings.cluster_dir()))
    return subprocess.run([_airflow_bin(), *args], env=env).returncode


# --- metadata from the embedded Airflow ------------------------------------------------

METADATA_KINDS = ("variables", "connections", "pools")
# Where each kind lives in Airflow's metadata database: the table and its name column.
_METADATA_TABLES = {
    "variables": ("variable", "key"),
    "connections": ("connection", "conn_id"),
    "pools": ("slot_pool", "pool"),
}
DEFAULT_POOL = "default_pool"  # made by `airflow db migrate` on both sides: never copied
AIRFLOW_CLI_WITHIN = 300.0  # seconds one Airflow export or import may take


@dataclass(frozen=True)
class Copied:
    """What :func:`import_metadata` copied, by kind: names only, never values."""

    source: Path
    names: dict[str, list[str]]
    replaced: dict[str, list[str]]

    def lines(self) -> list[str]:
        out = [f"Copied from the embedded Airflow in {self.source} to the cluster:"]
        for kind in METADATA_KINDS:
            names = self.names[kind]
            out.append(f"  {kind} ({len(names)}): {', '.join(names) if names else 'none'}")
        if replaced := [f"{k[:-1]} {n}" for k in METADATA_KINDS for n in self.replaced[k]]:
            out.append(
                f"  these were on the cluster already and now hold the embedded values:"
                f" {', '.join(replaced)}"
            )
        out.append(
            "Run history is not copied: the warehouse keeps the pipeline's own (audit.runs)."
        )
        return out


def embedded_airflow_env(home: Path) -> dict[str, str]:
    """The environment ``povdb airflow`` runs Airflow with (``settings.airflow_env``), on
    ``home`` and its SQLite ``airflow.db`` whatever the environment says of either."""
    env = dict(os.environ)
    env.update(settings.airflow_env(home))
    env["AIRFLOW_HOME"] = str(home)
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    env.pop("POVDB_CLUSTER_DIR", None)
    return env


def _airflow_each(commands: list[list[str]], env: dict[str, str], where: str) -> dict[str, str]:
    """Run Airflow CLI commands side by side, one process each: the end of what each said,
    by its first word. ClusterError with the end of what each failed one said on stderr
    when any fails."""

    def one(args: list[str]) -> tuple[list[str], int | None, str]:
        try:
            proc = subprocess.run(
                [_airflow_bin(), *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=AIRFLOW_CLI_WITHIN,
            )
        except subprocess.TimeoutExpired:
            return args, None, f"no answer within {AIRFLOW_CLI_WITHIN:.0f} s: stopped"
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-20:]
        return args, proc.returncode, "\n".join(tail)

    with ThreadPoolExecutor(max_workers=max(1, len(commands))) as pool:
        results = list(pool.map(one, commands))
    failed = [
        f"`airflow {' '.join(args[:2])}` on {where} failed"
        + (f" (exit {rc})" if rc is not None else "")
        + f":\n{tail}"
        for args, rc, tail in results
        if rc != 0
    ]
    if failed:
        raise ClusterError("\n".join(failed))
    return {args[0]: tail for args, _, tail in results}


def _names_on_cluster(layout: Layout) -> dict[str, set[str]]:
    """The Variables, Connections and Pools in the cluster's metadata database, by name."""
    import psycopg2

    state = json.loads(layout.state.read_text())
    try:
        con = psycopg2.connect(
            host="127.0.0.1",
            port=state["postgres_port"],
            user=DB_USER,
            password=_secrets(layout)["postgres_password"],
            dbname=DB_NAME,
        )
        try:
            with con.cursor() as cur:
                found = {}
                for kind, (table, column) in _METADATA_TABLES.items():
                    cur.execute(f"SELECT {column} FROM {table}")
                    found[kind] = {row[0] for row in cur.fetchall()}
                return found
        finally:
            con.close()
    except psycopg2.Error as exc:
        raise ClusterError(
            f"cannot read the cluster's metadata database ({exc}): `povdb cluster status`"
            f" says what runs; its log: {layout.log('postgres')}"
        ) from exc


def _private_file(path: Path) -> None:
    """An empty file only its owner may read, for Airflow to write an export into."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def import_metadata(source: Path, root: Path | None = None) -> Copied:
    """Copy the Variables, Connections and Pools of an embedded Airflow home (``source``,
    whose metadata is its SQLite ``airflow.db``) into the running cluster's PostgreSQL.

    Airflow's own commands do it: ``airflow variables|connections|pools export`` on the
    embedded configuration (as ``povdb airflow`` runs it, on ``source``), then ``...
    import`` on the cluster's, which encrypts with the cluster's Fernet key. Values the
    cluster already holds under the same names are replaced; ``default_pool`` exists on
    both sides and is left as the cluster has it. Run history is not copied. The exports
    hold passwords in clear: they are written with mode 0600 in a private temporary folder
    and removed before this returns, whatever happens. Every name exported is checked to
    be in the cluster's database afterwards (Airflow's imports skip some failures with exit
    0). ClusterError says what went wrong: no ``airflow.db`` in ``source``, the cluster not
    up, an Airflow command that failed (with the end of its stderr).
    """
    layout = Layout(root or settings.cluster_dir())
    home = source.expanduser().resolve()
    if not (home / "airflow.db").is_file():
        raise ClusterError(
            f"no embedded Airflow metadata database in {home} (no airflow.db there): give"
            " --from the AIRFLOW_HOME the embedded Airflow ran with (`povdb airflow`, `make"
            " airflow`; by default the project's .airflow folder)"
        )
    cluster_env = _up_env(layout)
    with tempfile.TemporaryDirectory(prefix="povdb-metadata-") as tmp:
        files = {kind: Path(tmp) / f"{kind}.json" for kind in METADATA_KINDS}
        for file in files.values():
            _private_file(file)
        _airflow_each(
            [[kind, "export", str(file)] for kind, file in files.items()],
            embedded_airflow_env(home),
            f"the embedded Airflow in {home}",
        )
        try:
            exported = {k: json.loads(file.read_text() or "{}") for k, file in files.items()}
        except ValueError as exc:
            raise ClusterError(f"an export of the embedded Airflow is not JSON: {exc}") from exc
        exported["pools"].pop(DEFAULT_POOL, None)
        files["pools"].write_text(json.dumps(exported["pools"]))
        names = {kind: sorted(exported[kind]) for kind in METADATA_KINDS}
        before = _names_on_cluster(layout)
        imports = {
            "variables": ["--action-on-existing-key", "overwrite"],
            "connections": ["--overwrite"],
            "pools": [],
        }
        said = _airflow_each(
            [[k, "import", str(files[k]), *imports[k]] for k in METADATA_KINDS if names[k]],
            cluster_env,
            "the cluster",
        )
    after = _names_on_cluster(layout)
    missing = {k: [n for n in names[k] if n not in after[k]] for k in METADATA_KINDS}
    if any(missing.values()):
        raise ClusterError(
            "Airflow's import left out "
            + "; ".join(f"{k} {', '.join(n)}" for k, n in missing.items() if n)
            + ". It said:\n"
            + "\n".join(said[k] for k, n in missing.items() if n)
            + "\nFix the cause and run this again: what was copied is replaced, not doubled."
        )
    replaced = {k: [n for n in names[k] if n in before[k]] for k in METADATA_KINDS}
    return Copied(home, names, replaced)


def cmd(
    action: str,
    foreground: bool = False,
    args: list[str] | None = None,
    source: Path | None = None,
) -> int:
    """``povdb cluster up|down|status|airflow|import-metadata``: exit 0 on success (status:
    every server runs; airflow: the command's own exit code). ``source``: the embedded
    AIRFLOW_HOME import-metadata copies from."""
    root = settings.cluster_dir()
    if action == "import-metadata":
        if source is None:
            print(
                "povdb cluster import-metadata: say where from: --from <the embedded"
                " AIRFLOW_HOME> (by default the project's .airflow folder)",
                file=sys.stderr,
            )
            return 2
        try:
            copied = import_metadata(source, root)
        except ClusterError as exc:
            print(f"povdb cluster import-metadata: {exc}", file=sys.stderr)
            return 2
        print("\n".join(copied.lines()))
        return 0
    if action == "airflow":
        try:
            return airflow_command(args or [], root)
        except ClusterError as exc:
            print(f"povdb cluster airflow: {exc}", file=sys.stderr)
            return 2
    if action == "status":
        ok, lines = status(root)
        print("\n".join(lines))
        return 0 if ok else 1
    if action == "down":
        left = down(root)
        if left:
            print(f"could not stop pids {left}", file=sys.stderr)
            return 1
        print(f"The cluster in {root} is down: nothing of it runs.")
        return 0
    stop_requested = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        state = up(root)
    except ClusterError as exc:
        print(f"povdb cluster up: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted: the cluster is down.", file=sys.stderr)
        return 130
    ready = (
        f"The cluster is up: UI and REST API on http://127.0.0.1:{state['api_port']}"
        f" (users and passwords: {settings.airflow_home()}/simple_auth_manager_passwords.json"
        f".generated); logs in {Layout(root).logs}. DAGs start paused: unpause"
        " poverty_nightly in the UI."
    )
    if not foreground:
        print(ready)
        print("`povdb cluster down` stops it.")
        return 0
    # From here on a Ctrl-C, even one that arrives while these lines are printed, stops it.
    try:
        print(ready)
        print("Ctrl-C stops it.", flush=True)
        while not stop_requested:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Stopping the cluster ...", flush=True)
        left = down(root)
    return 1 if left else 0
