"""A real localshop server (``pserve`` + waitress on loopback) that tests start and stop."""
from __future__ import annotations

import configparser
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
PRODUCTION_INI = Path(__file__).resolve().parents[2] / "production.ini"
JSON_V1 = "application/vnd.pypi.simple.v1+json"

# [app:main] unless a test's settings say otherwise.
APP_SETTINGS = {
    "use": "egg:localshop",
    # The access log, as the shipped inis have it.
    "filter-with": "accesslog",
    "tm.commit_veto": "pyramid_tm.default_commit_veto",
    "retry.attempts": "5",
    # Tests never reach the internet: no upstream index unless a test gives a loopback one.
    "shop.upstream": "none",
    # Anyone may read repository 'default' (as in tests/conftest.py); uploads need an account.
    "shop.default.anonymous_read": "true",
}


def shipped_server_settings() -> dict[str, str]:
    """production.ini's ``[server:main]`` but ``listen``: the tests prove what ships."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PRODUCTION_INI)
    settings = dict(parser["server:main"])
    del settings["listen"]
    return settings


# [server:main] unless a test's server_settings say otherwise (``listen`` is the server's own).
SERVER_SETTINGS = shipped_server_settings()

INI_TEMPLATE = """\
# Written by tests/e2e/server.py for one end-to-end test server.
[app:main]
{app}
[filter:accesslog]
use = call:shop.accesslog:filter_factory

[server:main]
{server}
[loggers]
keys = root, shop, accesslog

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = INFO
handlers = console

[logger_shop]
level = DEBUG
handlers =
qualname = shop

[logger_accesslog]
level = INFO
handlers =
qualname = shop.accesslog

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(asctime)s %(levelname)-5.5s [%(name)s][%(threadName)s] %(message)s
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ini_section(settings: dict[str, str]) -> str:
    # pserve reads the ini with %-interpolation: a literal % must be doubled.
    return "".join(f"{key} = {str(value).replace('%', '%%')}\n" for key, value in settings.items())


class ServerError(AssertionError):
    """The server did not start (or stop); the message carries its log."""


class LocalshopServer:
    """One localshop instance: an ini file and a database under ``base_dir``, served by pserve.

    ``settings`` adds or overrides ``[app:main]`` keys (e.g. ``shop.upstream`` pointing at a
    loopback upstream), ``server_settings`` those of ``[server:main]`` (e.g. ``threads``).
    ``start()`` and ``stop()`` may be called repeatedly; the database and the port persist
    across restarts, so a test can stop the server, use the command line on the database,
    and start it again.
    """

    def __init__(self, base_dir: Path, *, settings: dict[str, str] | None = None,
                 server_settings: dict[str, str] | None = None,
                 admin_password: str | None = None, env: dict[str, str] | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.var_dir = self.base_dir / "var"
        self.ini = self.base_dir / "localshop.ini"
        self.log_path = self.base_dir / "server.log"
        # Never starting with "-": clients would take it for an option (`-p -x...`).
        self.admin_password = admin_password or "admin-" + secrets.token_hex(8)
        self.settings = dict(settings or {})
        self.server_settings = dict(server_settings or {})
        self.env = env
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.write_ini()

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def write_ini(self) -> None:
        app = {
            **APP_SETTINGS,
            "zodbconn.uri": (f"file://{self.var_dir}/Data.fs?blobstorage_dir={self.var_dir}/blobs"
                             "&blobstorage_layout=bushy"),
            **self.settings,
        }
        server = {**SERVER_SETTINGS, "listen": f"127.0.0.1:{self.port}", **self.server_settings}
        self.ini.write_text(INI_TEMPLATE.format(app=_ini_section(app), server=_ini_section(server)))

    def process_env(self) -> dict[str, str]:
        """The environment of the server and of ``localshop`` commands run against its ini."""
        env = dict(os.environ if self.env is None else self.env)
        env["LOCALSHOP_ADMIN_PASSWORD"] = self.admin_password
        return env

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> "LocalshopServer":
        """Start pserve and wait (at most ``timeout`` seconds) until ``/simple/`` answers."""
        if self.process is not None:
            raise ServerError("The server is already running")
        for attempt in range(3):
            if self._start_once(timeout):
                return self
            # Another process took the port between free_port() and the bind: pick another.
            self.port = free_port()
            self.write_ini()
        raise ServerError(f"localshop did not start: no free port.\n--- server log ---\n{self.log()}")

    def _start_once(self, timeout: float) -> bool:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "pserve"), str(self.ini)],
                cwd=self.base_dir, env=self.process_env(),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                if "Address already in use" in self.log():
                    return False
                raise ServerError(
                    f"localshop exited with code {code} while starting.\n"
                    f"--- server log ({self.log_path}) ---\n{self.log()}"
                )
            try:
                self.request("/simple/", timeout=1)
            except OSError:  # not listening yet
                pass
            else:  # any HTTP answer: it serves (the tests check what it says)
                return True
            time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"localshop did not answer {self.url}/simple/ within {timeout:.0f} s.\n"
            f"--- server log ({self.log_path}) ---\n{self.log()}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server: Ctrl-C first (waitress shuts down cleanly), SIGKILL if it hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> "LocalshopServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- looking at it over HTTP ----------------------------------------------------------

    def request(self, path: str, *, headers: dict[str, str] | None = None,
                timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
        """GET ``path`` (or a full URL): (status, headers, body), also for errors; no redirects."""
        url = path if path.startswith(("http://", "https://")) else self.url + path
        req = urllib.request.Request(url, headers=headers or {})
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(req, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, dict(e.headers), e.read()

    def project_json(self, project: str, repository: str = "default") -> dict | None:
        """The project's simple page as PEP 691 JSON; None when the project does not exist."""
        status, _, body = self.request(f"/repo/{repository}/{project}/", headers={"Accept": JSON_V1})
        if status == 404:
            return None
        assert status == 200, f"GET /repo/{repository}/{project}/ answered {status}: {body[:500]!r}"
        return json.loads(body)

    def project_files(self, project: str, repository: str = "default") -> dict[str, str]:
        """{filename: sha256} of the project's files; {} when the project does not exist."""
        page = self.project_json(project, repository) or {"files": []}
        return {f["filename"]: f["hashes"]["sha256"] for f in page["files"]}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
