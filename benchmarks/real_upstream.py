"""Scenario (f), by hand only: real popular packages through the mirrors from the real upstream.

    .venv/bin/python benchmarks/real_upstream.py                  # localshop, proxpi, peryx
    .venv/bin/python benchmarks/real_upstream.py --set tuned      # the big-page set (issue 14)
    .venv/bin/python benchmarks/real_upstream.py --set untuned --source /path/to/other/checkout
    .venv/bin/python benchmarks/real_upstream.py --peers none --packages requests flask

Needs the internet, so it is never part of CI or ``make bench``. For each server it starts a
fresh instance mirroring the real upstream (``pypi_simple.PYPI_SIMPLE_ENDPOINT``, the index
localshop mirrors by default), then installs the packages with their dependencies through it,
cold (nothing cached) and then warm, with pip (``pip download``) and with uv (``uv pip
install --target``), each client against its own fresh server so that both see a cold cache.
The same commands straight against the upstream are the baseline, and the floor is the same
install from a local directory holding exactly the files pip downloaded straight from the
upstream (``--no-index --find-links DIR``: no index, no network). No client cache is used
(``--no-cache-dir``, ``--no-cache``) and no pip configuration (``PIP_CONFIG_FILE`` is the null
device, ``PIP_*`` and ``UV_*`` variables are dropped).

It prints one table in the format of ``run.py``'s; ``--readme`` also records it in
``benchmarks/README.md`` between its own markers.
"""
from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

import requests  # noqa: E402
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename  # noqa: E402
from pypi_simple import PYPI_SIMPLE_ENDPOINT  # noqa: E402

from . import report  # noqa: E402
from .peers import Devpi, Peryx, Proxpi, ensure_venv  # noqa: E402
from .scenarios import JSON_V1, Row  # noqa: E402
from .server import BIN, REPO, Localshop, Peer, Setup, Unavailable  # noqa: E402

PACKAGES = ["requests", "django", "numpy", "pandas", "flask", "sqlalchemy", "pydantic", "pytest",
            "click", "jinja2"]
# Issue 14's sets. "tuned" holds projects whose upstream pages list thousands of files (boto3's
# botocore, pydantic's pydantic-core, numpy, scipy, grpcio): the mirror's first look-up of such a
# page is what is being made faster. "untuned" was chosen once, before any of that work, and is
# never to be tuned on: a check that a gain is not specific to the first set.
SETS = {
    "classic": PACKAGES,
    "tuned": ["boto3", "pydantic", "scipy", "matplotlib", "sphinx", "grpcio", "numpy"],
    "untuned": ["fastapi", "httpx", "rich", "sqlalchemy", "pandas", "cryptography", "pillow"],
}
PEERS = {"devpi": Devpi, "proxpi": Proxpi, "peryx": Peryx}
SCENARIO = "(f) real upstream: {client} install of {count} packages with dependencies"
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- real upstream: written by real_upstream.py -->", "<!-- end of real upstream -->"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def index_args(index_url: str) -> list[str]:
    """``--index-url URL``, or for the floor (``index_url`` is a local directory) no index at all."""
    if index_url.startswith(("http://", "https://")):
        return ["--index-url", index_url]
    return ["--no-index", "--find-links", index_url]


def pip_run(index_url: str, packages: list[str], keep: Path | None = None) -> float:
    """``pip download`` into a fresh directory; with ``keep``, leave the files there."""
    with tempfile.TemporaryDirectory(prefix="bench-real-pip-") as tmp:
        dest = str(keep or tmp)
        cmd = [str(BIN / "python"), "-m", "pip", "download", "--isolated", "--no-cache-dir",
               "--disable-pip-version-check", "--quiet", "-d", dest, *index_args(index_url), *packages]
        return timed(cmd)


def uv_run(index_url: str, packages: list[str], keep: Path | None = None) -> float:
    uv = ensure_venv("tools", ["py-spy", "uv"]) / "uv"
    with tempfile.TemporaryDirectory(prefix="bench-real-uv-") as tmp:
        cmd = [str(uv), "pip", "install", "--quiet", "--no-cache", "--no-config", "--target", tmp,
               "--python", sys.executable, *index_args(index_url), *packages]
        return timed(cmd)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=1800)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {(proc.stdout + proc.stderr)[-400:]}")
    return elapsed


CLIENTS = {"pip": pip_run, "uv": uv_run}


def measure(name: str, index_url: str, client: str, packages: list[str], warm_runs: int,
            keep: Path | None = None) -> list[Row]:
    scenario = SCENARIO.format(client=client, count=len(packages))
    run = CLIENTS[client]
    cold = run(index_url, packages, keep)
    warm = statistics.median(run(index_url, packages) for _ in range(warm_runs))
    return [
        Row(name, scenario, "cold: wall time", cold, "s", "lower"),
        Row(name, scenario, f"warm: wall time (median of {warm_runs})", warm, "s", "lower"),
    ]


def project_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return parse_wheel_filename(filename)[0]
    return parse_sdist_filename(filename)[0]


def upstream_pages(projects: list[str]) -> tuple[dict[str, int], int, int]:
    """Each project's file count on the upstream, read from its JSON page at run time; and of
    those pages' wheels, how many the upstream offers PEP 658 core metadata for."""
    counts, wheels, with_metadata = {}, 0, 0
    session = requests.Session()
    for project in projects:
        r = session.get(f"{PYPI_SIMPLE_ENDPOINT}{project}/", headers={"Accept": JSON_V1}, timeout=120)
        r.raise_for_status()
        files = r.json()["files"]
        counts[project] = len(files)
        for f in files:
            if f["filename"].endswith(".whl"):
                wheels += 1
                with_metadata += bool(f.get("core-metadata") or f.get("data-dist-info-metadata"))
    return counts, wheels, with_metadata


def ratio_table(rows: list[Row]) -> str:
    """Every server's figure divided by straight-from-the-upstream's, same client, same metric."""
    base = {(r.scenario, r.metric): r.value for r in rows
            if r.server == "upstream" and isinstance(r.value, float)}
    servers = [s for s in report.ORDER if s != "upstream" and any(r.server == s for r in rows)]
    servers += sorted({r.server for r in rows} - set(report.ORDER))
    lines = ["| client, metric | " + " | ".join(f"{s} ÷ upstream" for s in servers) + " |",
             "|---|" + "---:|" * len(servers)]
    for key, direct in base.items():
        client = key[0].split(": ")[1].split(" ")[0]
        cells = []
        for s in servers:
            value = next((r.value for r in rows if r.server == s and (r.scenario, r.metric) == key), None)
            cells.append(f"{value / direct:.2f}x" if isinstance(value, float) and direct else "")
        lines.append(f"| {client}, {key[1]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default="proxpi,peryx",
                        help=f"comma-separated from {','.join(PEERS)}, or 'none' (default: %(default)s)")
    parser.add_argument("--set", choices=list(SETS), default="classic", dest="package_set",
                        help="the packages to install: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in SETS.items()))
    parser.add_argument("--packages", nargs="+", help="these packages instead of a --set")
    parser.add_argument("--clients", default="pip,uv", help="comma-separated (default: %(default)s)")
    parser.add_argument("--warm-runs", type=int, default=2)
    parser.add_argument("--no-floor", action="store_true", help="skip the install from a local directory")
    parser.add_argument("--source", type=Path, default=REPO,
                        help="the localshop tree to run (default: the checkout this script is in)")
    parser.add_argument("--readme", action="store_true", help="record the table in benchmarks/README.md")
    args = parser.parse_args(argv)

    packages = args.packages or SETS[args.package_set]
    label = "packages" if args.packages else f"set {args.package_set!r}"
    servers: list[Peer] = [Localshop(args.source),
                           *(PEERS[p]() for p in args.peers.split(",") if p in PEERS)]
    clients = [c for c in args.clients.split(",") if c in CLIENTS]
    rows: list[Row] = []
    started = time.perf_counter()
    load_before = Path("/proc/loadavg").read_text().split()[0]
    floor = Path(tempfile.mkdtemp(prefix="bench-real-floor-"))
    try:
        for client in clients:
            print(f"{client} straight from the upstream ...", flush=True)
            # pip's first run keeps its files: the floor's directory, exactly what pip used
            keep = floor if client == "pip" else None
            rows += measure("upstream", PYPI_SIMPLE_ENDPOINT, client, packages, args.warm_runs, keep)
        resolved = sorted({canonicalize_name(project_of(f.name)) for f in floor.iterdir()})
        print(f"resolved: {len(resolved)} projects, {len(list(floor.iterdir()))} files; reading their pages ...",
              flush=True)
        counts, wheels, with_metadata = upstream_pages(resolved)
        if not args.no_floor and any(floor.iterdir()):
            for client in clients:
                print(f"{client} from the floor's directory ...", flush=True)
                try:
                    rows += measure("floor", str(floor), client, packages, args.warm_runs)
                except RuntimeError as e:
                    rows.append(Row("floor", SCENARIO.format(client=client, count=len(packages)),
                                    "status", f"failed: {str(e).splitlines()[0][:200]}"))
        setup = Setup("mirror", upstream_url=PYPI_SIMPLE_ENDPOINT, probe_project=packages[0])
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
                        rows += measure(server.name, running.simple_url, client, packages, args.warm_runs)
                except (Unavailable, RuntimeError) as e:
                    rows.append(Row(server.name, SCENARIO.format(client=client, count=len(packages)),
                                    "status", f"failed: {str(e).splitlines()[0][:200]}"))
    finally:
        shutil.rmtree(floor, ignore_errors=True)
    elapsed = time.perf_counter() - started
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    big = ", ".join(f"{p} {n:,}" for p, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n > 1000)
    text = (f"Measured {date} in {elapsed / 60:.1f} minutes; {label}: {' '.join(packages)} "
            f"({len(resolved)} projects with their dependencies); warm: median of {args.warm_runs}; "
            f"load average before: {load_before}, after: {Path('/proc/loadavg').read_text().split()[0]}\n\n"
            f"Files on the upstream (projects of the resolved set with more than 1,000): {big or 'none'}. "
            f"PEP 658 core metadata offered by the upstream for {with_metadata:,} of their "
            f"{wheels:,} wheels.\n\n{report.table(rows)}\n\nEach server ÷ straight from the upstream "
            f"(same client, same run):\n\n{ratio_table(rows)}")
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
