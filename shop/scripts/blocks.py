"""``localshop block add|list|remove|import-osv``: the block list (``shop.model.blocking``)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from shop.model import blocking, osv
from shop.model.blocks import Block
from shop.model.root import Root
from shop.scripts.common import CommandError
from shop.services import Services

WHEN_BUSY = (" 'block add', 'remove' and 'import-osv' write: stop the server first (or serve"
             " the database with ZEO). 'block list' only reads: it runs beside the server.")


def block_add(root: Root, args: argparse.Namespace, services: Services) -> str:
    block, changed = blocking.add_block(root, args.spec, args.reason or "", args.repository or "")
    return f"{'Blocked' if changed else 'Already blocked:'} {_where(block)}: {block.reason}"


def block_remove(root: Root, args: argparse.Namespace, services: Services) -> str:
    block = blocking.remove_block(root, args.spec, args.repository or "")
    return f"Removed the block of {_where(block)}"


def _where(block: Block) -> str:
    where = f"repository {block.repository}" if block.repository else "every repository"
    return f"{block.spec} in {where}"


def as_dict(block: Block) -> dict:
    """A block as ``block list --json`` prints it."""
    return {"spec": block.spec, "project": block.project, "specifier": block.specifier,
            "repository": block.repository or None, "reason": block.reason,
            "source": block.source, "by": block.by,
            "created": block.created.isoformat().replace("+00:00", "Z")}


def block_list(root: Root, args: argparse.Namespace, services: Services) -> str:
    blocks = blocking.listed(root, args.project or "")
    if args.json:
        return json.dumps([as_dict(b) for b in blocks], indent=2, ensure_ascii=False)
    return "\n".join(
        "  ".join((b.spec, b.repository or "all", f"{b.created:%Y-%m-%dT%H:%M:%SZ}",
                   b.by or "-", b.source or "-", b.reason)) for b in blocks)


def osv_files(path: Path) -> list[Path]:
    """The file, or every ``*.json`` below the directory (recursively), in name order."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise CommandError(f"No *.json files in {path}: give an OSV file or a directory of them.")
        return files
    if not path.exists():
        raise CommandError(f"No file or directory {path}.")
    return [path]


def read_advisories(path: Path) -> list[osv.Advisory]:
    """Every advisory of the files, all read before anything is blocked (an unreadable file
    stops the import saying which, before it changed anything)."""
    advisories: list[osv.Advisory] = []
    for file in osv_files(path):
        try:
            with open(file, "rb") as f:
                data = f.read(osv.MAX_FILE_BYTES + 1)
        except OSError as e:
            raise CommandError(f"Cannot read {file}: {e.strerror or e}; nothing was imported.") from None
        try:
            advisories += osv.read(data, str(file))
        except osv.OSVError as e:
            raise CommandError(f"{e} Nothing was imported.") from None
        if len(advisories) > osv.MAX_ENTRIES:
            raise CommandError(f"More than {osv.MAX_ENTRIES} advisories in {path}; nothing was "
                               "imported: import fewer at a time.")
    return advisories


def block_import_osv(root: Root, args: argparse.Namespace, services: Services) -> str:
    report = blocking.import_advisories(root, read_advisories(Path(args.path)))
    lines = [f"skipped {id}: {why}" for id, why in report.skipped]
    lines += [f"removed {spec} (its advisory no longer names it)" for spec in report.removed]
    return "\n".join(lines + [report.summary()])


def add_block_parser(commands) -> None:
    """``block add|list|remove|import-osv``."""
    block = commands.add_parser("block", help="the block list: projects and versions never "
                                "listed nor served")
    block.set_defaults(when_busy=WHEN_BUSY)
    actions = block.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="block a project (evil) or versions (requests==2.99.0, "
                             "foo<1.2)")
    add.add_argument("spec", metavar="SPEC")
    add.add_argument("--reason", metavar="TEXT", required=True, help="told to clients")
    add.add_argument("--repository", metavar="R", help="only in repository R (default: all)")
    add.set_defaults(func=block_add)
    remove = actions.add_parser("remove", help="remove a block")
    remove.add_argument("spec", metavar="SPEC")
    remove.add_argument("--repository", metavar="R", help="the block of repository R (default:"
                        " the one of every repository)")
    remove.set_defaults(func=block_remove)
    listing = actions.add_parser("list", help="list the blocks (read-only)")
    listing.add_argument("--project", metavar="NAME", help="only projects whose name holds NAME")
    listing.add_argument("--json", action="store_true", help="as a JSON list")
    listing.set_defaults(func=block_list, writes=False)
    osv_import = actions.add_parser("import-osv", help="block what OSV advisories name for PyPI"
                                    " (a JSON file, or a directory of them)")
    osv_import.add_argument("path", metavar="PATH")
    osv_import.set_defaults(func=block_import_osv)
