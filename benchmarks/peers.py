"""The peers: devpi-server, pypiserver, proxpi, peryx and nginx, installed and started on loopback.

The Python peers are installed from the package registry with plain pip into throwaway virtual
environments under ``benchmarks/work/venvs/`` (kept between runs; a stamp says what was
installed). nginx is Debian's package. Each is started as its documentation says, with its
defaults unless a note in the table says otherwise, and loaded with the same fixture as
localshop through its own fastest path:

- pypiserver: a hard-linked copy of the fixture's package directory (uploads land in it);
- devpi-server: an export directory in devpi's own dump format, written from the fixture and
  loaded with ``devpi-import`` once (uploading 20,000 projects through its API runs at about
  4 uploads/s); the imported server directory is cached and copied for each run;
- nginx: the static tree (simple pages in HTML and JSON, files), Accept picks the format;
- proxpi, peryx and devpi's mirror index: pointed at the loopback upstream.
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urljoin, urlsplit

import requests

from .fixtures import FIXTURES, REPO, WORK, HostedFixture
from .server import Peer, Server, Setup, Unavailable, free_port, spawn, stop, tail, wait_until_up

VENVS = WORK / "venvs"
PEER_PASSWORD = "bench-secret"


def ensure_venv(name: str, packages: list[str]) -> Path:
    """``benchmarks/work/venvs/NAME`` with ``packages`` installed by pip; its bin/ directory."""
    venv = VENVS / name
    stamp = venv / ".installed"
    spec = " ".join(packages)
    if stamp.exists() and stamp.read_text() == spec:
        return venv / "bin"
    print(f"  installing {spec} into {venv.relative_to(REPO)} ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    VENVS.mkdir(parents=True, exist_ok=True)
    subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True)
    proc = subprocess.run([str(venv / "bin" / "pip"), "install", "--isolated", "--quiet", *packages],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        errors = [line for line in (proc.stderr + proc.stdout).splitlines()
                  if line.strip() and not line.startswith("WARNING: Location")]
        raise Unavailable(f"pip install {spec} failed: {' '.join(errors[-3:])[:300]}")
    stamp.write_text(spec)
    return venv / "bin"


def _base_python() -> str:
    """The interpreter the project's venv was made from (a venv of a venv works too)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def pip_version(bin_dir: Path, package: str) -> str:
    out = subprocess.run([str(bin_dir / "pip"), "show", package], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Version:")), "?")


def copy_tree(source: Path, target: Path, *, link: bool) -> None:
    subprocess.run(["cp", "-al" if link else "-a", str(source), str(target)], check=True)


@contextlib.contextmanager
def serving(name: str, cmd: list[str], tmp: str, port: int, *, health: str, index: str,
            upload: str | None = None, username: str = "", password: str = "",
            **spawn_kw) -> Iterator[Server]:
    """Run ``cmd`` (listening on ``port``, logging into ``tmp``) until it answers ``health``;
    yield it as a Server whose simple index is at ``index`` (and upload URL at ``upload``,
    if it takes uploads); stop it after."""
    log = Path(tmp) / "server.log"
    proc = spawn(cmd, log, **spawn_kw)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + health, proc, log)
        yield Server(name, base, proc.pid, base + index, upload and base + upload,
                     username, password, log=log)
    finally:
        stop(proc)


# --- pypiserver ------------------------------------------------------------------------------


class PypiServer(Peer):
    """``pypi-server run`` on a directory, no authentication; with waitress installed, its
    ``--server auto`` (the default) runs on waitress rather than wsgiref."""

    name = "pypiserver"
    kinds = ("hosted",)

    def prepare(self) -> None:
        self.bin = ensure_venv("pypiserver", ["pypiserver", "waitress"])
        self.version = pip_version(self.bin, "pypiserver")

    @contextlib.contextmanager
    def start(self, setup: Setup) -> Iterator[Server]:
        with tempfile.TemporaryDirectory(prefix="pypiserver-bench-") as tmp:
            packages = Path(tmp) / "packages"
            copy_tree(setup.fixture.dist_dir, packages, link=True)
            port = free_port()
            cmd = [str(self.bin / "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port),
                   "-a", ".", "-P", ".", "--disable-fallback", str(packages)]
            with serving(self.name, cmd, tmp, port, health="/health", index="/simple/", upload="/",
                         username="bench", password=PEER_PASSWORD) as server:
                yield server


# --- devpi-server ----------------------------------------------------------------------------

# One project version's metadata as devpi-export writes it (devpi-server 6.20, dump version 2).
DEVPI_METADATA = {
    "metadata_version": "2.1", "summary": "A benchmark project", "home_page": "", "author": "",
    "author_email": "", "maintainer": "", "maintainer_email": "", "license": "",
    "description": "", "keywords": "", "platform": [], "classifiers": [], "download_url": "",
    "supported_platform": [], "comment": "", "provides": [], "requires": [], "obsoletes": [],
    "project_urls": [], "provides_dist": [], "obsoletes_dist": [], "requires_dist": [],
    "requires_external": [], "requires_python": "", "description_content_type": "",
    "provides_extras": [], "dynamic": [], "license_expression": "", "license_file": [],
}


class Devpi(Peer):
    """``devpi-server`` with its defaults (waitress, 50 threads, sqlite keyfs)."""

    name = "devpi"
    kinds = ("hosted", "mirror")
    hosted_index = "root/hosted"
    mirror_index = "root/upstream"

    def prepare(self) -> None:
        self.bin = ensure_venv("devpi", ["devpi-server"])
        self.version = pip_version(self.bin, "devpi-server")

    # Hosted: an export written from the fixture, imported once, copied for each run.

    def serverdir(self, fixture: HostedFixture) -> Path:
        cache = FIXTURES / f"devpi-{fixture.projects}"
        key = f"{fixture.key} devpi-server={self.version}"
        if (cache / ".stamp").exists() and (cache / ".stamp").read_text() == key:
            return cache / "serverdir"
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        print(f"  importing {fixture.projects:,} projects into devpi ({cache.relative_to(REPO)}) ...",
              flush=True)
        start = time.perf_counter()
        self.write_export(fixture, cache / "export")
        log = cache / "import.log"
        with open(log, "wb") as out:
            proc = subprocess.run(
                [str(self.bin / "devpi-import"), "--serverdir", str(cache / "serverdir"),
                 "--no-root-pypi", "--hard-links", str(cache / "export")],
                stdout=out, stderr=subprocess.STDOUT,
            )
        if proc.returncode != 0:
            raise Unavailable(f"devpi-import failed ({proc.returncode}): {tail(log, 5)}")
        print(f"  ... in {time.perf_counter() - start:.0f} s", flush=True)
        (cache / ".stamp").write_text(key)
        return cache / "serverdir"

    def password_hash(self) -> str:
        """root's password hashed as devpi-server hashes it (argon2id, argon2-cffi defaults)."""
        code = f"from argon2 import PasswordHasher; print(PasswordHasher().hash({PEER_PASSWORD!r}))"
        return subprocess.run([str(self.bin / "python"), "-c", code], capture_output=True, text=True,
                              check=True).stdout.strip()

    def write_export(self, fixture: HostedFixture, export: Path) -> None:
        """A devpi-export directory holding the fixture as index root/hosted (no bases)."""
        now = time.gmtime()
        projects: dict[str, dict] = {}
        files = []
        for f in fixture.files:
            meta = dict(copy.deepcopy(DEVPI_METADATA), name=f.project, version=f.version)
            projects.setdefault(f.project, {})[f.version] = meta
            relpath = f"{self.hosted_index}/{f.project}/{f.version}/{f.filename}"
            files.append({
                "version": f.version,
                "entrymapping": {
                    "last_modified": time.strftime("%a, %d %b %Y %H:%M:%S GMT", now),
                    "hash_spec": f"sha256={f.sha256}", "hashes": {"sha256": f.sha256},
                    "project": f.project, "version": f.version,
                },
                "log": [{"what": "upload", "who": "root", "when": list(now[:6]), "dst": self.hosted_index}],
                "type": "releasefile", "projectname": f.project, "relpath": relpath,
            })
            target = export / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(f.path, target)
        dump = {
            "dumpversion": "2",
            "pythonversion": list(sys.version_info),
            "devpi_server": self.version,
            "users": {"root": {"username": "root", "pwhash": self.password_hash(),
                               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", now)}},
            "indexes": {self.hosted_index: {
                "indexconfig": {
                    "type": "stage", "bases": [], "volatile": True, "acl_upload": ["root"],
                    "acl_toxresult_upload": [":ANONYMOUS:"], "mirror_whitelist": [],
                    "mirror_whitelist_inheritance": "intersection",
                },
                "projects": projects,
                "files": files,
            }},
        }
        (export / "dataindex.json").write_text(json.dumps(dump))

    @contextlib.contextmanager
    def start(self, setup: Setup) -> Iterator[Server]:
        with tempfile.TemporaryDirectory(prefix="devpi-bench-") as tmp:
            serverdir = Path(tmp) / "serverdir"
            if setup.kind == "hosted":
                copy_tree(self.serverdir(setup.fixture), serverdir, link=False)
                index = self.hosted_index
            else:
                init = subprocess.run(
                    [str(self.bin / "devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi",
                     "--root-passwd", PEER_PASSWORD], capture_output=True, text=True,
                )
                if init.returncode != 0:
                    raise Unavailable(f"devpi-init failed: {init.stderr[-300:]}")
                index = self.mirror_index
            secret = Path(tmp) / "secret"
            subprocess.run([str(self.bin / "devpi-gen-secret"), "--secretfile", str(secret)],
                           capture_output=True)
            port = free_port()
            log = Path(tmp) / "server.log"
            cmd = [str(self.bin / "devpi-server"), "--serverdir", str(serverdir), "--host",
                   "127.0.0.1", "--port", str(port)]
            if secret.exists():
                cmd += ["--secretfile", str(secret)]
            proc = spawn(cmd, log)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_until_up(base + "/+api", proc, log, timeout=180)
                if setup.kind == "mirror":
                    r = requests.put(
                        f"{base}/{index}", auth=("root", PEER_PASSWORD), timeout=60,
                        json={"type": "mirror", "mirror_url": setup.upstream_url, "volatile": True},
                    )
                    if r.status_code not in (200, 201):
                        raise Unavailable(f"creating mirror index {index}: {r.status_code} {r.text[:200]}")
                yield Server(self.name, base, proc.pid, f"{base}/{index}/+simple/", f"{base}/{index}/",
                             "root", PEER_PASSWORD, log)
            finally:
                stop(proc)


# --- proxpi ----------------------------------------------------------------------------------


class Proxpi(Peer):
    """proxpi under gunicorn (one worker, 8 threads, like localshop's waitress)."""

    name = "proxpi"
    kinds = ("mirror",)

    def prepare(self) -> None:
        self.bin = ensure_venv("proxpi", ["proxpi", "gunicorn"])
        self.version = pip_version(self.bin, "proxpi")

    @contextlib.contextmanager
    def start(self, setup: Setup) -> Iterator[Server]:
        with tempfile.TemporaryDirectory(prefix="proxpi-bench-") as tmp:
            port = free_port()
            env = dict(os.environ, PROXPI_INDEX_URL=setup.upstream_url,
                       PROXPI_CACHE_DIR=str(Path(tmp) / "cache"), PROXPI_LOGGING_LEVEL="WARNING")
            cmd = [str(self.bin / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
                   "--threads", "8", "proxpi.server:app"]
            with serving(self.name, cmd, tmp, port, health="/health", index="/index/", env=env) as server:
                yield server


# --- peryx ----------------------------------------------------------------------------------

PERYX_HOSTED = """\
# peryx holding the benchmark's repository: written by benchmarks/peers.py
data_dir = "{data}"

[[index]]
ecosystem = "pypi"
name = "hosted"
hosted = true

# Uploads are off until a hosted index has a token; twine sends it as the password.
[[index.access_token]]
name = "upload"
secret = "{secret}"
actions = ["write"]
"""

PERYX_CONF = """\
# peryx mirroring the benchmark's upstream: written by benchmarks/peers.py, deleted after the run
data_dir = "{data}"

[[index]]
ecosystem = "pypi"
name = "up"

[[index.upstream]]
name = "primary"
url = "{upstream}"
# peryx refuses upstream hosts that resolve to non-public addresses (loopback, or a registry
# reached through a private address as on the benchmark machine) unless they are listed here:
# the index's host and the host its file URLs point at, read from a project page at run time.
trusted_hosts = {hosts}
"""


def upstream_hosts(upstream_url: str, project: str) -> tuple[list[str], bool]:
    """The upstream index's host and its files' hosts, read from ``project``'s JSON page (never
    written down); and whether that page offers PEP 658 core metadata for its files."""
    page = urljoin(upstream_url, f"{project}/")
    r = requests.get(page, headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=60)
    r.raise_for_status()
    files = r.json()["files"]
    hosts = {urlsplit(upstream_url).hostname} | {urlsplit(urljoin(page, f["url"])).hostname for f in files}
    metadata = any(f.get("core-metadata") or f.get("data-dist-info-metadata") for f in files)
    return sorted(h for h in hosts if h), metadata


class Peryx(Peer):
    """peryx (one Rust binary from the registry): ``peryx serve`` with one hosted index (the
    fixture, loaded with ``peryx import-dir`` once and copied for each run) or one cached index
    on the upstream; its defaults otherwise, logging at ``warn`` (as proxpi's WARNING)."""

    name = "peryx"
    kinds = ("hosted", "mirror")

    def prepare(self) -> None:
        self.bin = ensure_venv("peryx", ["peryx"])
        self.version = pip_version(self.bin, "peryx")

    def datadir(self, fixture: HostedFixture) -> Path:
        cache = FIXTURES / f"peryx-{fixture.projects}"
        key = f"{fixture.key} peryx={self.version}"
        if (cache / ".stamp").exists() and (cache / ".stamp").read_text() == key:
            return cache / "data"
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        print(f"  importing {fixture.projects:,} projects into peryx ({cache.relative_to(REPO)}) ...",
              flush=True)
        start = time.perf_counter()
        conf = cache / "peryx.toml"
        conf.write_text(PERYX_HOSTED.format(data=cache / "data", secret=PEER_PASSWORD))
        with open(cache / "import.log", "wb") as out:
            proc = subprocess.run([str(self.bin / "peryx"), "import-dir", "--config", str(conf),
                                   "--log-level", "warn", "hosted", str(fixture.dist_dir)],
                                  stdout=out, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            raise Unavailable(f"peryx import-dir failed ({proc.returncode}): {tail(cache / 'import.log', 5)}")
        print(f"  ... in {time.perf_counter() - start:.0f} s", flush=True)
        (cache / ".stamp").write_text(key)
        return cache / "data"

    @contextlib.contextmanager
    def start(self, setup: Setup) -> Iterator[Server]:
        if setup.kind == "hosted":
            with self.start_hosted(setup) as server:
                yield server
            return
        with tempfile.TemporaryDirectory(prefix="peryx-bench-") as tmp:
            try:
                hosts, _metadata = upstream_hosts(setup.upstream_url, setup.probe_project or "pip")
            except (requests.RequestException, KeyError, ValueError) as e:
                raise Unavailable(f"reading the upstream's files' host: {e}") from e
            conf = Path(tmp) / "peryx.toml"
            conf.write_text(PERYX_CONF.format(data=Path(tmp) / "data", upstream=setup.upstream_url,
                                              hosts=json.dumps(hosts)))
            port = free_port()
            cmd = [str(self.bin / "peryx"), "serve", "--config", str(conf), "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warn"]
            with serving(self.name, cmd, tmp, port, health="/", index="/up/simple/") as server:
                yield server

    @contextlib.contextmanager
    def start_hosted(self, setup: Setup) -> Iterator[Server]:
        with tempfile.TemporaryDirectory(prefix="peryx-bench-") as tmp:
            data = Path(tmp) / "data"
            copy_tree(self.datadir(setup.fixture), data, link=False)
            conf = Path(tmp) / "peryx.toml"
            conf.write_text(PERYX_HOSTED.format(data=data, secret=PEER_PASSWORD))
            port = free_port()
            cmd = [str(self.bin / "peryx"), "serve", "--config", str(conf), "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warn"]
            with serving(self.name, cmd, tmp, port, health="/", index="/hosted/simple/",
                         upload="/hosted/", username="__token__", password=PEER_PASSWORD) as server:
                yield server


# --- nginx -----------------------------------------------------------------------------------

NGINX_CONF = """\
# nginx serving a fixture's static tree: written by benchmarks/peers.py, deleted after the run
daemon off;
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types {{
        text/html html;
        application/vnd.pypi.simple.v1+json json;
        application/octet-stream whl;
    }}
    # PEP 691: the JSON page for clients that ask for it, HTML otherwise.
    map $http_accept $simple_index {{
        default index.html;
        "~application/vnd\\.pypi\\.simple\\.v1\\+json" index.json;
    }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /simple/ {{
            index $simple_index;
            add_header Vary Accept;
        }}
        location /files/ {{ }}
    }}
}}
"""


class Nginx(Peer):
    """Debian's nginx serving the static copy: the ceiling, not a package index."""

    name = "nginx"
    kinds = ("hosted",)

    def prepare(self) -> None:
        self.exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if self.exe is None:
            raise Unavailable("nginx is not installed (apt-get install -y nginx)")
        out = subprocess.run([self.exe, "-v"], capture_output=True, text=True)
        self.version = (out.stderr or out.stdout).strip().split("/")[-1]

    @contextlib.contextmanager
    def start(self, setup: Setup) -> Iterator[Server]:
        with tempfile.TemporaryDirectory(prefix="nginx-bench-") as tmp:
            port = free_port()
            conf = Path(tmp) / "nginx.conf"
            conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, root=setup.fixture.static_dir))
            cmd = [self.exe, "-c", str(conf), "-p", tmp]
            with serving(self.name, cmd, tmp, port, health="/simple/", index="/simple/") as server:
                yield server


# --- waitress alone ----------------------------------------------------------------------


class BareWaitress(Peer):
    """The project's waitress serving the static copy from memory (``static_wsgi.py``): the
    floor of localshop's own server, with none of localshop's work per request."""

    name = "waitress"
    kinds = ("hosted",)

    def prepare(self) -> None:
        self.exe = Path(sys.executable).parent / "waitress-serve"
        if not self.exe.exists():
            raise Unavailable(f"{self.exe} is missing: run 'make' first")
        self.version = pip_version(Path(sys.executable).parent, "waitress")

    @contextlib.contextmanager
    def start(self, setup: Setup) -> Iterator[Server]:
        with tempfile.TemporaryDirectory(prefix="waitress-bench-") as tmp:
            port = free_port()
            env = dict(os.environ, BENCH_STATIC_ROOT=str(setup.fixture.static_dir))
            cmd = [str(self.exe), "--threads", "8", "--listen", f"127.0.0.1:{port}",
                   "--call", "benchmarks.static_wsgi:make_app"]
            with serving(self.name, cmd, tmp, port, health="/simple/", index="/simple/",
                         cwd=REPO, env=env) as server:
                yield server

