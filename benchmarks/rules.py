"""Issue 17: what the supply-chain rules (blocks, cooldown, PEP 792 status) cost, old vs new.

    PYTHONPATH=. .venv/bin/python -m benchmarks.rules                  # about 4 minutes
    PYTHONPATH=. .venv/bin/python -m benchmarks.rules --rounds 1       # a smoke run
    PYTHONPATH=. .venv/bin/python -m benchmarks.rules --readme         # also record it in README.md
    PYTHONPATH=. .venv/bin/python -m benchmarks.rules --profile        # cProfile of the slow renders

By hand only (not in ``make bench``). Each checkout (``--before DIR``, default
``/work/wt-before``, and this one, ``--after DIR``) runs in a worker process of its own
(``benchmarks/rules_worker.py`` with ``PYTHONPATH`` = the checkout: each imports its own
``shop`` cleanly), which builds, in a FileStorage in a temporary directory, a mirrored
project of 15,000 files (an ``UpstreamListing`` of 15,000 entries with upload times, as
upstream gives them: 7,500 versions, a wheel and an sdist each) and, through the app, a
small hosted project (one wheel). This process sends both workers the same commands in
turn, rounds alternating which goes first (only one measures at a time), and takes the
median of every sample of the rounds:

1. the big page rendered fresh (``simple._render_project``, no page cache; the listing
   loaded in the connection), JSON and HTML; the new checkout in three settings: no rules,
   ``--min-age 7d`` (a third of the files, the newest, younger: held back), and 50 blocks of
   the project (40 ``==`` pins, 10 ranges) plus that minimum age; (for 2 and 3 alone) those
   and blocks of 10,000 other projects, as an import of OSV advisories makes;
2. the cached page (``simple.project_page``, a hit of the page cache), per hit;
3. one request through the app (WebTest, with credentials: the replay of anonymous pages
   does not answer), the hosted project's page and its file's download, per request.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
WORKER = HERE / "rules_worker.py"
BEGIN, END = "<!-- rules: written by rules.py -->", "<!-- end of rules -->"
SETTINGS = ("none", "cooldown", "blocks", "osv")
COLUMNS = [("old", "none"), ("new", "none"), ("new", "cooldown"), ("new", "blocks"), ("new", "osv")]
LABELS = {("old", "none"): "before", ("new", "none"): "new: no rules",
          ("new", "cooldown"): "new: min-age 7d", ("new", "blocks"): "new: 50 blocks + 7d",
          ("new", "osv"): "new: 50 blocks + 7d + 10,000 other projects blocked"}


class Worker:
    """One checkout's worker process; ``ask`` sends a command and returns the answer."""

    def __init__(self, name: str, checkout: Path) -> None:
        self.name, self.checkout = name, checkout
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = str(checkout)
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER)], cwd=tempfile.gettempdir(), env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, cmd: str, **args) -> dict:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name} worker ({self.checkout}) died")
        answer = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"{self.name} worker ({self.checkout}): {answer['traceback']}")
        return answer

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def commit_of(checkout: Path) -> str:
    out = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--", "shop"],
                           capture_output=True, text=True).stdout.strip()
    return out + (" (shop/ modified)" if dirty else "")


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


class Run:
    def __init__(self, args) -> None:
        self.args = args
        self.samples: dict[tuple, list[float]] = {}
        self.files: dict[tuple, int] = {}
        self.loads: list[float] = []
        self.load_before = load_average()

    def add(self, key: tuple, answer: dict) -> None:
        self.samples.setdefault(key, []).extend(answer["samples"])
        if "files" in answer:
            self.files[key] = answer["files"]
        self.loads.append(load_average())

    def measure(self, workers: dict[str, "Worker"], setting: str, names: list[str], first: int) -> None:
        """Every measurement of one setting, the workers in turn (``first`` goes first)."""
        a = self.args
        order = names[first:] + names[:first]
        for kind in ("json", "html") if setting != "osv" else ():
            n = a.renders if setting != "blocks" else a.block_renders
            for name in order:
                self.add((name, setting, "render", kind), workers[name].ask("render", type=kind, n=n))
        if setting == "cooldown":
            return
        for kind in ("json", "html"):
            for name in order:
                self.add((name, setting, "cached", kind),
                         workers[name].ask("cached", type=kind, n=a.batches, batch=a.hits))
        for path in ("page", "file"):
            for name in order:
                self.add((name, setting, "request", path),
                         workers[name].ask("request", path=path, n=a.batches, batch=a.requests))

    def median(self, key: tuple) -> float | None:
        samples = self.samples.get(key)
        return statistics.median(samples) if samples else None


ROWS = [
    ("render", "json", "big page rendered fresh, JSON (15,000 files)"),
    ("render", "html", "big page rendered fresh, HTML (15,000 files)"),
    ("cached", "json", "big page, page-cache hit, JSON"),
    ("cached", "html", "big page, page-cache hit, HTML"),
    ("request", "page", "request: hosted project page (1 file)"),
    ("request", "file", "request: hosted file download"),
]


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} us"


def table(run: Run) -> list[str]:
    head = "| measurement | " + " | ".join(LABELS[c] for c in COLUMNS) + " |"
    lines = [head, "|---|" + "---|" * len(COLUMNS)]
    for what, kind, label in ROWS:
        old = run.median(("old", "none", what, kind))
        cells = []
        for column in COLUMNS:
            value = run.median((column[0], column[1], what, kind))
            cell = fmt(value)
            if value is not None and old and column != ("old", "none"):
                cell += f" ({value / old:.2f}x)"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    listed = [run.files.get((c[0], c[1], "render", "json")) for c in COLUMNS]
    lines.append("| files on the big page | " + " | ".join(
        f"{n:,}" if n is not None else "-" for n in listed) + " |")
    return lines


def caption(run: Run, commits: dict[str, str], started: str, minutes: float) -> str:
    a = run.args
    loads = run.loads or [0.0]
    return (f"Measured {started} UTC, {os.cpu_count()} cores; before {commits['old']}, new "
            f"{commits['new']}; {a.rounds} rounds, medians of {a.rounds * a.renders} renders "
            f"({a.rounds * a.block_renders} with the blocks), of {a.rounds * a.batches} batches "
            f"of {a.hits:,} cache hits and of as many batches of {a.requests} requests; load average "
            f"{run.load_before:.2f} before, {statistics.median(loads):.2f} median and "
            f"{max(loads):.2f} max during; {minutes:.1f} min. Ratios: new / before.")


def write_readme(lines: list[str]) -> None:
    text = README.read_text()
    if BEGIN not in text:
        raise SystemExit(f"{README}: no {BEGIN} marker")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(head + BEGIN + "\n" + "\n".join(lines) + "\n" + END + tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, default=Path("/work/wt-before"))
    parser.add_argument("--after", type=Path, default=HERE.parent)
    parser.add_argument("--files", type=int, default=15_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--renders", type=int, default=3, help="per round and setting")
    parser.add_argument("--block-renders", type=int, default=1, help="per round, with the blocks")
    parser.add_argument("--batches", type=int, default=5, help="per round, of hits or requests")
    parser.add_argument("--hits", type=int, default=5000, help="page-cache hits per batch")
    parser.add_argument("--requests", type=int, default=300, help="requests per batch")
    parser.add_argument("--profile", action="store_true",
                        help="print cProfile of one render: before, new without rules, new with the blocks")
    parser.add_argument("--readme", action="store_true", help="record the table in README.md")
    args = parser.parse_args(argv)

    started = datetime.datetime.now(datetime.timezone.utc)
    commits = {"old": commit_of(args.before), "new": commit_of(args.after)}
    workers = {"old": Worker("old", args.before), "new": Worker("new", args.after)}
    try:
        for name, worker in workers.items():
            info = worker.ask("setup", files=args.files)
            expected = str((worker.checkout / "shop").resolve())
            if os.path.realpath(info["shop"]) != expected:
                raise SystemExit(f"{name} worker imported {info['shop']}, not {expected}")
            if info["rules"] != (name == "new"):
                raise SystemExit(f"{name} worker: rules {'absent' if name == 'new' else 'present'}")
            print(f"{name}: {worker.checkout} ({commits[name]}), {info['files']:,} files", flush=True)
        if args.profile:
            return profile(workers)
        run = Run(args)
        for r in range(args.rounds):
            for setting in SETTINGS:
                workers["new"].ask("rules", setting=setting)
                names = ["old", "new"] if setting == "none" else ["new"]
                run.measure(workers, setting, names, r % 2)
            print(f"round {r + 1}/{args.rounds} done, load {load_average():.2f}", flush=True)
    finally:
        for worker in workers.values():
            worker.close()
    minutes = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() / 60
    lines = table(run) + ["", caption(run, commits, f"{started:%Y-%m-%d %H:%M}", minutes)]
    print("\n".join(lines))
    if args.readme:
        write_readme(lines)
    return 0


def profile(workers: dict[str, Worker]) -> int:
    for name, setting in (("old", "none"), ("new", "none"), ("new", "blocks")):
        if name == "new":
            workers["new"].ask("rules", setting=setting)
        for kind in ("html",) if setting == "none" else ("json",):
            print(f"\n===== {name}, {setting}, {kind} =====")
            print(workers[name].ask("profile", type=kind)["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
