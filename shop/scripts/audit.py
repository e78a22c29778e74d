"""``localshop audit [--since DATE] [--json]``: the audit log, oldest entry first.

Only reads: the database is opened read-only, so it runs beside the running server. Lines
are written as they are read (a year of entries is never held in memory): one line per
entry, or with ``--json`` one JSON object per line (JSON Lines, for ``jq`` and friends).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

from shop.model import audit
from shop.model.root import Root
from shop.services import Services


def parse_since(value: str) -> float:
    """``--since``: an ISO 8601 date or date and time, in UTC unless it names its offset."""
    try:
        moment = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date or date and time in UTC (2026-12-01, 2026-12-01T14:30:00Z),"
            f" not {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def line(entry: audit.Entry) -> str:
    """One entry as a line: when, kind, who (via), address, where, details."""
    who = entry.user + (f" via {entry.via}" if entry.via else "")
    where = "/".join(filter(None, (entry.repository, entry.project)))
    where = " ".join(filter(None, (where, entry.version, entry.filename))) or "-"
    detail = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in entry.detail)
    return "  ".join(filter(None, (entry.as_dict()["time"], entry.kind, who,
                                   entry.address or "-", where, detail)))


def show(root: Root, args: argparse.Namespace, services: Services) -> str:
    """Write the entries to stdout as they are read (nothing is returned to print)."""
    log = audit.log_of(root)
    try:
        for entry in log.since(args.since) if log is not None else ():
            sys.stdout.write((json.dumps(entry.as_dict(), ensure_ascii=False) if args.json
                              else line(entry)) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `localshop audit | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return ""


def add_audit_parser(commands) -> None:
    """``audit [--since DATE] [--json]``."""
    sub = commands.add_parser(
        "audit", help="print the audit log (read-only: runs beside the server)",
        description="Print the audit log's entries, oldest first, one per line: every change "
                    "somebody made and the logins that failed, with who, when (UTC), from "
                    "which address and what.")
    sub.add_argument("--since", type=parse_since, metavar="DATE",
                     help="only entries from DATE on (ISO 8601, UTC: 2026-12-01 or "
                          "2026-12-01T14:30:00Z)")
    sub.add_argument("--json", action="store_true",
                     help="one JSON object per line (time, kind, user, via, address, "
                          "repository, project, version, filename, detail)")
    sub.set_defaults(func=show, writes=False)
