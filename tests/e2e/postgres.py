"""A real PostgreSQL server for the tests: a throwaway cluster in a temporary directory.

Made with Debian's ``initdb`` and started with ``pg_ctl`` on a free loopback port, by an
unprivileged user (the ``postgres`` account Debian's package made, when the tests run as
root: PostgreSQL refuses to run as root), stopped by the PID in its ``postmaster.pid``.
Connections over TCP need a password (scram-sha-256), as a production server's would; the
test's own set-up goes through the cluster's Unix socket. Each test gets a database and a
role of its own (``PostgresServer.database``).
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.server import free_port

PASSWORD = "localshop-secret"


def bin_dir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl`` (Debian keeps them off the PATH)."""
    def major(path: str) -> float:  # /usr/lib/postgresql/<major>/bin/initdb
        version = Path(path).parts[4]
        return float(version) if version.replace(".", "", 1).isdigit() else 0.0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable() -> str | None:
    """Why no PostgreSQL can be started here, or None."""
    if bin_dir() is None:
        return ("no PostgreSQL server (initdb, pg_ctl): `make test` installs Debian's "
                "postgresql package when run as root; or run: sudo apt-get install -y postgresql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no unprivileged 'postgres' account to run PostgreSQL"
    try:
        import psycopg2  # noqa: F401
        import relstorage  # noqa: F401
    except ImportError as e:
        return f"localshop[postgresql] is not installed ({e})"
    return None


class PostgresServer:
    """One cluster: ``start()``, ``database()`` per test, ``stop()``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.socket_dir = directory / "socket"
        self.port = free_port()
        self.bin = bin_dir()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.made = 0

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120,
                              **kwargs)

    def start(self) -> "PostgresServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            for path in (self.directory, self.socket_dir):
                shutil.chown(path, "postgres", "postgres")
        self._run(self.bin / "initdb", "-D", self.data, "-U", self.user, "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c "
                   f"unix_socket_directories={self.socket_dir} -c fsync=off -c "
                   "max_connections=200 -c shared_buffers=64MB")
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.directory / "server.log",
                  "-o", options, "-w", "-t", "60", "start")
        return self

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(self.bin / "psql", "-h", self.socket_dir, "-p", self.port, "-U",
                         self.user, "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt",
                         "-c", sql).stdout

    def database(self) -> tuple[str, str]:
        """A new empty database owned by a new password role; its (name, role)."""
        self.made += 1
        name = f"shop{self.made}_{secrets.token_hex(3)}"
        self.psql(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
        self.psql(f"CREATE DATABASE {name} OWNER {name}")
        return name, name

    def uri(self, database: str, role: str, blob_cache: Path, **extra: str) -> str:
        """The ``zodbconn.uri`` the README shows, for this server."""
        query = "&".join(f"{k}={v}" for k, v in {
            "keep_history": "false", "blob_dir": str(blob_cache), "shared_blob_dir": "false",
            "blob_cache_size": "512mb", "cache_local_mb": "64", **extra}.items())
        return f"postgres://{role}:{PASSWORD}@127.0.0.1:{self.port}/{database}?{query}"

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGINT)  # "fast" shutdown
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    def log(self) -> str:
        try:
            return (self.directory / "server.log").read_text()[-4000:]
        except FileNotFoundError:
            return ""
