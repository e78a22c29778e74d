"""``localshop -c INI prefetch -r REQUIREMENTS``: store every file an install would fetch, so
that the index serves it with upstream gone (``shop.operations.prefetch`` does the work).

It builds the whole application from the ini and serves it to pip on loopback, so it opens
the database its own way (``run``), as the server does: beside a running server only with ZEO.
It closes it as the server does, at exit, after the download times are written. With
``--server URL`` pip resolves through that running server instead
(``shop.operations.prefetch_server``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shop.operations.prefetch import (PrefetchError, PrefetchResult, Target, check_target,
                                      database_uri, load_app, prefetch)
from shop.operations.prefetch_server import prefetch_through
from shop.services import services_of


def add_prefetch_parser(commands) -> None:
    """``prefetch -r REQUIREMENTS [--repository R] [--python-version X.Y] [--platform TAG]...``."""
    p = commands.add_parser(
        "prefetch", help="store every file an install of some requirements would fetch",
        description="Resolve REQUIREMENTS with pip through the repository's mirror and store"
        " every file an install would fetch, so that the index serves them offline. With"
        " --python-version or --platform, pip is given --only-binary=:all: (wheels only).")
    p.add_argument("-r", "--requirements", required=True, type=Path, metavar="REQUIREMENTS",
                   help="a pip requirements file")
    p.add_argument("--repository", default="default", metavar="R",
                   help="the repository whose mirror stores the files (default: default)")
    p.add_argument("--python-version", metavar="X.Y",
                   help="resolve for this Python version (pip's --python-version)")
    p.add_argument("--platform", action="append", default=[], metavar="TAG", dest="platforms",
                   help="resolve for this platform tag (pip's --platform); may be repeated")
    p.add_argument("--user", metavar="NAME",
                   help="read as this user (default: admin, or another active admin)")
    p.add_argument("--server", metavar="URL",
                   help="resolve through this running server instead (its base URL, with your"
                   " credentials: http://USER:PASSWORD@HOST:PORT), e.g. while it holds the"
                   " embedded database")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """0 when every file is stored, 1 when pip failed or a file was not stored, 2 when it
    cannot start."""
    target = Target(args.requirements, args.repository, args.python_version,
                    tuple(args.platforms), args.user)
    try:
        check_target(target)  # before the database is opened (or created)
        result = through_server(args, target) if args.server else here(args, target)
    except PrefetchError as e:
        print(f"localshop: {e}", file=sys.stderr)
        return e.status
    print(result.summary())
    return 1 if result.missing else 0


def here(args: argparse.Namespace, target: Target) -> PrefetchResult:
    """Prefetch through this process's own application (the database opened here)."""
    app = load_app(args.config)
    services = services_of(app.registry)
    return prefetch(app, target, db=services.db, busy=services.busy, threads=services.threads)


def through_server(args: argparse.Namespace, target: Target) -> PrefetchResult:
    """Prefetch through the running server of ``--server`` (the database only read here)."""
    if args.user:
        raise PrefetchError("--user is for prefetching here; through --server, pip reads as"
                            " the credentials in its URL.", 2)
    return prefetch_through(args.server, target, database_uri(args.config))
