"""Backup and check of a big database (issue 13), against the plainest copy as the floor.

    .venv/bin/python -m benchmarks.operations [--projects 20000]

The hosted fixture of ``--projects`` projects (``benchmarks/fixtures.py``, loaded once with
localshop's own publishing code, ``benchmarks/shopdb.py``) is copied into a work directory;
then, with the ``localshop`` command of this checkout:

- ``backup DIR`` into an empty DIR (full), and again with nothing new (incremental);
- ``check`` of the whole database (every blob hashed);

and, as the floor on the same disk, ``cp -a`` of the same ``var/`` directory. Each row gives
the time, the bytes read or written, MB/s, and the ratio to ``cp -a``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import fixtures, shopdb

REPO = Path(__file__).resolve().parents[1]
LOCALSHOP = Path(sys.executable).parent / "localshop"
WORK = REPO / "benchmarks" / "work" / "operations"


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_ini(var: Path) -> Path:
    ini = var.parent / "bench.ini"
    settings = "\n".join(f"{k} = {v}" for k, v in shopdb.settings_dict(var, None).items())
    ini.write_text(f"[app:main]\nuse = egg:localshop\n{settings}\n\n"
                   "[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:0\nthreads = 4\n")
    return ini


def timed(args: list[str]) -> float:
    env = {**os.environ, "LOCALSHOP_ADMIN_PASSWORD": shopdb.ADMIN_PASSWORD}
    start = time.perf_counter()
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def row(name: str, seconds: float, size: int, floor: float) -> str:
    return (f"| {name} | {seconds:.2f} s | {size / 1e6:,.0f} MB | {size / 1e6 / seconds:,.0f} MB/s"
            f" | {seconds / floor:.2f}x |")


def run(projects: int) -> list[str]:
    fixture = fixtures.hosted(projects, max_projects=projects, big_file_mb=50)
    shutil.rmtree(WORK, ignore_errors=True)
    var = WORK / "var"
    shopdb.copy_database(shopdb.cached_database(fixture), var)
    ini, size = write_ini(var), tree_bytes(var)
    floor = timed(["cp", "-a", str(var), str(WORK / "copy")])
    full = timed([str(LOCALSHOP), "-c", str(ini), "backup", str(WORK / "backup")])
    written = tree_bytes(WORK / "backup")
    check = timed([str(LOCALSHOP), "-c", str(ini), "check"])
    again = timed([str(LOCALSHOP), "-c", str(ini), "backup", str(WORK / "backup")])
    return [
        f"{projects:,} projects, {size / 1e6:,.0f} MB in var/ (Data.fs and blobs):",
        "",
        "| | time | bytes | MB/s | / cp -a |",
        "|---|---|---|---|---|",
        row("cp -a var/ (the floor)", floor, size, floor),
        row("backup, full", full, written, floor),
        row("backup, incremental (nothing new)", again, max(tree_bytes(WORK / "backup") - written, 1), floor),
        row("check (every blob hashed)", check, size, floor),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=20000)
    args = parser.parse_args(argv)
    print("\n".join(run(args.projects)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
