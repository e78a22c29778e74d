"""Run the benchmarks, print one results table, and record it in benchmarks/README.md.

    make bench                                   # every scenario; updates README.md
    .venv/bin/python benchmarks/run.py --only upload
    .venv/bin/python benchmarks/run.py --only project-page --seconds 3

Never part of the test suite: every scenario starts its own server on 127.0.0.1 and takes
tens of seconds.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable as a package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from .scenarios import SCENARIOS, Options, Row  # noqa: E402
from .server import REPO, SERVERS  # noqa: E402

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- results: written by run.py -->", "<!-- end of results -->"


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


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (readable in a terminal too)."""
    header = ("server", "scenario", "metric", "value")
    lines = [(r.server, r.scenario, r.metric, r.formatted()) for r in rows]
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(4)]

    def fmt(cells) -> str:
        return "| " + " | ".join(
            c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i == 3 else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([fmt(header), rule, *(fmt(line) for line in lines)])


def write_readme(rows: list[Row], info: dict[str, str], elapsed: float) -> None:
    """Replace the results section of README.md, keeping the prose around it."""
    section = "\n".join([
        BEGIN,
        f"Measured {info['date']} at commit {info['commit']} in {elapsed:.0f} s, on:",
        "",
        f"- CPU: {info['cpu']}, {info['nproc']} CPUs (nproc)",
        f"- memory: {info['memory']}",
        f"- Python {info['python']}, Linux {info['kernel']}",
        f"- load average (1 min) before the run: {info['load']}, after: {load_average()}",
        "",
        table(rows),
        END,
    ])
    text = README.read_text() if README.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n## Latest results\n\n{BEGIN}\n{END}\n"
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    README.write_text(before + section + after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark localshop; see benchmarks/README.md.")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), metavar="SCENARIO",
                        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}")
    parser.add_argument("--server", action="append", choices=list(SERVERS),
                        help=f"run against this server (repeatable): {', '.join(SERVERS)}")
    parser.add_argument("--size-mb", type=int, default=Options.big_file_mb,
                        help="size of the big wheel in MB (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=Options.load_seconds,
                        help="length of each load measurement (default %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the rows and the machine to this file")
    parser.add_argument("--no-readme", action="store_true",
                        help="do not update README.md (a run with --only or other sizes never does)")
    args = parser.parse_args(argv)

    options = Options(big_file_mb=args.size_mb, load_seconds=args.seconds)
    chosen = args.only or list(SCENARIOS)
    servers = args.server or list(SERVERS)
    info = machine()
    print(f"{info['cpu']}, {info['nproc']} CPUs, {info['memory']}, Python {info['python']}, "
          f"load average {info['load']}", flush=True)

    started = time.perf_counter()
    rows: list[Row] = []
    for name in chosen:
        for server in servers:
            print(f"running {name} on {server}...", flush=True)
            t0 = time.perf_counter()
            rows += SCENARIOS[name](SERVERS[server], options)
            print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    elapsed = time.perf_counter() - started
    print()
    print(table(rows))
    print(f"\ntotal: {elapsed:.0f} s; load average now {load_average()}")

    if args.json:
        args.json.write_text(json.dumps(
            {"machine": info, "seconds": elapsed, "rows": [asdict(r) for r in rows]}, indent=2,
        ))
    complete = not args.only and not args.server and options == Options()
    if complete and not args.no_readme:
        write_readme(rows, info, elapsed)
        print(f"results written to {README.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
