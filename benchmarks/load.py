"""Requests per second and latency of one URL, from a load generator in its own process.

wrk when it is installed (``apt-get install wrk``); otherwise ``httpload.py`` beside this file.
Both are bounded in time and only ever pointed at loopback.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

# wrk calls done() once at the end; it prints the numbers as one JSON line after its own report.
WRK_SCRIPT = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %d, "duration_s": %.6f, "bytes": %d, "errors": %d, "status_errors": %d, '
    .. '"p50_ms": %.3f, "p99_ms": %.3f}\\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    duration_s: float
    bytes: int  # read (wrk counts headers too, httpload.py bodies only)
    errors: int  # connection errors and timeouts
    status_errors: int  # answers 4xx/5xx
    p50_ms: float
    p99_ms: float
    generator: str

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def generator_name() -> str:
    """Which load generator ``measure`` will use."""
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
        first = (out.stdout or out.stderr).strip().splitlines()
        return first[0].split(" [")[0] if first else "wrk"
    return "benchmarks/httpload.py (wrk not installed)"


def measure(url: str, *, connections: int, duration: float, headers: dict[str, str]) -> LoadResult:
    """Load ``url`` with ``connections`` keep-alive clients for ``duration`` seconds."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError(f"benchmarks only load loopback servers, not {url}")
    header_args = [arg for k, v in headers.items() for arg in ("-H", f"{k}: {v}")]
    if shutil.which("wrk"):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT)
        try:
            threads = max(1, min(connections, os.cpu_count() or 1))
            cmd = [
                "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s",
                "-s", script.name, *header_args, url,
            ]
            out = _run(cmd, duration)
        finally:
            os.unlink(script.name)
        generator = "wrk"
    else:
        cmd = [
            sys.executable, str(HERE / "httpload.py"), url,
            "-c", str(connections), "-d", str(duration), *header_args,
        ]
        out = _run(cmd, duration)
        generator = "httpload.py"
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return LoadResult(**json.loads(line), generator=generator)


def _run(cmd: list[str], duration: float) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    return proc.stdout


def measure_many(targets: list[tuple[str, int]], *, duration: float,
                 headers: dict[str, str]) -> LoadResult:
    """Several load generators at once, one per ``(url, connections)``, for ``duration``
    seconds: the load spread over several servers (``scaleout.py``: half the clients on each
    process). Requests and bytes are summed over the generators; p50 and p99 are the highest
    of theirs (the generators' latencies are not merged: a bound, not the exact figure)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(targets)) as pool:
        results = list(pool.map(
            lambda t: measure(t[0], connections=t[1], duration=duration, headers=headers), targets,
        ))
    return LoadResult(
        requests=sum(r.requests for r in results),
        duration_s=max(r.duration_s for r in results),
        bytes=sum(r.bytes for r in results),
        errors=sum(r.errors for r in results),
        status_errors=sum(r.status_errors for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        generator=results[0].generator,
    )
