"""Scenario (f), by hand only: real popular packages through the mirrors from the real upstream.

    .venv/bin/python benchmarks/real_upstream.py                  # localshop, devpi, proxpi
    .venv/bin/python benchmarks/real_upstream.py --peers none --packages requests flask

Needs the internet, so it is never part of CI or ``make bench``. For each server it starts a
fresh instance mirroring the real upstream (``pypi_simple.PYPI_SIMPLE_ENDPOINT``, the index
localshop mirrors by default), then installs the packages with their dependencies through it,
cold (nothing cached) and then warm, with pip (``pip download``) and with uv (``uv pip
install --target``), each client against its own fresh server so that both see a cold cache.
The same commands straight against the upstream are the baseline. No client cache is used
(``--no-cache-dir``, ``--no-cache``) and no pip configuration (``PIP_CONFIG_FILE`` is the null
device, ``PIP_*`` and ``UV_*`` variables are dropped).

It prints one table in the format of ``run.py``'s; ``--readme`` also records it in
``benchmarks/README.md`` between its own markers.
"""
from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from pypi_simple import PYPI_SIMPLE_ENDPOINT  # noqa: E402

from . import report  # noqa: E402
from .peers import Devpi, Proxpi, ensure_venv  # noqa: E402
from .scenarios import Row  # noqa: E402
from .server import BIN, Localshop, Peer, Setup, Unavailable  # noqa: E402

PACKAGES = ["requests", "django", "numpy", "pandas", "flask", "sqlalchemy", "pydantic", "pytest",
            "click", "jinja2"]
SCENARIO = "(f) real upstream: {client} install of {count} packages with dependencies"
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- real upstream: written by real_upstream.py -->", "<!-- end of real upstream -->"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def pip_run(index_url: str, packages: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-real-pip-") as tmp:
        cmd = [str(BIN / "python"), "-m", "pip", "download", "--isolated", "--no-cache-dir",
               "--disable-pip-version-check", "--quiet", "-d", tmp, "--index-url", index_url, *packages]
        return timed(cmd)


def uv_run(index_url: str, packages: list[str]) -> float:
    uv = ensure_venv("tools", ["py-spy", "uv"]) / "uv"
    with tempfile.TemporaryDirectory(prefix="bench-real-uv-") as tmp:
        cmd = [str(uv), "pip", "install", "--quiet", "--no-cache", "--no-config", "--target", tmp,
               "--python", sys.executable, "--index-url", index_url, *packages]
        return timed(cmd)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=1800)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {(proc.stdout + proc.stderr)[-400:]}")
    return elapsed


CLIENTS = {"pip": pip_run, "uv": uv_run}


def measure(name: str, index_url: str, client: str, packages: list[str], warm_runs: int) -> list[Row]:
    scenario = SCENARIO.format(client=client, count=len(packages))
    run = CLIENTS[client]
    cold = run(index_url, packages)
    warm = statistics.median(run(index_url, packages) for _ in range(warm_runs))
    return [
        Row(name, scenario, "cold: wall time", cold, "s", "lower"),
        Row(name, scenario, f"warm: wall time (median of {warm_runs})", warm, "s", "lower"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default="devpi,proxpi", help="comma-separated, or 'none' (default: %(default)s)")
    parser.add_argument("--packages", nargs="+", default=PACKAGES)
    parser.add_argument("--clients", default="pip,uv", help="comma-separated (default: %(default)s)")
    parser.add_argument("--warm-runs", type=int, default=2)
    parser.add_argument("--readme", action="store_true", help="record the table in benchmarks/README.md")
    args = parser.parse_args(argv)

    peers = {"devpi": Devpi, "proxpi": Proxpi}
    servers: list[Peer] = [Localshop(), *(peers[p]() for p in args.peers.split(",") if p in peers)]
    clients = [c for c in args.clients.split(",") if c in CLIENTS]
    rows: list[Row] = []
    started = time.perf_counter()
    for client in clients:
        print(f"{client} straight from the upstream ...", flush=True)
        rows += measure("upstream", PYPI_SIMPLE_ENDPOINT, client, args.packages, args.warm_runs)
    setup = Setup("mirror", upstream_url=PYPI_SIMPLE_ENDPOINT)
    for server in servers:
        try:
            server.prepare()
        except Unavailable as e:
            rows.append(Row(server.name, "servers", "version", f"unavailable: {e}"))
            continue
        rows.append(Row(server.name, "servers", "version", server.version or "?"))
        for client in clients:
            print(f"{server.name}, {client} ...", flush=True)
            try:
                with server.start(setup) as running:  # a fresh server: a cold cache for each client
                    rows += measure(server.name, running.simple_url, client, args.packages, args.warm_runs)
            except (Unavailable, RuntimeError) as e:
                rows.append(Row(server.name, SCENARIO.format(client=client, count=len(args.packages)),
                                "status", f"failed: {str(e).splitlines()[0][:200]}"))
    elapsed = time.perf_counter() - started
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    text = (f"Measured {date} in {elapsed / 60:.1f} minutes; packages: {' '.join(args.packages)}; "
            f"load average after: {Path('/proc/loadavg').read_text().split()[0]}\n\n{report.table(rows)}")
    print()
    print(text)
    if args.readme:
        readme = README.read_text()
        if BEGIN in readme and END in readme:
            before, rest = readme.split(BEGIN, 1)
            readme = before + BEGIN + "\n" + text + "\n" + END + rest.split(END, 1)[1]
        else:
            readme = readme.rstrip() + f"\n\n## Real upstream (by hand)\n\n{BEGIN}\n{text}\n{END}\n"
        README.write_text(readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
