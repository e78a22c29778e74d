"""``localshop check [--repair]`` and ``localshop copy --to URI [--history]``: the whole
database checked (beside a running server: it only reads), repaired, or copied elsewhere."""
from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from shop.model.root import Root
from shop.operations.check import Bar, Report, check_database, repair
from shop.operations.copy import CopyError, check_copy, copy_database, shown
from shop.scripts.common import CommandError
from shop.services import Services


def terminal_progress(desc: str, total: int | None, unit: str) -> Bar:
    """A progress bar on stderr while stdout is a terminal; nothing when it is not (cron, a
    pipe), so that the output is the summary and the problems alone."""
    return tqdm(desc=desc, total=total, unit=unit, leave=False, disable=not sys.stdout.isatty())


def check(root: Root, args: argparse.Namespace, services: Services) -> str:
    report = check_database(root, terminal_progress)
    if not args.writes:  # without --repair the database is only read
        return _outcome(report, report.problems)
    done, left = repair(report)
    for line in done:
        print(line)
    if left:
        # What could be repaired is kept although the command fails for the rest: raising
        # would abort the transaction, so it is committed here.
        root._p_jar.transaction_manager.commit()
    return _outcome(report, left, repaired=len(done))


def _outcome(report: Report, problems: list, repaired: int = 0) -> str:
    """The summary (exit 0), or each problem on stdout and the summary as the error (exit 1)."""
    summary = report.summary() + (f"; {repaired} repaired" if repaired else "")
    if not problems:
        return summary
    for problem in problems:
        print(problem)
    raise CommandError(summary + (f", {len(problems)} left" if repaired else ""))


def copy(root: Root, args: argparse.Namespace, services: Services) -> str:
    try:
        copied = copy_database(root._p_jar, args.to, history=args.history,
                               progress=terminal_progress)
    except CopyError as e:
        raise CommandError(str(e)) from None
    print(copied.summary(shown(args.to)), flush=True)
    report = check_copy(args.to, terminal_progress)
    return _outcome(report, report.problems)


def add_check_parser(commands) -> None:
    """``check [--repair]`` and ``copy --to URI [--history]``."""
    sub = commands.add_parser(
        "check", help="verify every object, reference, stored file (size, sha256) and count")
    # --repair writes: the database is then opened to write (the server stopped, or ZEO).
    sub.add_argument("--repair", dest="writes", action="store_true",
                     help="forget broken mirrored files (fetched again on demand), correct"
                          " counts; broken hosted files are reported")
    sub.set_defaults(func=check, writes=False)
    sub = commands.add_parser(
        "copy", help="copy the whole database, blobs included, to another storage, and check it")
    sub.add_argument("--to", required=True, metavar="URI",
                     help="a zodburi URI of an empty database (file://..., zeo://...)")
    sub.add_argument("--history", action="store_true",
                     help="copy every transaction, not only the current state")
    sub.set_defaults(func=copy, writes=False)
