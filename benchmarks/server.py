"""Starting index servers for a benchmark: localshop here, the peers in ``peers.py``.

Every server is a ``Peer``: ``prepare()`` installs what it needs (or raises ``Unavailable``),
and ``start(setup)`` is a context manager that starts it on 127.0.0.1 loaded with
``setup`` (a hosted fixture of N projects, or a mirror of the loopback upstream) and yields a
``Server``. Scenarios only use what ``Server`` describes.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ContextManager, Iterator

if TYPE_CHECKING:
    from .fixtures import HostedFixture

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the project's virtualenv: pserve, twine, pip
GiB = 1024**3


class Unavailable(Exception):
    """A server that could not be installed or started: reported in the table, not dropped."""


@dataclass(frozen=True)
class Setup:
    """What a server is started with: a hosted repository, or a mirror of an upstream."""

    kind: str  # "hosted" or "mirror"
    fixture: "HostedFixture | None" = None
    upstream_url: str | None = None  # the loopback upstream's simple index
    probe_project: str | None = None  # a project the upstream has (peryx reads its files' host)

    @property
    def label(self) -> str:
        return f"{self.fixture.projects:,} projects" if self.kind == "hosted" else "mirror"


@dataclass(frozen=True)
class Server:
    """A running index server, as a scenario sees it."""

    name: str  # the server's column in the results table
    base_url: str  # http://127.0.0.1:PORT, no trailing slash
    pid: int  # the process whose memory is sampled (with its children)
    simple_url: str  # the simple index root, with a trailing slash
    upload_url: str | None  # where twine POSTs; None for a server that takes no uploads
    username: str = ""
    password: str = ""
    log: Path | None = None  # the server's output, for a failed run
    notes: tuple[str, ...] = field(default_factory=tuple)

    def project_url(self, project: str) -> str:
        return f"{self.simple_url}{project}/"


class Peer:
    """A kind of index server: what it can do, how to install it, how to start it."""

    name = ""
    kinds: tuple[str, ...] = ()  # "hosted", "mirror"
    version = ""

    def prepare(self) -> None:
        """Install what the server needs; raise Unavailable saying why it cannot be had."""

    def start(self, setup: Setup) -> ContextManager[Server]:
        raise NotImplementedError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (a small race, acceptable here)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Unavailable(f"server exited with {proc.returncode}: {tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    raise Unavailable(f"server did not answer {url} within {timeout:.0f} s: {tail(log)}")


def tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen) -> None:
    """Stop a server we started (its process group): SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def spawn(cmd: list[str], log: Path, **kw) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (so stop() ends its workers too), output to ``log``."""
    with open(log, "ab") as log_file:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True, **kw)


# --- localshop -------------------------------------------------------------------------------

INI = """\
# localshop for a benchmark: written by benchmarks/server.py, deleted after the run
[app:main]
use = egg:localshop
pyramid.reload_templates = false
zodbconn.uri = {uri}
tm.commit_veto = pyramid_tm.default_commit_veto
retry.attempts = 3
shop.upstream = {upstream}
shop.upstream.timeout = 10 60
shop.mirror.index_ttl = 600
# A public index, as the peers are out of the box: reads need no credentials.
shop.default.anonymous_read = true
shop.secret = {secret}
shop.max_upload_size = {max_upload}

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:{port}
threads = {threads}
max_request_body_size = {max_body}

[loggers]
keys = root, shop

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[logger_shop]
level = WARN
handlers =
qualname = shop

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(asctime)s %(levelname)-5.5s [%(name)s][%(threadName)s] %(message)s
"""


class Localshop(Peer):
    """``pserve`` with the production ini's settings (waitress, 8 threads) on a copy of the fixture."""

    name = "localshop"
    kinds = ("hosted", "mirror")
    threads = 8

    def __init__(self, source: Path = REPO) -> None:
        # The tree whose ``shop`` package the server runs: this checkout unless told otherwise
        # (real_upstream.py --source measures another checkout with the same harness).
        self.source = Path(source).resolve()

    def env(self) -> dict[str, str]:
        """The server's environment: ``source`` first on PYTHONPATH, ahead of the venv's
        editable install of whichever checkout made it."""
        path = os.environ.get("PYTHONPATH", "")
        return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(self.source), path) if p))

    def prepare(self) -> None:
        if not (BIN / "pserve").exists():
            raise Unavailable(f"{BIN / 'pserve'} is missing: run 'make' first")
        # Check what the server will import, in the server's own environment and directory.
        shop_file = subprocess.run(
            [str(BIN / "python"), "-c", "import shop; print(shop.__file__)"], capture_output=True,
            text=True, cwd=self.source, env=self.env(),
        ).stdout.strip()
        if not Path(shop_file).resolve().is_relative_to(self.source):
            raise Unavailable(f"the server would import shop from {shop_file!r}, not from {self.source}")
        self.version = subprocess.run(
            ["git", "-C", str(self.source), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
        ).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(self.source), "status", "--porcelain", "--", "shop"],
                               capture_output=True, text=True).stdout.strip()
        if dirty:
            self.version += " (shop/ modified)"
        if self.source != REPO:
            self.version += f" ({self.source})"

    @contextlib.contextmanager
    def start(self, setup: Setup) -> Iterator[Server]:
        from . import shopdb

        with tempfile.TemporaryDirectory(prefix="localshop-bench-") as tmp:
            var = Path(tmp) / "var"
            if setup.fixture is not None:
                shopdb.copy_database(shopdb.cached_database(setup.fixture), var)
            with self.processes(shopdb.storage_uri(var), setup.upstream_url, 1) as (server,):
                yield server

    @contextlib.contextmanager
    def processes(self, uri: str, upstream_url: str | None, count: int) -> Iterator[list[Server]]:
        """``count`` server processes on the database at ``uri`` (one, unless its storage is
        shared: RelStorage, ZEO), each on a port of its own; started at once, all up before
        this yields. ``scaleout.py`` runs several on one PostgreSQL database."""
        from . import shopdb

        with tempfile.TemporaryDirectory(prefix="localshop-bench-") as tmp, \
                contextlib.ExitStack() as stack:
            started = []
            for i in range(count):
                port = free_port()
                ini = Path(tmp) / f"bench-{i}.ini"
                max_upload = 2 * GiB
                ini.write_text(INI.format(
                    uri=uri.replace("%", "%%"), upstream=upstream_url or "none",
                    secret=shopdb.SECRET, port=port, threads=self.threads,
                    max_upload=max_upload, max_body=max_upload + 64 * 1024**2,
                ))
                log = Path(tmp) / f"server-{i}.log"
                env = dict(self.env(), LOCALSHOP_ADMIN_PASSWORD=shopdb.ADMIN_PASSWORD)
                proc = spawn([str(BIN / "pserve"), str(ini)], log, cwd=self.source, env=env)
                stack.callback(stop, proc)
                started.append((proc, log, f"http://127.0.0.1:{port}"))
            servers = []
            for proc, log, base in started:
                wait_until_up(base + "/simple/", proc, log)
                servers.append(Server(
                    name=self.name, base_url=base, pid=proc.pid, simple_url=base + "/simple/",
                    upload_url=base + "/simple/", username="admin",
                    password=shopdb.ADMIN_PASSWORD, log=log,
                ))
            yield servers
