"""The scenarios: each is a function of (a way to start a server, options) returning table rows.

To add one, write ``def my_scenario(start_server, options) -> list[Row]`` and register it in
``SCENARIOS``; ``run.py`` runs it against every server chosen and prints its rows with the rest.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager
from urllib.parse import urljoin, urlsplit

import requests

from . import fixtures, load
from .fixtures import MB
from .memory import MiB, RssSampler
from .server import BIN, Server

StartServer = Callable[[], ContextManager[Server]]

JSON_V1 = "application/vnd.pypi.simple.v1+json"
DOWNLOADS = 3  # a download takes a fraction of a second: the median of a few is steadier


@dataclass(frozen=True)
class Options:
    big_file_mb: int = 200  # scenario "upload": size of the wheel
    page_files: int = 100  # scenario "project-page": files on the page
    load_seconds: float = 10.0  # scenario "project-page": length of each measurement
    concurrency: tuple[int, ...] = (1, 16)


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    server: str
    scenario: str
    metric: str
    value: float | str
    unit: str = ""

    def formatted(self) -> str:
        if isinstance(self.value, str):
            return self.value
        digits = 0 if abs(self.value) >= 100 else 1 if abs(self.value) >= 10 else 2
        return f"{self.value:,.{digits}f}" + (f" {self.unit}" if self.unit else "")


# --- scenario "upload": a 200 MB wheel up with twine and back down ------------------------


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
        raise RuntimeError(f"twine upload failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def file_url(server: Server, project: str, filename: str) -> str:
    """The URL of ``filename`` as the JSON project page gives it (what pip and uv follow)."""
    page_url = server.project_url(project)
    page = requests.get(page_url, headers={"Accept": JSON_V1}, timeout=30)
    page.raise_for_status()
    for file in page.json()["files"]:
        if file["filename"] == filename:
            return urljoin(page_url, file["url"])
    raise RuntimeError(f"{filename} is not on {page_url}")


def stream_get(url: str, chunk: int = 1024 * 1024) -> tuple[int, str]:
    """GET ``url`` reading ``chunk`` bytes at a time; return (bytes read, sha256)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", parts.path)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET {url}: {response.status} {response.read()[:500]!r}")
        digest = hashlib.sha256()
        size = 0
        while data := response.read(chunk):
            digest.update(data)
            size += len(data)
        return size, digest.hexdigest()
    finally:
        conn.close()


def twine_startup_seconds() -> float:
    """How long ``twine --version`` takes: the part of the upload time that is twine starting."""
    start = time.perf_counter()
    subprocess.run([str(BIN / "twine"), "--version"], capture_output=True, check=True)
    return time.perf_counter() - start


def upload_download(start_server: StartServer, options: Options) -> list[Row]:
    """Upload a big wheel with twine to a fresh server, download it, watch the server's memory."""
    size = options.big_file_mb * MB
    dist = fixtures.big_wheel(size)
    scenario = f"upload+download {options.big_file_mb} MB wheel"
    with tempfile.TemporaryDirectory(prefix="localshop-bench-dist-") as tmp, start_server() as server:
        path = dist.write(Path(tmp))
        # The first request with a password runs the server's password hash (argon2 allocates
        # tens of MiB for it); measured on its own so the upload's numbers are the file's.
        with RssSampler(server.pid) as auth:
            start = time.perf_counter()
            requests.get(server.simple_url, auth=(server.username, server.password), timeout=30).raise_for_status()
            auth_s = time.perf_counter() - start
        with RssSampler(server.pid) as up:
            start = time.perf_counter()
            twine_upload(server, path)
            upload_s = time.perf_counter() - start
        url = file_url(server, fixtures.canonical(dist.name), dist.filename)
        times, expected = [], (len(dist.data), dist.sha256)
        with RssSampler(server.pid) as down:
            for _ in range(DOWNLOADS):
                start = time.perf_counter()
                got_size, got_sha256 = stream_get(url)
                times.append(time.perf_counter() - start)
                if (got_size, got_sha256) != expected:
                    raise RuntimeError(
                        f"downloaded {got_size} bytes with sha256 {got_sha256}, "
                        f"uploaded {expected[0]} bytes with sha256 {expected[1]}"
                    )
        download_s = statistics.median(times)
    mb = len(dist.data) / MB
    row = lambda metric, value, unit="": Row(server.name, scenario, metric, value, unit)  # noqa: E731
    return [
        row("file size", mb, "MB"),
        row("server RSS at start", auth.baseline / MiB, "MiB"),
        row("first authenticated GET (password check) time", auth_s * 1000, "ms"),
        row("server peak RSS growth during password check", auth.growth / MiB, "MiB"),
        row("server RSS before upload", up.baseline / MiB, "MiB"),
        row("upload (twine) wall time", upload_s, "s"),
        row("upload throughput", mb / upload_s, "MB/s"),
        row("  of which twine start-up (twine --version)", twine_startup_seconds(), "s"),
        row("server peak RSS growth during upload", up.growth / MiB, "MiB"),
        row(f"download (streaming GET) wall time, median of {DOWNLOADS}", download_s, "s"),
        row("download throughput", mb / download_s, "MB/s"),
        row("server peak RSS growth during download", down.growth / MiB, "MiB"),
        row("server peak RSS during download", down.peak / MiB, "MiB"),
        row("sha256 of download", "matches"),
    ]


# --- scenario "project-page": requests/s of a simple-API page with many files -------------


def project_page(start_server: StartServer, options: Options) -> list[Row]:
    """Requests/s and latency of one project page listing many files, HTML and JSON."""
    project = "page-bench"
    dists = fixtures.many_versions(project, options.page_files)
    scenario = f"project page, {options.page_files} files"
    rows: list[Row] = []
    with start_server() as server:
        row = lambda metric, value, unit="": Row(server.name, scenario, metric, value, unit)  # noqa: E731
        session = requests.Session()
        start = time.perf_counter()
        for dist in dists:
            fixtures.upload(server, dist, session)
        rows.append(row("setup: sequential API uploads", len(dists) / (time.perf_counter() - start), "uploads/s"))
        url = server.project_url(project)
        for fmt, size in check_page(url, dists).items():
            rows.append(row(f"{fmt} page size", size / 1000, "kB"))
        rows.append(row("load generator", load.generator_name()))
        for fmt, accept in (("HTML", "text/html"), ("JSON", JSON_V1)):
            for clients in options.concurrency:
                result = load.measure(
                    url, connections=clients, duration=options.load_seconds, headers={"Accept": accept},
                )
                label = f"{fmt}, {clients} client{'s' if clients > 1 else ''}"
                rows += [
                    row(f"{label}: requests/s", result.rps, "req/s"),
                    row(f"{label}: p50 latency", result.p50_ms, "ms"),
                    row(f"{label}: p99 latency", result.p99_ms, "ms"),
                ]
                if result.errors or result.status_errors:
                    rows.append(row(
                        f"{label}: ERRORS",
                        f"{result.errors} connection errors, {result.status_errors} 4xx/5xx",
                    ))
    return rows


def check_page(url: str, dists: list[fixtures.Dist]) -> dict[str, int]:
    """Check the page lists every uploaded file in both formats; return the size of each.

    This also warms the server's page cache, as the first pip to ask would.
    """
    page = requests.get(url, headers={"Accept": JSON_V1}, timeout=30)
    page.raise_for_status()
    listed = {f["filename"] for f in page.json()["files"]}
    missing = {d.filename for d in dists} - listed
    html = requests.get(url, headers={"Accept": "text/html"}, timeout=30)
    html.raise_for_status()
    missing |= {d.filename for d in dists if d.filename not in html.text}
    if missing:
        raise RuntimeError(f"{url} does not list {len(missing)} uploaded files, e.g. {sorted(missing)[:3]}")
    return {"HTML": len(html.content), "JSON": len(page.content)}


# Scenarios by the name given to --only, in the order a full run runs them.
SCENARIOS: dict[str, Callable[[StartServer, Options], list[Row]]] = {
    "upload": upload_download,
    "project-page": project_page,
}
