"""``localshop import PATH`` and ``localshop export DIR``: moving a team's packages in (from
a directory of files, devpi's export, or another localshop's export) and out again.

``import`` writes (with the embedded FileStorage, the server stopped; beside ZEO, while it
runs); ``export`` only reads, so it runs beside a running server too.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from shop.model.repositories import get_repository
from shop.model.root import DEFAULT_REPOSITORY, Root
from shop.operations.catalogs import MANIFEST, CatalogError
from shop.operations.exporting import ExportFailed, export_repository
from shop.operations.importing import ImportFailed, import_directory
from shop.scripts.check import terminal_progress
from shop.scripts.common import CommandError
from shop.services import Services
from shop.storage import temporary_directory

DEFAULT_UPLOADER = "admin"
WHEN_BUSY = (
    " 'import' writes: stop the server and import, then start it again (or serve the"
    " database with ZEO, and import while the server runs). 'export' only reads: it runs"
    " beside the running server."
)


def import_command(root: Root, args: argparse.Namespace, services: Services) -> str:
    """Import, print each refused file, and the summary (exit 1 if any was refused)."""
    try:
        outcome = import_directory(
            root, Path(args.path), repository=args.repository, uploader=args.uploader,
            tmp_dir=temporary_directory(services.db), max_size=services.settings.max_upload_size,
            progress=terminal_progress)
    except (ImportFailed, CatalogError) as e:
        raise CommandError(str(e)) from None
    for path, reason in outcome.refused:
        print(f"refused {shown(path)}: {reason}")
    if outcome.refused:  # every batch is committed already: only the summary is left to say
        raise CommandError(outcome.summary())
    return outcome.summary()


def shown(path: str) -> str:
    """A path as printed: quoted and escaped when it holds what a terminal would not show as
    it is (a line break, bytes that are no UTF-8), so that each refusal stays one line."""
    return path if path.isprintable() else repr(path)


def export_command(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = get_repository(root, args.repository)
    try:
        exported = export_repository(repository, Path(args.dir), terminal_progress)
    except (ExportFailed, OSError) as e:
        raise CommandError(str(e)) from None
    for problem in exported.problems:
        print(problem)
    if exported.problems:
        raise CommandError(exported.summary())
    return exported.summary()


def add_moving_parsers(commands) -> None:
    """``import PATH [--repository R] [--uploader NAME]`` and ``export DIR [--repository R]``."""
    sub = commands.add_parser(
        "import", help="publish every wheel and sdist under a directory, as uploads",
        description="Publish every wheel and sdist under PATH (recursively) into a repository"
                    " as an upload would be: the same checks, name, version and metadata read"
                    " from each file; files stored already with the same bytes are skipped."
                    f" PATH may be a devpi export (devpi-export's dataindex.json) or a"
                    f" 'localshop export' ({MANIFEST}): upload times, uploaders, yanks,"
                    " provenance, owners and project statuses are restored. Commits every 100"
                    " files; run it again after a crash.")
    sub.add_argument("path", metavar="PATH", help="a directory of distributions")
    sub.add_argument("--repository", default=DEFAULT_REPOSITORY, metavar="R",
                     help=f"the repository to import into (default {DEFAULT_REPOSITORY})")
    sub.add_argument("--uploader", default=DEFAULT_UPLOADER, metavar="NAME",
                     help="the account the files are uploaded as, and the owner of the projects"
                          f" it creates (default {DEFAULT_UPLOADER})")
    sub.set_defaults(func=import_command, when_busy=WHEN_BUSY)
    sub = commands.add_parser(
        "export", help="write a repository's hosted files and a manifest into a directory",
        description="Write the hosted (uploaded) files of a repository as DIR/<project>/"
                    f"<filename> (and its provenance, <filename>.provenance), and {MANIFEST}"
                    " with their uploaders, upload times, yanks and the projects' owners and"
                    " statuses; 'localshop import DIR' reads both back.")
    sub.add_argument("dir", metavar="DIR", help="a new or empty directory")
    sub.add_argument("--repository", default=DEFAULT_REPOSITORY, metavar="R",
                     help=f"the repository to export (default {DEFAULT_REPOSITORY})")
    sub.set_defaults(func=export_command, writes=False)
