"""Scale (issue 14): a mirror of a 50,000-project, 2,000,000-file upstream, 20,000 look-ups.

    PYTHONPATH=. .venv/bin/python -m benchmarks.scale                       # the full size
    PYTHONPATH=. .venv/bin/python -m benchmarks.scale --projects 2000 --lookups 500   # a smoke run
    PYTHONPATH=. .venv/bin/python -m benchmarks.scale --source ../other-checkout --readme

A generated upstream (its own process on loopback) answers PEP 691 JSON and PEP 503 HTML
project pages made on the fly from each project's index and a per-project seed: sha256
hashes, sizes, upload times, requires-python, a few yanked files, core-metadata for the
wheels of two projects in three; and the files themselves (a few hundred deterministic
bytes each, derived from the filename) and their metadata, so a download can be verified.
Many projects have a few files, a few (about 9 per 50,000) 10,000-12,000, and ``scale-big``
has ``--big`` (15,000). Its root page lists every project.

A fresh localshop of the ``--source`` tree (pserve with benchmarks/server.py's ini, a
FileStorage in a temporary directory) mirrors it. Measured, in this order: the first (cold)
look-up of ``scale-big``, then its warm look-ups (median of 5); ``--lookups`` other projects
(a fixed sample, the heavy ones among them by chance) by ``--clients`` concurrent clients,
each page checked for its file count; the big project warm again, the root page
``/repo/default/`` warm (JSON and HTML, median of 10); one file and its metadata downloaded
through the mirror and checked; the database's size on disk and the server's VmRSS/VmHWM.
Project pages are asked for as pip asks (its Accept header, gzip); the root page without
compression, as scenario (b) does.

Run by hand only, never by ``make bench`` or the tests.
"""
from __future__ import annotations

import argparse
import bisect
import gzip
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import server as servers
from . import shopdb

REPO = Path(__file__).resolve().parents[1]
README = REPO / "benchmarks" / "README.md"
BEGIN, END = "<!-- scale: written by scale.py -->", "<!-- end of scale -->"
JSON_V1 = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
              "text/html; q=0.01")
BIG = "scale-big"
SEED = 14
# pip's retries (urllib3 Retry(total=5, backoff_factor=0.25, status_forcelist=...)): a client
# that gets a 503 for a first look-up asks again, so a collision costs time, not the install.
RETRIES, RETRY_STATUSES = 5, (500, 502, 503, 520, 527)
EPOCH = 1_600_000_000  # upload times count up from here (2020-09-13)


# --- the generated upstream ------------------------------------------------------------------


def project_name(i: int) -> str:
    return BIG if i == 0 else f"scale-{i:05d}"


def project_index(name: str) -> int | None:
    if name == BIG:
        return 0
    if name.startswith("scale-") and name[6:].isdigit():
        return int(name[6:])
    return None


def file_counts(projects: int, files: int, big: int) -> list[int]:
    """How many files each project has: index 0 is the big one, about 9 per 50,000 have
    10,000-12,000, the others a heavy-tailed share (most a few, some hundreds, at most 5,000)
    of what is left of ``files``."""
    rng = random.Random(SEED)
    counts = [0] * projects
    counts[0] = big
    heavy = rng.sample(range(1, projects), min(projects - 1, round(9 * projects / 50_000)))
    for i in heavy:
        counts[i] = rng.randint(10_000, 12_000)
    others = [i for i in range(1, projects) if not counts[i]]
    weights = [rng.paretovariate(1.0) - 0.9 for _ in others]  # Lomax-like: most near the floor
    rest = max(files - sum(counts), len(others))
    scale = rest / sum(weights)
    for _ in range(8):  # the cap and the rounding move the sum: adjust the scale until it fits
        values = [max(1, min(5000, round(w * scale))) for w in weights]
        scale *= rest / sum(values)
    for i, v in zip(others, values):
        counts[i] = v
    return counts


def file_bytes(filename: str) -> bytes:
    """A file's deterministic content: 200-2,000 bytes derived from its name."""
    h = hashlib.sha256(filename.encode()).digest()
    size = 200 + int.from_bytes(h[:2], "big") % 1800
    return (h * (size // 32 + 1))[:size]


def metadata_bytes(filename: str) -> bytes:
    dist, version = filename.split("-")[:2]
    return f"Metadata-Version: 2.1\nName: {dist.replace('_', '-')}\nVersion: {version}\n".encode()


def project_files(i: int, count: int) -> list[dict]:
    """The PEP 691 file entries of project ``i``: a wheel and an sdist per release."""
    name = project_name(i)
    dist = name.replace("-", "_")
    with_metadata = i % 3 != 0
    requires = ">=3.8" if i % 2 else None
    entries = []
    for j in range(count):
        k = j // 2
        version = f"1.{k}"
        wheel = j % 2 == 0
        filename = f"{dist}-{version}-py3-none-any.whl" if wheel else f"{dist}-{version}.tar.gz"
        data = file_bytes(filename)
        metadata = wheel and with_metadata
        entries.append({
            "filename": filename,
            "url": f"../../files/{filename}",
            "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
            "requires-python": requires,
            "size": len(data),
            "upload-time": datetime.fromtimestamp(EPOCH + 3600 * k + j % 2, timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "yanked": "broken" if (i + k) % 199 == 0 else False,
            "core-metadata": ({"sha256": hashlib.sha256(metadata_bytes(filename)).hexdigest()}
                              if metadata else False),
        })
    return entries


def json_page(i: int, count: int) -> bytes:
    files = project_files(i, count)
    return json.dumps({
        "meta": {"api-version": "1.1"}, "name": project_name(i),
        "versions": [f"1.{k}" for k in range((count + 1) // 2)], "files": files,
    }).encode()


def html_page(i: int, count: int) -> bytes:
    links = []
    for f in project_files(i, count):
        attrs = f'href="{f["url"]}#sha256={f["hashes"]["sha256"]}"'
        if f["requires-python"]:
            attrs += ' data-requires-python="&gt;=3.8"'
        if f["yanked"]:
            attrs += f' data-yanked="{f["yanked"]}"'
        if f["core-metadata"]:
            attrs += f' data-core-metadata="sha256={f["core-metadata"]["sha256"]}"'
        links.append(f"<a {attrs}>{f['filename']}</a><br>")
    return ('<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.1">'
            "</head><body>" + "".join(links) + "</body></html>").encode()


def serve_upstream(port: int, counts: list[int], ready) -> None:
    """The upstream's process: pages made per request, the root pages made once."""
    names = [project_name(i) for i in range(len(counts))]
    roots: dict[bool, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes (see upstream.py)

        def log_message(self, *args):
            pass

        def do_GET(self):
            path = unquote(urlsplit(self.path).path)
            wants_json = "json" in self.headers.get("Accept", "")
            content_type = JSON_V1 if wants_json else "text/html"
            if path == "/simple/":
                if wants_json not in roots:
                    roots[wants_json] = (json.dumps({
                        "meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names],
                    }) if wants_json else "<!DOCTYPE html><html><body>" + "".join(
                        f'<a href="{n}/">{n}</a><br>' for n in names) + "</body></html>").encode()
                return self._send(200, roots[wants_json], content_type)
            if path.startswith("/simple/"):
                i = project_index(path[len("/simple/"):].strip("/"))
                if i is None or i >= len(counts):
                    return self._send(404, b"no such project\n", "text/plain")
                etag = f'"scale-{SEED}-{i}-{counts[i]}-{int(wants_json)}"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", content_type, etag)
                body = (json_page if wants_json else html_page)(i, counts[i])
                return self._send(200, body, content_type, etag)
            if path.startswith("/files/"):
                name = path[len("/files/"):]
                if name.endswith(".whl.metadata"):
                    return self._send(200, metadata_bytes(name), "application/octet-stream")
                return self._send(200, file_bytes(name), "application/octet-stream")
            self._send(404, b"not found\n", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str, etag: str | None = None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    ready.set()
    httpd.serve_forever()


# --- localshop -------------------------------------------------------------------------------


def start_localshop(source: Path, tmp: Path, upstream: str, threads: int) -> tuple[subprocess.Popen, str, Path]:
    """pserve of the ``source`` tree (PYTHONPATH wins over the venv's editable install)."""
    var = tmp / "var"
    var.mkdir()
    port = servers.free_port()
    ini = tmp / "bench.ini"
    max_upload = 2 * servers.GiB
    text = servers.INI.format(
        uri=shopdb.storage_uri(var), upstream=upstream, secret=shopdb.SECRET, port=port,
        threads=threads, max_upload=max_upload, max_body=max_upload + 64 * 1024**2,
    )
    # Warm look-ups measure the stored page, not a re-check: no project goes stale in a run.
    ini.write_text(text.replace("shop.mirror.index_ttl = 600", "shop.mirror.index_ttl = 86400"))
    log = tmp / "server.log"
    env = dict(os.environ, PYTHONPATH=str(source), LOCALSHOP_ADMIN_PASSWORD=shopdb.ADMIN_PASSWORD)
    proc = servers.spawn([str(servers.BIN / "pserve"), str(ini)], log, cwd=source, env=env)
    base = f"http://127.0.0.1:{port}"
    servers.wait_until_up(base + "/simple/", proc, log)
    return proc, base, var


class Client:
    """One keep-alive connection; ``get`` returns (status, decoded body, seconds)."""

    def __init__(self, base: str) -> None:
        split = urlsplit(base)
        self.conn = http.client.HTTPConnection(split.hostname, split.port, timeout=300)

    def get(self, path: str, accept: str, gzip_ok: bool = True) -> tuple[int, bytes, float]:
        headers = {"Accept": accept, "Accept-Encoding": "gzip" if gzip_ok else "identity",
                   "User-Agent": "localshop-scale-benchmark"}
        start = time.perf_counter()
        self.conn.request("GET", path, headers=headers)
        response = self.conn.getresponse()
        body = response.read()
        seconds = time.perf_counter() - start
        if response.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return response.status, body, seconds


def page_files(status: int, body: bytes, name: str) -> int:
    if status != 200:
        raise RuntimeError(f"{name}: {status} {body[:200]!r}")
    return len(json.loads(body)["files"])


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def lookup_all(base: str, names: list[str], counts: dict[str, int], clients: int):
    """Look every name up, ``clients`` at a time, retrying 5xx answers as pip does; returns
    (wall time, latencies including retries, errors, answers retried)."""
    local = threading.local()
    latencies: list[float] = []
    errors = []
    retried = []

    def one(name: str) -> None:
        if not hasattr(local, "client"):
            local.client = Client(base)
        try:
            start = time.perf_counter()
            for attempt in range(RETRIES + 1):
                status, body, _ = local.client.get(f"/simple/{name}/", PIP_ACCEPT)
                if status not in RETRY_STATUSES or attempt == RETRIES:
                    break
                retried.append(name)
                time.sleep(0.25 * 2**attempt)
            seconds = time.perf_counter() - start
            got = page_files(status, body, name)
            if got != counts[name]:
                raise RuntimeError(f"{name}: {got} files, upstream has {counts[name]}")
            latencies.append(seconds)
        except Exception as exc:  # counted and shown, the run goes on
            local.client = Client(base)
            errors.append(f"{name}: {exc}")

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for i, _ in enumerate(pool.map(one, names), 1):
            if i % 2000 == 0:
                print(f"  {i:,} look-ups, {time.perf_counter() - start:.0f} s", flush=True)
    wall = time.perf_counter() - start
    for e in errors[:5]:
        print("  error:", e, flush=True)
    return wall, latencies, len(errors), len(retried)


def median_get(client: Client, path: str, accept: str, n: int, gzip_ok: bool) -> float:
    times = []
    for _ in range(n):
        status, body, seconds = client.get(path, accept, gzip_ok)
        if status != 200:
            raise RuntimeError(f"{path}: {status}")
        times.append(seconds)
    return statistics.median(times)


def check_download(client: Client, name: str) -> str:
    """A wheel and its metadata through the mirror, hashed against the listing."""
    status, body, _ = client.get(f"/simple/{name}/", JSON_V1)
    files = json.loads(body)["files"]
    f = next(f for f in files if f["filename"].endswith(".whl") and f.get("core-metadata"))
    url = urlsplit(f["url"]).path if f["url"].startswith("http") else f["url"]
    if not url.startswith("/"):
        url = urlsplit(f"/simple/{name}/" + url).path
        url = os.path.normpath(url)
    status, data, _ = client.get(url, "*/*", gzip_ok=False)
    good = status == 200 and hashlib.sha256(data).hexdigest() == f["hashes"]["sha256"]
    status, meta, _ = client.get(url + ".metadata", "*/*", gzip_ok=False)
    good_meta = status == 200 and hashlib.sha256(meta).hexdigest() == f["core-metadata"]["sha256"]
    return (f"{f['filename']}: sha256 {'matches' if good else 'MISMATCH'}, "
            f"metadata {'matches' if good_meta else 'MISMATCH'}")


# --- the run ---------------------------------------------------------------------------------


def run(args) -> dict:
    source = Path(args.source).resolve()
    commit = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--", "shop"],
                           capture_output=True, text=True).stdout.strip()
    label = commit + (" (shop/ modified)" if dirty else "")
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    counts = file_counts(args.projects, args.files, args.big)
    ordered = sorted(counts)
    print(f"upstream: {args.projects:,} projects, {sum(counts):,} files; files per project: "
          f"median {ordered[len(ordered) // 2]}, 90th percentile {ordered[int(len(ordered) * .9)]}, "
          f"10,000 or more: {len(ordered) - bisect.bisect_left(ordered, 10_000)}, "
          f"largest {ordered[-1]:,}", flush=True)
    rng = random.Random(SEED + 1)
    sample = rng.sample(range(1, args.projects), min(args.lookups, args.projects) - 1)
    names = [project_name(i) for i in sample]
    by_name = {project_name(i): counts[i] for i in [0, *sample]}

    port = servers.free_port()
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    upstream = ctx.Process(target=serve_upstream, args=(port, counts, ready), daemon=True)
    upstream.start()
    ready.wait(30)
    result = {"label": label, "projects": args.projects, "files": sum(counts), "lookups": len(names) + 1,
              "clients": args.clients}
    with tempfile.TemporaryDirectory(prefix="localshop-scale-") as tmp:
        proc, base, var = start_localshop(source, Path(tmp), f"http://127.0.0.1:{port}/simple/",
                                          args.threads)
        try:
            result["rss_start"] = proc_status(proc.pid)["VmRSS"]
            client = Client(base)
            status, body, seconds = client.get(f"/simple/{BIG}/", PIP_ACCEPT)
            if page_files(status, body, BIG) != counts[0]:
                raise RuntimeError(f"{BIG}: wrong file count")
            result["big_cold"] = seconds
            print(f"{BIG} ({counts[0]:,} files), first look-up: {seconds:.2f} s", flush=True)
            result["big_warm"] = median_get(client, f"/simple/{BIG}/", PIP_ACCEPT, 5, True)
            print(f"{BIG}, warm: {result['big_warm'] * 1000:.1f} ms", flush=True)

            load_during = []
            sampler_stop = threading.Event()

            def sample_load():
                while not sampler_stop.wait(10):
                    load_during.append(os.getloadavg()[0])

            threading.Thread(target=sample_load, daemon=True).start()
            wall, latencies, errors, retried = lookup_all(base, names, by_name, args.clients)
            sampler_stop.set()
            result.update(lookup_wall=wall, errors=errors, retried=retried, load_during=max(load_during, default=os.getloadavg()[0]))
            latencies.sort()
            result["p50"] = latencies[len(latencies) // 2] if latencies else float("nan")
            result["p99"] = latencies[int(len(latencies) * .99)] if latencies else float("nan")
            print(f"{len(names):,} look-ups: {wall:.1f} s, {len(names) / wall:,.0f}/s, "
                  f"p50 {result['p50'] * 1000:.1f} ms, p99 {result['p99'] * 1000:.0f} ms, answers retried {retried}, errors {errors}",
                  flush=True)

            client = Client(base)
            result["big_warm_after"] = median_get(client, f"/simple/{BIG}/", PIP_ACCEPT, 5, True)
            client.get("/repo/default/", JSON_V1, gzip_ok=False)  # rendered once
            client.get("/repo/default/", "text/html", gzip_ok=False)
            result["root_json"] = median_get(client, "/repo/default/", JSON_V1, 10, False)
            result["root_html"] = median_get(client, "/repo/default/", "text/html", 10, False)
            status, body, _ = client.get("/repo/default/", JSON_V1, gzip_ok=False)
            result["root_projects"] = len(json.loads(body)["projects"])
            result["download"] = check_download(client, next(n for n in names if project_index(n) % 3))
            time.sleep(2)  # the stored file's commit, in the background
            result["rss"] = proc_status(proc.pid)
            datafs = var / "Data.fs"
            result["datafs"] = datafs.stat().st_size
            result["blobs"] = tree_bytes(var / "blobs")
        except Exception:
            print(servers.tail(Path(tmp) / "server.log", 30), file=sys.stderr)
            raise
        finally:
            servers.stop(proc)
            upstream.terminate()
            upstream.join(10)
    result["load_before"], result["load_after"] = load_before, os.getloadavg()[0]
    result["total"] = time.perf_counter() - started
    result["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return result


def mib(n: int) -> str:
    if n < 1024**2:
        return f"{n:,} B"
    return f"{n / 1024**2:,.0f} MiB" if n >= 10 * 1024**2 else f"{n / 1024**2:.1f} MiB"


def ms(s: float) -> str:
    return f"{s * 1000:,.0f} ms" if s >= 0.1 else f"{s * 1000:.2f} ms"


HEADER = ("| tree | measured | upstream | look-ups (clients) | look-ups: time, rate | p50, p99 "
          "| big project: first, warm, warm after | root page JSON, HTML (projects) "
          "| Data.fs + blobs | server VmRSS, VmHWM | load before / max during / after | run |")
SEPARATOR = "|" + "---|" * HEADER.count(" | ") + "---|"


def table_row(r: dict) -> str:
    return " | ".join([
        f"| {r['label']}", r["date"], f"{r['projects']:,} projects, {r['files']:,} files",
        f"{r['lookups']:,} ({r['clients']})" + (f", {r['retried']} 503s retried" if r["retried"] else "")
        + (f", **{r['errors']} errors**" if r["errors"] else ""),
        f"{r['lookup_wall']:.1f} s, {(r['lookups'] - 1) / r['lookup_wall']:,.0f}/s",
        f"{ms(r['p50'])}, {ms(r['p99'])}",
        f"{r['big_cold']:.2f} s, {ms(r['big_warm'])}, {ms(r['big_warm_after'])}",
        f"{ms(r['root_json'])}, {ms(r['root_html'])} ({r['root_projects']:,})",
        f"{mib(r['datafs'])} + {mib(r['blobs'])}",
        f"{mib(r['rss']['VmRSS'])}, {mib(r['rss']['VmHWM'])}",
        f"{r['load_before']:.2f} / {r['load_during']:.2f} / {r['load_after']:.2f}",
        f"{r['total'] / 60:.1f} min |",
    ])


def write_readme(row: str) -> None:
    """Add ``row`` to the README's scale table; earlier rows stay (this machine's noise is
    best seen in several rows of one tree: remove stale ones by hand)."""
    text = README.read_text()
    if BEGIN not in text:
        raise SystemExit(f"{README}: no {BEGIN} marker")
    head, rest = text.split(BEGIN, 1)
    table, tail = rest.split(END, 1)
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| tree ")]
    rows.append(row)
    README.write_text(head + BEGIN + "\n" + HEADER + "\n" + SEPARATOR + "\n" + "\n".join(rows) + "\n" + END + tail)



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(REPO), help="the localshop tree to measure (default: this one)")
    parser.add_argument("--projects", type=int, default=50_000)
    parser.add_argument("--files", type=int, help="files in all (default: 40 per project)")
    parser.add_argument("--big", type=int, default=15_000, help="files of the big project")
    parser.add_argument("--lookups", type=int, default=20_000, help="projects looked up, the big one included")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--readme", action="store_true", help="write the row into benchmarks/README.md")
    args = parser.parse_args(argv)
    args.files = args.files or 40 * args.projects
    r = run(args)
    row = table_row(r)
    print(f"\ndownload through the mirror: {r['download']}\n\n{HEADER}\n{SEPARATOR}\n{row}")
    if args.readme:
        write_readme(row)
        print(f"written into {README}")
    return 1 if r["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
