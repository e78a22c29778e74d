"""The scenarios of issue 5: each is a function of (a running server, its setup, options) -> rows.

A scenario says which setup it needs (``hosted``: a repository of N projects; ``mirror``: an
empty server pointed at the loopback upstream) and, for hosted ones, whether it runs at every
repository size or only the first. ``run.py`` starts each server once per setup and runs every
scenario that applies, so all servers see the same fixtures in the same run.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urldefrag, urljoin, urlsplit

import requests

from . import fixtures, load
from .fixtures import MB
from .memory import MiB, RssSampler
from .server import BIN, Server, Setup

JSON_V1 = "application/vnd.pypi.simple.v1+json"
FORMATS = (("HTML", "text/html"), ("JSON", JSON_V1))
RSS_LIMIT = 20 * MB  # issue 5: server RSS growth <= 20 MB


@dataclass(frozen=True)
class Options:
    sizes: tuple[int, ...] = (2_000, 20_000)  # projects in the hosted repository
    big_file_mb: int = 50
    load_seconds: float = 5.0  # length of each load measurement
    concurrency: tuple[int, ...] = (1, 16)
    download_clients: tuple[int, ...] = (1, 4)
    mirror_warm_runs: int = 3
    upstream_delay_ms: float = 0.0  # the loopback upstream's wait before each answer's first byte
    upstream_bandwidth_mbps: float = 0.0  # its cap on each body in MB/s; 0: no cap
    profile: bool = False  # py-spy record localshop during its load measurements


@dataclass(frozen=True)
class Row:
    """One measurement: a cell of the results table."""

    server: str
    scenario: str
    metric: str
    value: float | str
    unit: str = ""
    better: str = ""  # "higher", "lower" or "" (not compared)

    def formatted(self) -> str:
        if isinstance(self.value, str):
            return self.value
        return number(self.value) + (f" {self.unit}" if self.unit else "")


def number(value: float) -> str:
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}"


@dataclass(frozen=True)
class Scenario:
    label: str  # "(a) project page, 100 files" (the size is added for hosted setups)
    kind: str  # "hosted" or "mirror"
    run: Callable[[Server, Setup, Options], list[Row]]
    every_size: bool = True  # hosted: at every repository size, or only the first
    mirror_only_peers: bool = False  # mirror setup: only for servers that cannot host

    def title(self, setup: Setup) -> str:
        return f"{self.label}, {setup.label}" if self.kind == "hosted" and self.every_size else self.label


def rows_for(server: Server, scenario: str):
    def row(metric: str, value, unit: str = "", better: str = "") -> Row:
        return Row(server.name, scenario, metric, value, unit, better)
    return row


def load_rows(row, label: str, result: load.LoadResult) -> list[Row]:
    rows = [
        row(f"{label}: requests/s", result.rps, "req/s", "higher"),
        row(f"{label}: p50 latency", result.p50_ms, "ms", "lower"),
        row(f"{label}: p99 latency", result.p99_ms, "ms", "lower"),
    ]
    if result.errors or result.status_errors:
        rows.append(row(f"{label}: errors", f"{result.errors} connection errors/timeouts, "
                                            f"{result.status_errors} 4xx/5xx"))
    return rows


def clients(n: int) -> str:
    return f"{n} client{'s' if n > 1 else ''}"


def answers_json(url: str) -> bool:
    """Whether the server answers a PEP 691 JSON request with JSON."""
    r = requests.get(url, headers={"Accept": JSON_V1}, timeout=120)
    r.raise_for_status()
    return "json" in r.headers.get("Content-Type", "")


def measure_formats(server: Server, url: str, options: Options, row, check: Callable[[str, str], None],
                    profile_name: str) -> list[Row]:
    """Load ``url`` as HTML and JSON with each number of clients."""
    rows: list[Row] = []
    for fmt, accept in FORMATS:
        if fmt == "JSON" and not answers_json(url):
            rows.append(row(f"{fmt}: status", "n/a (answers HTML only)"))
            continue
        body = requests.get(url, headers={"Accept": accept}, timeout=120)
        body.raise_for_status()
        check(fmt, body.text)
        rows.append(row(f"{fmt}: page size", len(body.content) / 1000, "kB"))
        for n in options.concurrency:
            with profiling(server, options, f"{profile_name}-{fmt}-{n}"):
                result = load.measure(url, connections=n, duration=options.load_seconds,
                                      headers={"Accept": accept})
            rows += load_rows(row, f"{fmt}, {clients(n)}", result)
    return rows


# --- (a) hosted project page with 100 files ----------------------------------------------------


def project_page(server: Server, setup: Setup, options: Options) -> list[Row]:
    row = rows_for(server, PROJECT_PAGE.title(setup))
    expected = [f.filename for f in setup.fixture.project_files(fixtures.PAGE_PROJECT)]

    def check(fmt: str, text: str) -> None:
        missing = [name for name in expected if name not in text]
        if missing:
            raise RuntimeError(f"{fmt} page lists {len(expected) - len(missing)} of {len(expected)} files")

    return measure_formats(server, server.project_url(fixtures.PAGE_PROJECT), options, row, check,
                           f"page-{setup.fixture.projects}")


# --- (b) root page -----------------------------------------------------------------------------


def root_page(server: Server, setup: Setup, options: Options) -> list[Row]:
    row = rows_for(server, ROOT_PAGE.title(setup))
    projects = setup.fixture.projects

    def check(fmt: str, text: str) -> None:
        listed = text.count("<a ") if fmt == "HTML" else text.count('"name"')
        if listed < projects:
            raise RuntimeError(f"{fmt} root page lists {listed} projects, not {projects}")

    return measure_formats(server, server.simple_url, options, row, check, f"root-{projects}")


# --- (c) a cached 50 MB file -------------------------------------------------------------------


def file_url(server: Server, project: str, filename: str) -> str:
    """The file's URL as the HTML project page links it (what pip follows), without fragment."""
    page_url = server.project_url(project)
    page = requests.get(page_url, headers={"Accept": "text/html"}, timeout=120)
    page.raise_for_status()
    for href in re.findall(r'href="([^"]+)"', page.text):
        if urlsplit(href).path.endswith("/" + filename) or href.split("#")[0] == filename:
            return urldefrag(urljoin(page_url, href.replace("&amp;", "&")))[0]
    raise RuntimeError(f"{filename} is not on {page_url}")


def stream_get(url: str, chunk: int = 1024 * 1024) -> tuple[int, int, str]:
    """GET ``url`` reading ``chunk`` bytes at a time; return (status, bytes read, sha256)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        digest, size = hashlib.sha256(), 0
        while data := response.read(chunk):
            digest.update(data)
            size += len(data)
        return response.status, size, digest.hexdigest()
    finally:
        conn.close()


def download(server: Server, setup: Setup, options: Options) -> list[Row]:
    """MB/s of a stored 50 MB file with 1 and 4 clients, and the server's peak RSS growth."""
    row = rows_for(server, DOWNLOAD.label)
    big = next(f for f in fixtures.mirror_files(options.big_file_mb, max(options.sizes))
               if f.project == fixtures.BIG_PROJECT)
    url = file_url(server, fixtures.BIG_PROJECT, big.filename)
    rows: list[Row] = []
    if setup.kind == "mirror":
        # A mirror-only server caches the file on first use: fetch it until it serves it itself.
        start = time.perf_counter()
        deadline = start + 120
        while True:
            status, size, sha256 = stream_get(url)
            if status == 200 and (size, sha256) == (big.size, big.sha256):
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{url}: still {status} after 120 s")
            time.sleep(0.5)
        rows.append(row("first download through the mirror (caches it)", time.perf_counter() - start, "s"))
    status, size, sha256 = stream_get(url)
    if (status, size, sha256) != (200, big.size, big.sha256):
        raise RuntimeError(f"GET {url}: {status}, {size} bytes, sha256 {sha256}: not the file")
    rows.append(row("sha256 of download", "matches"))
    baseline = None
    for n in options.download_clients:
        with RssSampler(server.pid) as memory, profiling(server, options, f"download-{n}"):
            result = load.measure(url, connections=n, duration=options.load_seconds, headers={})
        mbps = result.bytes / result.duration_s / MB
        rows += [
            row(f"{clients(n)}: throughput", mbps, "MB/s", "higher"),
            row(f"{clients(n)}: server peak RSS growth", memory.growth / MiB, "MiB", "lower"),
        ]
        if result.errors or result.status_errors:
            rows.append(row(f"{clients(n)}: errors", f"{result.errors} errors, {result.status_errors} 4xx/5xx"))
        baseline = memory.baseline if baseline is None else baseline
    rows.append(row("server RSS before the downloads", baseline / MiB, "MiB", "lower"))
    return rows


# --- (d) twine upload of a 50 MB wheel ---------------------------------------------------------


def twine_upload(server: Server, path: Path) -> None:
    """Upload ``path`` with the real twine, as a user would."""
    with tempfile.NamedTemporaryFile("w", suffix=".pypirc") as pypirc:
        cmd = [
            str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar",
            "--config-file", pypirc.name, "--repository-url", server.upload_url,
            "-u", server.username, "-p", server.password, str(path),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"twine upload failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-400:]}")


def upload(server: Server, setup: Setup, options: Options) -> list[Row]:
    row = rows_for(server, UPLOAD.label)
    if server.upload_url is None:
        return [row("status", "n/a (takes no uploads)")]
    path = fixtures.upload_wheel(options.big_file_mb, max(options.sizes))
    # The first request with a password runs the server's password hash (argon2 in localshop
    # and devpi allocates 64 MiB): measured on its own, so the upload's numbers are the file's.
    with RssSampler(server.pid) as auth:
        start = time.perf_counter()
        requests.get(server.simple_url, auth=(server.username, server.password), timeout=60)
        auth_s = time.perf_counter() - start
    with RssSampler(server.pid) as up:
        start = time.perf_counter()
        twine_upload(server, path)
        upload_s = time.perf_counter() - start
    status, size, sha256 = stream_get(file_url(server, fixtures.UPLOAD_PROJECT, path.name))
    if (status, size, sha256) != (200, path.stat().st_size, fixtures.file_sha256(path)):
        raise RuntimeError(f"the uploaded file reads back as {status}, {size} bytes, sha256 {sha256}")
    return [
        row("wall time", upload_s, "s", "lower"),
        row("throughput", path.stat().st_size / MB / upload_s, "MB/s", "higher"),
        row("server peak RSS growth", up.growth / MiB, "MiB", "lower"),
        row("before it: first authenticated GET, time", auth_s * 1000, "ms", "lower"),
        row("before it: first authenticated GET, RSS growth", auth.growth / MiB, "MiB", "lower"),
    ]


# --- (e) mirror: pip download of 20 projects ---------------------------------------------------


def pip_download(index_url: str) -> float:
    """``pip download`` the 20 mirror projects through ``index_url`` into a fresh directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no machine-wide pip.conf (find-links) either
    with tempfile.TemporaryDirectory(prefix="bench-pip-") as tmp:
        cmd = [str(BIN / "python"), "-m", "pip", "download", "--no-deps", "--isolated",
               "--no-cache-dir", "--disable-pip-version-check", "--quiet", "-d", tmp,
               "--index-url", index_url, *fixtures.MIRROR_PROJECTS]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"pip download failed: {(proc.stdout + proc.stderr)[-400:]}")
        got = len(os.listdir(tmp))
        if got != len(fixtures.MIRROR_PROJECTS):
            raise RuntimeError(f"pip downloaded {got} files, not {len(fixtures.MIRROR_PROJECTS)}")
    return elapsed


DIRECT_BESIDE = "pip straight from the upstream, between these runs (median)"


def mirror(server: Server, setup: Setup, options: Options) -> list[Row]:
    """Cold, then warm runs alternating with runs straight from the upstream.

    The machine's speed drifts by 20-40% from one minute to the next, so each server's runs
    are compared with direct runs made between them, not only with the baseline measured
    once at the start (the ``upstream`` column).
    """
    row = rows_for(server, MIRROR.label)
    direct = [pip_download(setup.upstream_url)]
    cold = pip_download(server.simple_url)
    warm = []
    for _ in range(options.mirror_warm_runs):
        direct.append(pip_download(setup.upstream_url))
        warm.append(pip_download(server.simple_url))
    direct.append(pip_download(setup.upstream_url))
    return [
        row("cold: wall time", cold, "s", "lower"),
        row(f"warm: wall time (median of {options.mirror_warm_runs})", statistics.median(warm), "s", "lower"),
        row(DIRECT_BESIDE, statistics.median(direct), "s", "lower"),
    ]


def mirror_direct(upstream_url: str, options: Options) -> list[Row]:
    """The baseline: pip straight from the loopback upstream (always warm: it is static)."""
    runs = [pip_download(upstream_url) for _ in range(options.mirror_warm_runs + 1)]
    median = statistics.median(runs)
    return [
        Row("upstream", MIRROR.label, "cold: wall time", median, "s", "lower"),
        Row("upstream", MIRROR.label, f"warm: wall time (median of {options.mirror_warm_runs})",
            median, "s", "lower"),
    ]


# --- profiling (--profile) ---------------------------------------------------------------------

PROFILES = fixtures.WORK / "profiles"


class profiling:
    """py-spy records localshop while a load runs (with --profile); the top frames are printed."""

    def __init__(self, server: Server, options: Options, name: str) -> None:
        self.enabled = options.profile and server.name == "localshop"
        self.name = name
        self.server = server
        self.duration = options.load_seconds

    def __enter__(self):
        if self.enabled:
            PROFILES.mkdir(parents=True, exist_ok=True)
            self.out = PROFILES / f"{self.name}.txt"
            py_spy = fixtures.WORK / "venvs" / "tools" / "bin" / "py-spy"
            if not py_spy.exists():
                from .peers import ensure_venv
                ensure_venv("tools", ["py-spy", "uv"])
            self.proc = subprocess.Popen(
                [str(py_spy), "record", "--pid", str(self.server.pid), "--format", "raw",
                 "--duration", str(int(self.duration) + 1), "--rate", "200", "--output", str(self.out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        return self

    def __exit__(self, *exc):
        if self.enabled:
            try:
                self.proc.wait(timeout=self.duration + 30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            if self.out.exists():
                print(f"    py-spy {self.name}: " + "; ".join(top_frames(self.out)), flush=True)


def top_frames(collapsed: Path, count: int = 4) -> list[str]:
    """Where the busy (non-waiting) samples went: the Pyramid app, socket sends, top self frames."""
    busy = app = send = 0
    own: dict[str, int] = {}
    for line in collapsed.read_text().splitlines():
        stack, _, n_text = line.rpartition(" ")
        frames, n = stack.split(";"), int(n_text)
        if "Condition.wait" in frames[-1]:
            continue  # an idle worker thread
        busy += n
        app += n if any("Router.__call__" in f for f in frames) else 0
        send += n if "dispatcher.send" in frames[-1] else 0
        leaf = frames[-1].split(" (")[0] + " (" + frames[-1].rsplit("/", 1)[-1]
        own[leaf] = own.get(leaf, 0) + n
    if not busy:
        return []
    top = sorted(own.items(), key=lambda item: -item[1])[:count]
    return [f"{busy} busy samples", f"in the Pyramid app {100 * app / busy:.0f}%",
            f"in socket send {100 * send / busy:.0f}%",
            "top self: " + ", ".join(f"{f} {100 * n / busy:.0f}%" for f, n in top)]


PROJECT_PAGE = Scenario("(a) project page, 100 files", "hosted", project_page)
ROOT_PAGE = Scenario("(b) root page", "hosted", root_page)
DOWNLOAD = Scenario("(c) cached 50 MB file", "hosted", download, every_size=False)
UPLOAD = Scenario("(d) twine upload, 50 MB wheel", "hosted", upload, every_size=False)
MIRROR = Scenario("(e) mirror: pip download of 20 projects", "mirror", mirror)
DOWNLOAD_THROUGH_MIRROR = Scenario(DOWNLOAD.label, "mirror", download, mirror_only_peers=True)

# Scenarios by the name given to --only, in the order a run runs them within a setup.
SCENARIOS: dict[str, list[Scenario]] = {
    "project-page": [PROJECT_PAGE],
    "root-page": [ROOT_PAGE],
    "download": [DOWNLOAD, DOWNLOAD_THROUGH_MIRROR],
    "upload": [UPLOAD],
    "mirror": [MIRROR],
}
