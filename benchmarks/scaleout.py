"""Issue 16: localshop on RelStorage on PostgreSQL, one process and two, beside FileStorage.

    PYTHONPATH=. .venv/bin/python -m benchmarks.scaleout              # about 2 minutes
    PYTHONPATH=. .venv/bin/python -m benchmarks.scaleout --seconds 2  # a smoke run
    PYTHONPATH=. .venv/bin/python -m benchmarks.scaleout --readme     # also record it in README.md

By hand only (not in ``make bench``). Everything runs in one run on this machine: a
throwaway PostgreSQL cluster (``tests/e2e/postgres.py``: initdb + pg_ctl on a free loopback
port), localshop's own ``pserve`` processes (``server.Localshop.processes``: the benchmark's
ini, waitress with 8 threads) and the loopback upstream. Three configurations:

- ``FileStorage``: the embedded FileStorage, one process (it cannot have two);
- ``RelStorage x1``: RelStorage on PostgreSQL (history-free, blobs in the database, a blob
  cache directory on this machine), one process;
- ``RelStorage x2``: the same, two processes on one database, the load spread over both.

The hosted repository of 2,000 projects (run.py's fixture) is loaded once into a
PostgreSQL database with localshop's own publishing code (``shopdb.load_into``), and each
RelStorage configuration gets a copy of that database (``CREATE DATABASE ... TEMPLATE``); the
FileStorage one gets a copy of run.py's cached ``Data.fs``. Measured, in order:

1. (a) the 100-file project page, HTML and JSON, 16 keep-alive clients from two load
   generators of 8 (on two processes: one generator per process); requests/s. Then JSON
   again with a ``Cookie`` header, which the replay never answers (nor an authenticated
   request, as every request to a private index is): the full Pyramid path under load.
2. One hot anonymous page (a filler project's, one file) asked sequentially on one
   keep-alive connection: latency p50 and p99, answered by the replay before Pyramid, and
   the same request with a ``Cookie`` header, which the replay never answers (the full
   Pyramid path: a transaction, and on RelStorage its poll of the database).
3. (d) uploads: a 50 MB wheel with twine (read back through the other process on two),
   and a burst of small uploads of new projects from 8 concurrent clients (spread over the
   processes): uploads/s.
4. The first download of one uncached mirrored file (20 MB, the upstream sending at 50 MB/s)
   asked by 8 concurrent clients (on two processes: 4 on each): how many times the upstream
   was asked for it, and the time until all 8 had the whole file (sha256 checked).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from . import fixtures, load, shopdb
from .fixtures import MB
from .run import load_average, machine
from .scenarios import JSON_V1, file_url, stream_get, twine_upload
from .server import Localshop, Server

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- scale-out: written by scaleout.py -->", "<!-- end of scale-out -->"
PROJECTS = 2_000
BIG_FILE_MB = 50
CLIENTS = 16  # (a): two generators of 8
HOT_PAGE = fixtures.filler_name(0)  # a small simple page: one file
SEQUENTIAL = 2_000  # requests per latency measurement (after 200 to warm up)
BURST = 48  # small uploads of new projects in (d)'s burst
BURST_CLIENTS = 8
CLAIM_PROJECT = "claim-bench"
CLAIM_FILE_MB = 20
CLAIM_BANDWIDTH = 50.0  # MB/s: the upstream sends the file in about 0.4 s
CLAIM_CLIENTS = 8


@dataclass(frozen=True)
class Config:
    name: str
    relstorage: bool
    processes: int


CONFIGS = (Config("FileStorage", False, 1), Config("RelStorage x1", True, 1),
           Config("RelStorage x2", True, 2))


@dataclass
class Results:
    """config name -> metric -> value (a number, or a string for what is not one)."""

    values: dict[str, dict[str, float | str]] = field(default_factory=dict)

    def set(self, config: Config, metric: str, value) -> None:
        self.values.setdefault(config.name, {})[metric] = value
        print(f"    {config.name}: {metric}: {fmt(value)}",
              flush=True)

    def get(self, config: str, metric: str):
        return self.values.get(config, {}).get(metric)


# --- PostgreSQL --------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres():
    from tests.e2e.postgres import PostgresServer, unavailable

    reason = unavailable()
    if reason:
        raise SystemExit(f"no PostgreSQL here: {reason}")
    # As root the cluster runs as the postgres user: outside root's private temporary directory.
    directory = Path(tempfile.mkdtemp(prefix="localshop-bench-pg-"))
    os.chmod(directory, 0o755)
    server = PostgresServer(directory / "cluster")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def copy_of(pg, template: str, role: str) -> str:
    """A new database holding what ``template`` holds (PostgreSQL copies its files)."""
    pg.made += 1
    name = f"{template}_copy{pg.made}"
    pg.psql(f"CREATE DATABASE {name} TEMPLATE {template} OWNER {role}")
    return name


class Sessions:
    """The PostgreSQL sessions open on one database (every process's: RelStorage's load and
    store connections, the LISTEN, claims), sampled every 0.25 s from a session of its own
    (not counted) while the block runs: ``now()`` and ``peak``."""

    def __init__(self, pg, database: str, role: str) -> None:
        import psycopg2

        from tests.e2e.postgres import PASSWORD

        self.conn = psycopg2.connect(host="127.0.0.1", port=pg.port, dbname=database,
                                     user=role, password=PASSWORD)
        self.conn.autocommit = True
        self.database = database
        self.peak = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock, self.conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                           " AND pid <> pg_backend_pid()", (self.database,))
            count = cursor.fetchone()[0]
        self.peak = max(self.peak, count)
        return count

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.now()

    def __enter__(self) -> "Sessions":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.conn.close()


def app_settings(uri: str, upstream: str | None = None) -> dict[str, str]:
    return {**shopdb.settings_dict(Path("/unused"), upstream), "zodbconn.uri": uri}


# --- measurements ------------------------------------------------------------------------------


def page_load(servers: list[Server], accept: str, seconds: float,
              cookie: bool = False) -> load.LoadResult:
    """(a): 16 clients from two generators of 8, one generator per process when there are two."""
    url = [s.project_url(fixtures.PAGE_PROJECT) for s in servers]
    targets = [(url[i % len(url)], CLIENTS // 2) for i in range(2)]
    headers = {"Accept": accept, **({"Cookie": "bench=1"} if cookie else {})}
    return load.measure_many(targets, duration=seconds, headers=headers)


def check_page(server: Server, fixture) -> None:
    expected = [f.filename for f in fixture.project_files(fixtures.PAGE_PROJECT)]
    for accept in ("text/html", JSON_V1):
        r = requests.get(server.project_url(fixtures.PAGE_PROJECT), headers={"Accept": accept},
                         timeout=60)
        r.raise_for_status()
        missing = [n for n in expected if n not in r.text]
        if missing:
            raise RuntimeError(f"{server.base_url}: the page lacks {len(missing)} files")


def sequential(server: Server, path: str, headers: dict[str, str], count: int) -> list[float]:
    """``count`` GETs of ``path`` one after the other on one keep-alive connection (after 200
    not counted); each answer's time in ms."""
    parts = urlsplit(server.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    times = []
    try:
        for i in range(200 + count):
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status}")
            if i >= 200:
                times.append((time.perf_counter() - start) * 1000)
    finally:
        conn.close()
    return sorted(times)


def percentile(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms)) - 1))]


def replay_hits(server: Server) -> float | None:
    """The process's count of replayed answers, from /+metrics (None if it says none)."""
    try:
        text = requests.get(server.base_url + "/+metrics", timeout=10).text
    except requests.RequestException:
        return None
    total = None
    for line in text.splitlines():
        if line.startswith("localshop_replay_total") and 'outcome="hit"' in line:
            total = (total or 0.0) + float(line.rsplit(" ", 1)[1])
    return total


def upload_burst(servers: list[Server], prefix: str) -> tuple[float, int, list[int]]:
    """``BURST`` small wheels of new projects, ``BURST_CLIENTS`` at once, round robin over the
    processes: (seconds, stored, statuses that were not 200)."""
    from tests.factories import make_wheel, upload_fields

    dists = [make_wheel(f"{prefix}-{i:03d}", "1.0") for i in range(BURST)]

    def post(item):
        i, dist = item
        server = servers[i % len(servers)]
        return requests.post(
            server.base_url + "/repo/default/", data=upload_fields(dist),
            files={"content": (dist.filename, dist.data)},
            auth=(server.username, server.password), timeout=120,
        ).status_code

    start = time.perf_counter()
    with ThreadPoolExecutor(BURST_CLIENTS) as pool:
        statuses = list(pool.map(post, enumerate(dists)))
    elapsed = time.perf_counter() - start
    # Every stored project, as every process sees it.
    for server in servers:
        for dist, status in zip(dists, statuses):
            if status != 200:
                continue
            r = requests.get(server.project_url(dist.name), headers={"Accept": JSON_V1}, timeout=30)
            if r.status_code != 200 or dist.filename not in r.text:
                raise RuntimeError(f"{server.base_url}: {dist.name} uploaded but not listed")
    return elapsed, statuses.count(200), [s for s in statuses if s != 200]


def hosted_run(config: Config, servers: list[Server], fixture, seconds: float,
               results: Results, connections=None) -> None:
    """``connections``: the database's PostgreSQL sessions (RelStorage), else None."""
    for server in servers:
        check_page(server, fixture)
    # (a) page throughput.
    for fmt, accept in (("HTML", "text/html"), ("JSON", JSON_V1)):
        result = page_load(servers, accept, seconds)
        results.set(config, f"(a) {fmt}: requests/s", result.rps)
        results.set(config, f"(a) {fmt}: p50 ms", result.p50_ms)
        if result.errors or result.status_errors:
            results.set(config, f"(a) {fmt}: errors",
                        f"{result.errors} errors, {result.status_errors} 4xx/5xx")
    # The same with a Cookie: the replay never answers it (nor an authenticated client, as
    # on a private index), so every request takes Pyramid, a transaction and its poll.
    result = page_load(servers, JSON_V1, seconds, cookie=True)
    results.set(config, "(a) JSON, Cookie: requests/s", result.rps)
    results.set(config, "(a) JSON, Cookie: p50 ms", result.p50_ms)
    if result.errors or result.status_errors:
        results.set(config, "(a) JSON, Cookie: errors",
                    f"{result.errors} errors, {result.status_errors} 4xx/5xx")
    if connections is not None:
        results.set(config, "PostgreSQL sessions after (a)", connections.now())
    # 2. One hot anonymous page, replayed, then through Pyramid (a Cookie bypasses the replay).
    server = servers[0]
    path = urlsplit(server.project_url(HOT_PAGE)).path
    headers = {"Accept": JSON_V1}
    hits_before = replay_hits(server)
    replayed = sequential(server, path, headers, SEQUENTIAL)
    hits_after = replay_hits(server)
    full = sequential(server, path, {**headers, "Cookie": "bench=1"}, SEQUENTIAL)
    for label, times in (("replayed", replayed), ("full path (Cookie)", full)):
        results.set(config, f"hot page, {label}: p50 ms", statistics.median(times))
        results.set(config, f"hot page, {label}: p99 ms", percentile(times, 99))
    if hits_before is not None and hits_after is not None:
        results.set(config, "hot page: replayed answers", int(hits_after - hits_before))
    # (d) uploads. The first request with a password hashes it (argon2): once per process first.
    for s in servers:
        requests.get(s.simple_url, auth=(s.username, s.password), timeout=60)
    wheel = fixtures.upload_wheel(BIG_FILE_MB, PROJECTS)
    start = time.perf_counter()
    twine_upload(servers[0], wheel)
    results.set(config, "(d) twine 50 MB: s", time.perf_counter() - start)
    reader = servers[-1]  # on two processes: read back through the other one
    status, size, sha256 = stream_get(file_url(reader, fixtures.UPLOAD_PROJECT, wheel.name))
    if (status, size, sha256) != (200, wheel.stat().st_size, fixtures.file_sha256(wheel)):
        raise RuntimeError(f"the upload reads back as {status}, {size} bytes")
    elapsed, stored, failed = upload_burst(servers, "burst")
    results.set(config, "(d) burst: uploads/s", stored / elapsed)
    results.set(config, "(d) burst: not stored", ", ".join(map(str, failed)) or "none")
    if connections is not None:
        results.set(config, "PostgreSQL sessions after (d)", connections.now())


# --- the first download of a mirrored file, on several processes ---------------------------------


def claim_upstream():
    from tests.factories import Dist
    from tests.upstream import FakeIndex

    from .upstream import BenchUpstream

    dist = fixtures.big_wheel(CLAIM_FILE_MB * MB, name=CLAIM_PROJECT)
    index = FakeIndex()
    index.add(CLAIM_PROJECT, Dist(dist.filename, dist.data, CLAIM_PROJECT, dist.version))
    server = BenchUpstream(index)
    server.bandwidth_mbps = CLAIM_BANDWIDTH
    return server.start(), dist.filename, hashlib.sha256(dist.data).hexdigest(), len(dist.data)


def first_download(config: Config, servers: list[Server], upstream, filename: str,
                   sha256: str, size: int, results: Results) -> None:
    urls = [file_url(s, CLAIM_PROJECT, filename) for s in servers]  # each process's page first
    before = upstream.count("/files/" + filename)
    barrier = threading.Barrier(CLAIM_CLIENTS)

    def get(i: int):
        barrier.wait()
        got = stream_get(urls[i % len(urls)])
        return got, time.perf_counter()

    start = time.perf_counter()
    with ThreadPoolExecutor(CLAIM_CLIENTS) as pool:
        answers = list(pool.map(get, range(CLAIM_CLIENTS)))
    bad = [a for a, _ in answers if a != (200, size, sha256)]
    if bad:
        raise RuntimeError(f"{len(bad)} of {CLAIM_CLIENTS} first downloads were not the file: {bad[0]}")
    done = [t - start for _, t in answers]
    results.set(config, "first download: upstream fetches", upstream.count("/files/" + filename) - before)
    results.set(config, "first download: all 8 served, s", max(done))
    results.set(config, "first download: first served, s", min(done))


# --- the report ----------------------------------------------------------------------------------


def fmt(value, unit: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}" + (f" {unit}" if unit else "")


ROWS = (  # metric, unit, better ("higher"/"lower"/"")
    ("(a) HTML: requests/s", "req/s", "higher"),
    ("(a) JSON: requests/s", "req/s", "higher"),
    ("(a) JSON, Cookie: requests/s", "req/s", "higher"),
    ("(a) HTML: p50 ms", "ms", "lower"),
    ("(a) JSON: p50 ms", "ms", "lower"),
    ("(a) JSON, Cookie: p50 ms", "ms", "lower"),
    ("hot page, replayed: p50 ms", "ms", "lower"),
    ("hot page, replayed: p99 ms", "ms", "lower"),
    ("hot page, full path (Cookie): p50 ms", "ms", "lower"),
    ("hot page, full path (Cookie): p99 ms", "ms", "lower"),
    ("hot page: replayed answers", "", ""),
    ("(d) twine 50 MB: s", "s", "lower"),
    ("(d) burst: uploads/s", "uploads/s", "higher"),
    ("(d) burst: not stored", "", ""),
    ("PostgreSQL sessions after (a)", "", ""),
    ("PostgreSQL sessions after (d)", "", ""),
    ("PostgreSQL sessions: peak", "", ""),
    ("first download: upstream fetches", "", ""),
    ("first download: first served, s", "s", "lower"),
    ("first download: all 8 served, s", "s", "lower"),
    ("first download: PostgreSQL sessions peak", "", ""),
)
LABELS = {
    "(a) HTML: requests/s": "(a) project page, HTML, 16 clients: requests/s",
    "(a) JSON: requests/s": "(a) project page, JSON, 16 clients: requests/s",
    "(a) HTML: p50 ms": "(a) HTML, 16 clients: p50 latency (highest of the 2 generators)",
    "(a) JSON: p50 ms": "(a) JSON, 16 clients: p50 latency (highest of the 2 generators)",
    "hot page, replayed: p50 ms": "hot page, sequential, replayed: p50",
    "hot page, replayed: p99 ms": "hot page, sequential, replayed: p99",
    "hot page, full path (Cookie): p50 ms": "hot page, sequential, with a Cookie (full Pyramid path): p50",
    "hot page, full path (Cookie): p99 ms": "hot page, sequential, with a Cookie (full Pyramid path): p99",
    "hot page: replayed answers": f"hot page: answers the replay gave of {SEQUENTIAL + 200:,} (/+metrics)",
    "(d) twine 50 MB: s": "(d) twine upload of a 50 MB wheel: wall time",
    "(d) burst: uploads/s": f"(d) {BURST} small uploads of new projects, {BURST_CLIENTS} clients: uploads/s",
    "(d) burst: not stored": "(d) burst: answers other than 200",
    "PostgreSQL sessions after (a)": "PostgreSQL sessions on the database after (a) (pg_stat_activity)",
    "PostgreSQL sessions after (d)": "PostgreSQL sessions on the database after (d)",
    "PostgreSQL sessions: peak": "PostgreSQL sessions on the database: peak (sampled every 0.25 s)",
    "(a) JSON, Cookie: requests/s": "(a) project page, JSON with a Cookie (full Pyramid path), "
                                    "16 clients: requests/s",
    "(a) JSON, Cookie: p50 ms": "(a) JSON with a Cookie, 16 clients: p50 latency",
    "first download: upstream fetches": f"first download of a {CLAIM_FILE_MB} MB mirrored file, "
                                        f"{CLAIM_CLIENTS} clients: upstream fetches",
    "first download: first served, s": "first download: first client served",
    "first download: all 8 served, s": f"first download: all {CLAIM_CLIENTS} served",
    "first download: PostgreSQL sessions peak": "first download: PostgreSQL sessions, peak",
}


def table(results: Results) -> str:
    names = [c.name for c in CONFIGS]
    others = names[1:]
    head = ["metric", "better", *names, *(f"{n} ÷ FileStorage" for n in others)]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    for metric, unit, better in ROWS:
        values = [results.get(n, metric) for n in names]
        if all(v is None for v in values):
            continue
        base = values[0]
        ratios = []
        for v in values[1:]:
            ok = isinstance(v, float | int) and isinstance(base, float | int) and base and better
            ratios.append(f"{v / base:.2f}x" if ok else "")
        arrow = {"higher": "↑", "lower": "↓"}.get(better, "")
        lines.append("| " + " | ".join([LABELS[metric], arrow, *(fmt(v, unit) for v in values),
                                        *ratios]) + " |")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = README.read_text()
    if BEGIN not in readme or END not in readme:
        readme = readme.rstrip() + f"\n\n### Scale-out on PostgreSQL (issue 16)\n\n{BEGIN}\n{END}\n"
    before, rest = readme.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    README.write_text(before + BEGIN + "\n" + text + "\n" + END + after)


# --- the run -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="length of each (a) load measurement (default %(default)s)")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args(argv)

    info = machine()
    print(f"{info['cpu']}, {info['nproc']} CPUs, load average {info['load']}", flush=True)
    started = time.perf_counter()
    loads = [float(load_average())]
    fixture = fixtures.hosted(PROJECTS, max_projects=PROJECTS, big_file_mb=BIG_FILE_MB)
    var_source = shopdb.cached_database(fixture)
    localshop = Localshop()
    localshop.prepare()
    results = Results()
    notes = []
    with postgres() as pg, tempfile.TemporaryDirectory(prefix="localshop-bench-scaleout-") as tmp:
        tmp = Path(tmp)
        template, role = pg.database()
        t0 = time.perf_counter()
        shopdb.load_into(app_settings(pg.uri(template, role, tmp / "load-blobs")), fixture.files)
        notes.append(f"{PROJECTS:,} projects published into PostgreSQL in "
                     f"{time.perf_counter() - t0:.0f} s")
        print(f"  {notes[-1]}", flush=True)

        for config in CONFIGS:
            print(f"{config.name}: hosted, {config.processes} process(es) ...", flush=True)
            loads.append(float(load_average()))
            connections = None
            if config.relstorage:
                database = copy_of(pg, template, role)
                uri = pg.uri(database, role, tmp / f"blobs-{database}")
                connections = Sessions(pg, database, role)
            else:
                var = tmp / "var-filestorage"
                shopdb.copy_database(var_source, var)
                uri = shopdb.storage_uri(var)
            with contextlib.ExitStack() as stack:
                if connections is not None:
                    stack.enter_context(connections)
                servers = stack.enter_context(localshop.processes(uri, None, config.processes))
                hosted_run(config, servers, fixture, args.seconds, results, connections)
            if connections is not None:
                results.set(config, "PostgreSQL sessions: peak", connections.peak)

        upstream, filename, sha256, size = claim_upstream()
        try:
            for config in CONFIGS:
                print(f"{config.name}: first download through the mirror ...", flush=True)
                loads.append(float(load_average()))
                if config.relstorage:
                    database, role2 = pg.database()
                    uri = pg.uri(database, role2, tmp / f"blobs-{database}")
                    # Made by one process first: two starting at once on an empty database
                    # collide in its first transaction, and one exits (see README).
                    shopdb.load_into(app_settings(uri, upstream.url), ())
                else:
                    var = tmp / "var-mirror"
                    uri = shopdb.storage_uri(var)
                with contextlib.ExitStack() as stack:
                    connections = (stack.enter_context(Sessions(pg, database, role2))
                                   if config.relstorage else None)
                    servers = stack.enter_context(
                        localshop.processes(uri, upstream.url, config.processes))
                    first_download(config, servers, upstream, filename, sha256, size, results)
                if connections is not None:
                    results.set(config, "first download: PostgreSQL sessions peak", connections.peak)
        finally:
            upstream.stop()
        pg_version = pg.psql("SHOW server_version").strip()
    elapsed = time.perf_counter() - started
    from importlib.metadata import version

    text = "\n".join([
        f"Measured {info['date']} at commit {info['commit']} in {elapsed / 60:.1f} minutes, on "
        f"{info['cpu']}, {info['nproc']} CPUs; PostgreSQL {pg_version.split()[0]}, RelStorage "
        f"{version('relstorage')}, psycopg2 {version('psycopg2-binary')}; load generator: "
        f"{load.generator_name()}; load average (1 min) {info['load']} before, "
        f"{min(loads):.2f} to {max(loads):.2f} at the start of each part, {load_average()} after; "
        f"{'; '.join(notes)}.",
        "",
        table(results),
    ])
    print()
    print(text)
    if args.readme:
        write_readme(text)
        print(f"written to {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
