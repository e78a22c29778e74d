"""A real devpi (server, client, devpi-export) for the import tests: installed from the package
registry once into a virtualenv of its own, reused by later runs, and a server started on a
loopback port with no upstream, stopped, and exported."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.clients import PYTHON, remove_tree, run
from tests.e2e.server import free_port

REQUIREMENTS = ["devpi-server>=6.10,<7", "devpi-client>=7,<8"]
_KEY = hashlib.sha256(json.dumps([REQUIREMENTS, sys.version]).encode()).hexdigest()[:12]
VENV = Path(os.environ.get("LOCALSHOP_DEVPI_VENV", f"/tmp/localshop-devpi-venv-{_KEY}"))


class Unavailable(Exception):
    """devpi could not be installed (no package registry): the tests say so and skip."""


def devpi_venv() -> Path:
    """The virtualenv's bin directory, installed now unless a run made it already."""
    marker = VENV / ".installed.json"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{VENV}.lock", "w") as lock:  # two runs at once build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and (VENV / "bin" / "devpi-export").exists():
            return VENV / "bin"
        remove_tree(VENV)
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        run([PYTHON, "-m", "venv", VENV], env=env)
        installed = run([VENV / "bin" / "python", "-m", "pip", "install", "--quiet",
                         "--disable-pip-version-check", *REQUIREMENTS], env=env, timeout=300,
                        expect=None)
        if installed.returncode != 0:
            remove_tree(VENV)
            raise Unavailable(f"pip install {' '.join(REQUIREMENTS)} failed:\n{installed.output[-2000:]}")
        marker.write_text(json.dumps({"requirements": REQUIREMENTS}))
    return VENV / "bin"


@dataclass
class Devpi:
    """One devpi-server's data directory under ``base``, and a client directory for it."""

    bin: Path
    base: Path

    def __post_init__(self) -> None:
        self.serverdir = self.base / "server"
        self.clientdir = self.base / "client"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PIP_", "VIRTUAL_ENV", "DEVPI_"))}
        self.env["HOME"] = str(self.base / "home")
        (self.base / "home").mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None

    def tool(self, name: str, *args, expect: int | None = 0, timeout: float = 120):
        return run([self.bin / name, *args], env=self.env, cwd=self.base, expect=expect,
                   timeout=timeout)

    def client(self, *args):
        return self.tool("devpi", "--clientdir", self.clientdir, *args)

    def start(self) -> None:
        self.tool("devpi-init", "--serverdir", self.serverdir, "--no-root-pypi",
                  "--root-passwd", "root-secret")
        with open(self.base / "devpi-server.log", "ab") as log:
            self.process = subprocess.Popen(
                [self.bin / "devpi-server", "--serverdir", self.serverdir, "--host", "127.0.0.1",
                 "--port", str(self.port), "--offline-mode"],
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"devpi-server exited: {self.log()}")
            try:
                urllib.request.urlopen(self.url + "/+api", timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"devpi-server did not answer within 60 s: {self.log()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)

    def log(self) -> str:
        return (self.base / "devpi-server.log").read_text(errors="replace")

    def export(self, target: Path) -> Path:
        """``devpi-export`` of the (stopped) server's data into ``target``."""
        self.tool("devpi-export", "--serverdir", self.serverdir, target, timeout=180)
        return target
