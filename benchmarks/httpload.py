"""A bounded HTTP load generator for when wrk is not installed: run it as its own process.

    python benchmarks/httpload.py URL --connections 16 --duration 10 -H 'Accept: text/html'

Each connection is a thread with one keep-alive ``http.client`` connection sending GETs back to
back until the duration is over. Prints one JSON object, the same keys ``load.py`` reads from
wrk. Being Python, it saturates a core well before wrk does: on a small machine it measures
itself as much as the server, which is why wrk is preferred.
"""
from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlsplit


def worker(host: str, port: int, path: str, headers: dict, deadline: float, out: dict) -> None:
    latencies: list[float] = []
    errors = status_errors = nbytes = 0
    conn = http.client.HTTPConnection(host, port, timeout=10)
    while True:
        start = time.perf_counter()
        if start >= deadline:
            break
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
            continue
        latencies.append(time.perf_counter() - start)
        nbytes += len(body)
        if response.status >= 400:
            status_errors += 1
    conn.close()
    out.update(latencies=latencies, errors=errors, status_errors=status_errors, bytes=nbytes)


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run(url: str, connections: int, duration: float, headers: dict) -> dict:
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"httpload only loads loopback servers, not {parts.hostname}")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    start = time.perf_counter()
    deadline = start + duration
    results = [{} for _ in range(connections)]
    threads = [
        threading.Thread(target=worker, args=(parts.hostname, parts.port or 80, path, headers, deadline, r))
        for r in results
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies = sorted(x for r in results for x in r["latencies"])
    return {
        "requests": len(latencies),
        "duration_s": elapsed,
        "bytes": sum(r["bytes"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "status_errors": sum(r["status_errors"] for r in results),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", "-c", type=int, default=1)
    parser.add_argument("--duration", "-d", type=float, default=10.0)
    parser.add_argument("--header", "-H", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    print(json.dumps(run(args.url, args.connections, args.duration, headers)))


if __name__ == "__main__":
    main()
