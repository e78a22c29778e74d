"""``localshop cleanup [--dry-run]``: the repositories' retention policies applied now.

``--dry-run`` only reads, so it runs beside the running server too; ``cleanup`` itself writes,
so with the embedded FileStorage it runs with the server stopped. The running server applies
the same policies itself every ``shop.cleanup_interval`` seconds (a ``POST /+cleanup`` asking
it to do so at once could follow the pattern of ``POST /+pack``).
"""
from __future__ import annotations

import argparse

from shop.model.root import Root
from shop.operations import retention
from shop.services import Services

WHEN_BUSY = (
    " The running server applies the retention policies itself every shop.cleanup_interval"
    " seconds (3600 unless its ini says otherwise), so nothing needs doing; to clean up now,"
    " stop it and run 'cleanup' again. 'cleanup --dry-run' shows what is due while it runs."
)


def cleanup(root: Root, args: argparse.Namespace, services: Services) -> str:
    """What retention deletes (or, with ``--dry-run``, would delete), a line per file."""
    dry_run = not args.writes
    deletions = retention.plan(root)
    if not dry_run:
        deletions = retention.apply(root, deletions)
    return "\n".join(filter(None, [retention.report(deletions, dry_run), _usage(root)]))


def _usage(root: Root) -> str:
    """The mirrored bytes each repository with a cache size now keeps."""
    lines = []
    for name, repository in root.repositories.items():
        if repository.mirror_cache_size:
            files = retention.mirrored_files(repository)
            lines.append(f"{name}: mirrored {len(files)} files, {sum(f.size or 0 for f in files)}"
                         f" bytes stored (mirror-cache-size {repository.mirror_cache_size} bytes)")
    return "\n".join(lines)


def add_cleanup_parser(commands) -> None:
    """``cleanup [--dry-run]``."""
    sub = commands.add_parser(
        "cleanup", help="apply the repositories' retention policies",
        description="Delete the uploads of pre-/dev-releases older than each hosted project's "
                    "newest --keep-dev-releases, and evict mirrored files past "
                    "--mirror-cache-size, least recently downloaded first (see 'repository set'),"
                    f" and mirrored files upstream removed {retention.REMOVED_DAYS} days ago or"
                    " more (unless the repository has --upstream-deletions keep)."
                    " Prints each file and the bytes.")
    # A dry run only reads: the database is opened read-only, beside a running server too.
    sub.add_argument("--dry-run", dest="writes", action="store_false",
                     help="print what would be deleted, change nothing (runs beside the server)")
    sub.set_defaults(func=cleanup, when_busy=WHEN_BUSY)
