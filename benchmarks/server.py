"""Starting an index server for a benchmark: a fresh localshop on loopback, in a temp directory.

A peer (devpi, pypiserver, proxpi, nginx...) gets its own ``start_*`` context manager that
yields a ``Server``; scenarios only use what ``Server`` describes.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtualenv's bin/, where pserve and twine live
ADMIN_PASSWORD = "bench-secret"
GiB = 1024**3

INI = """\
# localshop for a benchmark: written by benchmarks/server.py, deleted after the run
[app:main]
use = egg:localshop
zodbconn.uri = file://{var}/Data.fs?blobstorage_dir={var}/blobs&blobstorage_layout=bushy
tm.commit_veto = pyramid_tm.default_commit_veto
retry.attempts = 3
shop.upstream = none
# A public index, as the peers are out of the box: reads need no credentials.
shop.default.anonymous_read = true
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
level = INFO
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


@dataclass(frozen=True)
class Server:
    """A running index server, as a scenario sees it."""

    name: str  # the "server" column of the results table
    base_url: str  # http://127.0.0.1:PORT, no trailing slash
    pid: int  # the process whose memory is sampled
    upload_url: str  # where twine and the legacy upload API POST
    simple_url: str  # the simple index root, with a trailing slash
    username: str
    password: str
    log: Path  # the server's stderr, for a failed run

    def project_url(self, project: str) -> str:
        return f"{self.simple_url}{project}/"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (a small race, acceptable here)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                r.read()
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not answer {url} within {timeout} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server we started: SIGTERM (waitress exits cleanly), then SIGKILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def start_localshop(*, threads: int = 8, max_upload: int = 2 * GiB) -> Iterator[Server]:
    """A freshly started localshop (``pserve``) on an empty database in a temp directory."""
    with tempfile.TemporaryDirectory(prefix="localshop-bench-") as tmp:
        tmp_path = Path(tmp)
        port = free_port()
        ini = tmp_path / "bench.ini"
        ini.write_text(INI.format(
            var=tmp_path / "var", port=port, threads=threads,
            max_upload=max_upload, max_body=max_upload + 64 * 1024**2,
        ))
        log = tmp_path / "server.log"
        env = dict(os.environ, LOCALSHOP_ADMIN_PASSWORD=ADMIN_PASSWORD)
        with open(log, "wb") as log_file:
            proc = subprocess.Popen(
                [str(BIN / "pserve"), str(ini)], cwd=REPO, env=env,
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base + "/simple/", proc, log)
            yield Server(
                name="localshop", base_url=base, pid=proc.pid,
                upload_url=base + "/simple/", simple_url=base + "/simple/",
                username="admin", password=ADMIN_PASSWORD, log=log,
            )
        finally:
            stop(proc)


# Servers a scenario can be run against, by the name given to --server.
SERVERS = {"localshop": start_localshop}
