"""Run issue 5's benchmarks against localshop and its peers; print one table; record it.

    make bench                                          # everything; updates README.md
    .venv/bin/python benchmarks/run.py --quick          # 2 s loads, one warm mirror run
    .venv/bin/python benchmarks/run.py --only project-page --peers devpi,nginx
    .venv/bin/python benchmarks/run.py --sizes 2000 --profile

Never part of the test suite: every server is started on 127.0.0.1 by this process and
stopped when its setup is done; all load is bounded in time.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable as a package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from . import fixtures, load, report  # noqa: E402
from .peers import BareWaitress, Devpi, Nginx, Peryx, Proxpi, PypiServer  # noqa: E402
from .scenarios import SCENARIOS, Options, Row, Scenario, mirror_direct  # noqa: E402
from .server import REPO, Localshop, Peer, Setup, Unavailable  # noqa: E402
from .upstream import upstream  # noqa: E402

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- results: written by run.py -->", "<!-- end of results -->"
PEERS = {"devpi": Devpi, "pypiserver": PypiServer, "proxpi": Proxpi, "peryx": Peryx,
         "nginx": Nginx, "waitress": BareWaitress}


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "shop"], capture_output=True, text=True,
    ).stdout.strip()
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "commit": commit + (" (shop/ modified)" if dirty else ""),
        "cpu": cpu,
        "nproc": str(len(os.sched_getaffinity(0))),
        "memory": f"{mem_kib / 1024**2:.1f} GiB",
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load": load_average(),
    }


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every number here."""
    return Path("/proc/loadavg").read_text().split()[0]


class Run:
    """One benchmark run: the servers, the loopback upstream, and the rows collected."""

    def __init__(self, servers: list[Peer], scenarios: list[Scenario], options: Options) -> None:
        self.servers = servers
        self.scenarios = scenarios
        self.options = options
        self.rows: list[Row] = []
        self.loads: list[float] = []

    def log(self, message: str) -> None:
        print(message, flush=True)

    def prepare(self) -> list[Peer]:
        ready = []
        for server in self.servers:
            try:
                server.prepare()
            except Unavailable as e:
                self.rows.append(Row(server.name, "servers", "version", f"unavailable: {e}"))
                self.log(f"{server.name}: unavailable: {e}")
                continue
            self.rows.append(Row(server.name, "servers", "version", server.version or "?"))
            ready.append(server)
        return ready

    def session(self, server: Peer, setup: Setup, scenarios: list[Scenario]) -> None:
        """Start ``server`` with ``setup`` once and run ``scenarios`` against it."""
        if not scenarios:
            return
        self.log(f"{server.name}, {setup.label}: starting ...")
        t0 = time.perf_counter()
        try:
            with server.start(setup) as running:
                self.log(f"  up in {time.perf_counter() - t0:.1f} s")
                for scenario in scenarios:
                    t1 = time.perf_counter()
                    self.loads.append(float(load_average()))
                    try:
                        self.rows += scenario.run(running, setup, self.options)
                    except Exception as e:  # one failure is a row, not the end of the run
                        traceback.print_exc()
                        self.rows.append(Row(server.name, scenario.title(setup), "error",
                                             f"error: {str(e).splitlines()[0][:200]}"))
                    self.log(f"  {scenario.title(setup)}: {time.perf_counter() - t1:.1f} s")
        except Unavailable as e:
            self.log(f"  unavailable: {e}")
            for scenario in scenarios:
                self.rows.append(Row(server.name, scenario.title(setup), "status",
                                     f"unavailable: {str(e).splitlines()[0][:200]}"))

    def run(self) -> None:
        servers = self.prepare()
        options = self.options
        hosted = [s for s in self.scenarios if s.kind == "hosted"]
        if hosted:
            for i, size in enumerate(options.sizes):
                fixture = fixtures.hosted(size, max_projects=max(options.sizes), big_file_mb=options.big_file_mb)
                setup = Setup("hosted", fixture)
                here = [s for s in hosted if s.every_size or i == 0]
                for server in servers:
                    if "hosted" in server.kinds:
                        self.session(server, setup, here)
        mirrored = [s for s in self.scenarios if s.kind == "mirror"]
        if mirrored:
            with upstream(options.big_file_mb, max(options.sizes), options.upstream_delay_ms,
                          options.upstream_bandwidth_mbps) as upstream_url:
                setup = Setup("mirror", upstream_url=upstream_url, probe_project=fixtures.MIRROR_PROJECTS[0])
                if any(not s.mirror_only_peers for s in mirrored):
                    self.log("upstream: pip straight from it ...")
                    self.rows += mirror_direct(upstream_url, options)
                for server in servers:
                    if "mirror" in server.kinds:
                        here = [s for s in mirrored
                                if not s.mirror_only_peers or "hosted" not in server.kinds]
                        self.session(server, setup, here)


def write_readme(text: str) -> None:
    """Replace the results section of README.md, keeping the prose around it."""
    readme = README.read_text() if README.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in readme or END not in readme:
        readme = readme.rstrip() + f"\n\n## Latest results\n\n{BEGIN}\n{END}\n"
    before, rest = readme.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    README.write_text(before + BEGIN + "\n" + text + "\n" + END + after)


def results_text(run: Run, info: dict[str, str], elapsed: float) -> str:
    checks = report.targets(run.rows, run.options)
    during = f"{min(run.loads):.2f} to {max(run.loads):.2f}" if run.loads else "?"
    return "\n".join([
        f"Measured {info['date']} at commit {info['commit']} in {elapsed / 60:.1f} minutes, on:",
        "",
        f"- CPU: {info['cpu']}, {info['nproc']} CPUs (nproc); memory: {info['memory']}",
        f"- Python {info['python']}, Linux {info['kernel']}; load generator: {load.generator_name()}",
        f"- load average (1 min): {info['load']} before the run, {during} at the start of each "
        f"scenario, {load_average()} after it",
        f"- each load measurement {run.options.load_seconds:g} s; repositories of "
        + " and ".join(f"{n:,}" for n in run.options.sizes) + " projects",
        f"- loopback upstream: {upstream_text(run.options)}",
        "",
        "Issue 5's targets:",
        "",
        *(c.line() for c in checks),
        "",
        report.table(run.rows),
    ])


def upstream_text(options: Options) -> str:
    if not options.upstream_delay_ms and not options.upstream_bandwidth_mbps:
        return "no delay, no bandwidth cap"
    cap = (f"{options.upstream_bandwidth_mbps:g} MB/s per answer" if options.upstream_bandwidth_mbps
           else "no bandwidth cap")
    return f"{options.upstream_delay_ms:g} ms before the first byte of every answer, {cap}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark localshop against its peers; see benchmarks/README.md.")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), metavar="SCENARIO",
                        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help="comma-separated peers to run beside localshop, or 'none' "
                             "(default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="2 s load measurements and one warm mirror run (a smoke test, not results)")
    parser.add_argument("--sizes", default="2000,20000",
                        help="repository sizes in projects, comma-separated (default: %(default)s)")
    parser.add_argument("--seconds", type=float, help="length of each load measurement (default 5)")
    parser.add_argument("--profile", action="store_true",
                        help="record localshop with py-spy during its load runs (benchmarks/work/profiles/)")
    parser.add_argument("--upstream-delay", type=float, default=0.0, metavar="MS",
                        help="the loopback upstream waits MS milliseconds before the first byte of "
                             "every answer (a distant index's round trip; default 0)")
    parser.add_argument("--upstream-bandwidth", type=float, default=0.0, metavar="MBPS",
                        help="the loopback upstream sends every body at most at MBPS MB/s "
                             "(default 0: no cap)")
    parser.add_argument("--json", type=Path, help="also write the rows and the machine to this file")
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    args = parser.parse_args(argv)

    options = Options(sizes=tuple(int(s) for s in args.sizes.split(",")), profile=args.profile)
    if args.quick:
        options = replace(options, load_seconds=2.0, mirror_warm_runs=1)
    if args.seconds:
        options = replace(options, load_seconds=args.seconds)
    options = replace(options, upstream_delay_ms=args.upstream_delay,
                      upstream_bandwidth_mbps=args.upstream_bandwidth)
    peer_names = [p for p in args.peers.split(",") if p and p != "none"]
    unknown = set(peer_names) - set(PEERS)
    if unknown:
        parser.error(f"unknown peers {sorted(unknown)}: choose from {', '.join(PEERS)}")
    servers: list[Peer] = [Localshop(), *(PEERS[p]() for p in PEERS if p in peer_names)]
    scenarios = [s for name in (args.only or SCENARIOS) for s in SCENARIOS[name]]

    info = machine()
    print(f"{info['cpu']}, {info['nproc']} CPUs, {info['memory']}, Python {info['python']}, "
          f"load average {info['load']}", flush=True)
    started = time.perf_counter()
    run = Run(servers, scenarios, options)
    run.run()
    elapsed = time.perf_counter() - started
    text = results_text(run, info, elapsed)
    print()
    print(text)
    print(f"\ntotal: {elapsed:.0f} s; load average now {load_average()}")
    if args.json:
        args.json.write_text(json.dumps(
            {"machine": info, "seconds": elapsed, "rows": [asdict(r) for r in run.rows]}, indent=2,
        ))
    complete = (not args.only and set(peer_names) == set(PEERS) and not args.quick
                and options == Options(profile=args.profile) and not args.profile)
    if complete and not args.no_readme:
        write_readme(text)
        print(f"results written to {README.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
