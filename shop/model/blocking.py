"""Blocks added, removed and imported from OSV advisories, each change in the audit log.

The one way the command line (``localshop block``) and the admin page (``/+blocks``) change
the block list (``shop.model.blocks``): a block of a repository names one that exists, and
every change is recorded (``events.BLOCK``, action ``added`` or ``removed``, with its spec,
reason and source). An OSV import is idempotent: what an advisory asks for that is already
blocked changes nothing and records nothing; the blocks an earlier import made from an
advisory that no longer asks for them (withdrawn, or its ranges changed) are removed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from shop.model import events, names
from shop.model.blocks import Block, BlockError, Blocklist, parse_spec
from shop.model.osv import MAX_ENTRIES, SOURCE_PREFIX, Advisory, OSVError
from shop.model.root import Root


def blocklist(root: Root) -> Blocklist:
    if root.blocklist is None:  # a database older than blocks: start-up adds it, as here
        root.blocklist = Blocklist()
    return root.blocklist


def listed(root: Root, project: str = "") -> list[Block]:
    """The blocks (of the projects whose name holds ``project``), by project then spec."""
    wanted = names.normalize(project.strip())[:names.MAX_NAME_LENGTH] if project.strip() else ""
    found = [b for b in (root.blocklist or ()) if wanted in b.project]
    return sorted(found, key=lambda b: (b.project, b.specifier, b.repository))


def _who(root: Root) -> str:
    """Who acts in the transaction, as the audit log names them (the block keeps it)."""
    actor = events.acting(root)
    return (actor() if callable(actor) else actor).user


def add_block(root: Root, spec: str, reason: str, repository: str = "", *,
              source: str = "") -> tuple[Block, bool]:
    """Block ``spec`` in ``repository`` (every one: ""); the block and whether it is new or
    changed (the same block again changes nothing and is not recorded)."""
    repository = (repository or "").strip()
    if repository and repository not in root.repositories:
        raise BlockError(f"No repository {repository[:names.MAX_NAME_LENGTH]!r}: give one that "
                         "exists, or none to block in every repository.")
    block, changed = blocklist(root).add(spec, reason, repository, by=_who(root), source=source)
    if changed:
        _record(root, block, "added")
    return block, changed


def remove_block(root: Root, spec: str, repository: str = "") -> Block:
    block = blocklist(root).remove(spec, (repository or "").strip())
    _record(root, block, "removed")
    return block


def _record(root: Root, block: Block, action: str) -> None:
    events.record(root, events.BLOCK, repository=block.repository, project=block.project,
                  action=action, spec=block.spec, reason=block.reason, source=block.source)


@dataclass
class ImportReport:
    """What an import did: the specs added, changed (a new reason), removed and unchanged,
    and the advisories skipped, each with why."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (advisory id, why)
    advisories: int = 0

    def summary(self) -> str:
        return (f"{self.advisories} advisories: {len(self.added)} blocks added, "
                f"{len(self.changed)} changed, {len(self.removed)} removed, "
                f"{len(self.unchanged)} unchanged, {len(self.skipped)} advisories skipped")


def import_advisories(root: Root, advisories: Iterable[Advisory]) -> ImportReport:
    """Block what each advisory names, in every repository; an advisory that names nothing
    any more (withdrawn) loses the blocks an earlier import made of it."""
    advisories = list(advisories)
    if len(advisories) > MAX_ENTRIES:
        raise OSVError(f"{len(advisories)} advisories, more than {MAX_ENTRIES} in one import.")
    report, earlier = ImportReport(advisories=len(advisories)), _imported(root)
    for advisory in advisories:  # removals first: an alias read later may still name a spec
        wanted = set(advisory.specs)
        for block in earlier.pop(advisory.source, ()):
            if block.spec not in wanted:
                remove_block(root, block.spec)
                report.removed.append(block.spec)
    for advisory in advisories:
        if advisory.skipped:
            report.skipped.append((advisory.id, advisory.skipped))
            continue
        for spec in advisory.specs:
            _import_one(root, advisory, spec, report)
    return report


def _imported(root: Root) -> dict[str, list[Block]]:
    """The blocks earlier imports made for every repository, by source."""
    found: dict[str, list[Block]] = {}
    for block in root.blocklist or ():
        if block.source.startswith(SOURCE_PREFIX) and not block.repository:
            found.setdefault(block.source, []).append(block)
    return found


def _import_one(root: Root, advisory: Advisory, spec: str, report: ImportReport) -> None:
    existing = blocklist(root).find(*parse_spec(spec), "")
    if existing is not None and existing.source != advisory.source:
        # Blocked by hand or by another advisory (OSV's aliases: one vulnerability under a
        # PYSEC- and a GHSA- id): that block stays as it is, the first one's.
        report.unchanged.append(spec)
        return
    _block, changed = add_block(root, spec, advisory.reason, source=advisory.source)
    (report.unchanged if not changed else
     report.added if existing is None else report.changed).append(spec)
