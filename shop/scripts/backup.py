"""``localshop backup DIR`` and ``localshop restore DIR``: the embedded FileStorage and its
blob files copied while the server runs, and put back while it is stopped.

They open no database through ZODB's connection machinery (``Data.fs`` is read by repozo,
which takes no lock), so ``main`` hands them the ini file and they run on their own.
"""
from __future__ import annotations

import argparse
import logging
import sys

from pyramid.paster import get_appsettings

from shop.operations import backup
from shop.storage import DatabaseBusy, DatabaseMissing


def add_backup_parser(commands) -> None:
    """``backup DIR`` and ``restore DIR [--date ISO8601] [--force]``."""
    p = commands.add_parser(
        "backup", help="back up the database and its files (while the server runs)",
        description="Copy Data.fs (repozo: full, then incremental) and the new blob files into "
                    "DIR; run it again into the same DIR for an incremental backup.")
    p.add_argument("dir", metavar="DIR", help="the backup directory (created if missing)")
    p.set_defaults(run=run, func=backup_command, writes=False)
    r = commands.add_parser(
        "restore", help="put the database back from a backup (server stopped)",
        description="Restore Data.fs and the blob files from DIR, as of its latest backup.")
    r.add_argument("dir", metavar="DIR", help="a directory 'localshop backup' wrote to")
    r.add_argument("--date", metavar="ISO8601",
                   help="restore the state as of this UTC date-time, e.g. 2026-12-01T14:30:00Z")
    r.add_argument("--force", action="store_true", help="replace an existing database")
    r.set_defaults(run=run, func=restore_command)


def backup_command(uri: str, args: argparse.Namespace) -> str:
    return backup.backup(uri, args.dir).describe(args.dir)


def restore_command(uri: str, args: argparse.Namespace) -> str:
    return backup.restore(uri, args.dir, date=args.date, force=args.force).describe()


class StaleIndexNotice(logging.Filter):
    """Drops FileStorage's "Ignoring index": a running server saves ``Data.fs.index`` only when
    it stops, so a backup beside it always finds the index out of date (and reads the file)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Ignoring index")


def run(args: argparse.Namespace) -> int:
    """Run ``backup`` or ``restore``: 0 when done, 1 when refused, 2 when it cannot start."""
    logging.getLogger("ZODB.FileStorage").addFilter(StaleIndexNotice())
    try:
        uri = get_appsettings(args.config)["zodbconn.uri"]
        output = args.func(uri, args)
    except (backup.UnsupportedStorage, DatabaseBusy, DatabaseMissing, FileNotFoundError,
            KeyError) as e:
        print(f"localshop: {e}", file=sys.stderr)
        return 2
    except (backup.BackupError, OSError) as e:
        print(f"localshop: {e}", file=sys.stderr)
        return 1
    print(output)
    return 0
