"""What a repository offers: which files its pages list and its URLs serve.

Rules of the tree alone (a repository's settings and a project's state), shared by the
simple pages, the JSON API, the admin pages and the file downloads: dependency-confusion
protection (``hides_upstream``), the offline mode, and the supply-chain rules (``Rules``:
blocks, the cooldown, PEP 792 statuses, upstream's deletions; ``awaiting_approval``).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from shop.model import names
from shop.model.blocks import Block, blocklist_of, public_version
from shop.model.cooldown import cooldown_of
from shop.model.folders import utcnow
from shop.model.tree import Package, Release, ReleaseFile, Repository

# PEP 792's project statuses; the first is every project's until said otherwise.
STATUSES = ("active", "archived", "quarantined", "deprecated")


def hides_upstream(package: Package, repository: Repository) -> bool:
    """Whether a project hosted here hides upstream's files (dependency-confusion protection)."""
    return package.hosted and package.__name__ not in repository.merge_allowed


def is_visible(file: ReleaseFile, repository: Repository) -> bool:
    """Whether a file is offered: hosted projects hide upstream files unless allowed to merge."""
    if file.origin != "mirror":
        return True
    release = file.__parent__
    package = release.__parent__ if release is not None else None
    if package is not None and hides_upstream(package, repository):
        return False
    return not (repository.offline and file.blob is None)


def upstream_files(package: Package) -> int:
    """How many of the project's files are known from upstream (whether offered or not)."""
    return sum(1 for f in package.files() if f.origin == "mirror")


def hidden_upstream_files(package: Package) -> int:
    """How many upstream files the project does not offer because it is hosted here.

    Only a hosted project can hide any, so a mirrored one costs nothing to ask about; a hosted
    one's count was kept when it began to hide them (``count_hidden_upstream``), and its
    upstream files no longer change (the mirror does not refresh what it hides).
    """
    if not hides_upstream(package, package.__parent__):
        return 0
    if package.hidden_upstream is None:
        return upstream_files(package)  # hosted before the count was kept: walked
    return package.hidden_upstream


def count_hidden_upstream(package: Package) -> int:
    """Count (once, as the project begins to hide them) the upstream files it hides."""
    package.hidden_upstream = upstream_files(package)
    return package.hidden_upstream


def listed_only(package: Package) -> tuple[tuple, ...] | None:
    """Upstream's listing entries, when they are exactly what the project's pages show (no
    file stored or uploaded here, nothing hidden, the repository online); else None."""
    repository = package.__parent__
    if package.listing is None or len(package) or repository.offline or \
            hides_upstream(package, repository):
        return None
    return package.listing.entries


def visible_files(package: Package, rules: "Rules | None" = None) -> list[ReleaseFile]:
    """The files a project page lists, sorted by version then filename (``is_visible``, for
    all of a project's files at once: a mirrored project may have 15,000), that the rules
    (``Rules``: blocks, cooldown, status) do not refuse."""
    repository = package.__parent__
    rules = rules if rules is not None else Rules(package)
    hidden, offline = hides_upstream(package, repository), repository.offline
    files = [f for f in package.files()
             if (f.origin != "mirror" or not hidden and not (offline and f.blob is None))
             and rules.file_refusal(f) is None]
    if any(f.stored for f in files):  # listed files alone come in the listing's order
        files.sort(key=lambda f: (names.sort_key(f.__parent__.version), f.filename))
    return files


def release_files(release: Release, rules: "Rules | None" = None) -> list[ReleaseFile]:
    """The files of one release that its repository offers, and its rules do not refuse."""
    package = release.__parent__
    rules = rules if rules is not None else Rules(package)
    return [f for f in release.files()
            if is_visible(f, package.__parent__) and rules.file_refusal(f) is None]


def latest_release(package: Package) -> Release | None:
    """The newest release that is not yanked, preferring final releases (as PyPI does), of
    those with a file offered (``release_files``).

    Newest first, stopping at the first final one: a project of a thousand versions loads
    only the few it looks at.
    """
    releases, rules = package.releases(), Rules(package)
    fallback = None
    for release in releases:
        if release.yanked or not release_files(release, rules):
            continue
        if not names.parse_version(release.version).is_prerelease:
            return release
        fallback = fallback or release
    if fallback is None:  # all yanked: the newest offered one (none offered: none at all)
        fallback = next((r for r in releases if release_files(r, rules)), None)
    return fallback


# --- the supply-chain rules: blocks, cooldown, project status, upstream's deletions ------


@dataclass(frozen=True)
class Refusal:
    """Why a file is not offered: ``status`` 403 (blocked), 404 (held back by the cooldown,
    quarantined, awaiting approval) or 410 (removed upstream), and the reason clients see."""

    status: int
    why: str  # what the reason phrase says after its status word
    rule: str = ""  # blocked, quarantined, removed-upstream, cooldown (as metrics name them)

    @property
    def reason(self) -> str:
        """The reason phrase (and body) clients are told: ``Forbidden: ... is blocked ...``."""
        return f"{PHRASES[self.status]}: {self.why}"


PHRASES = {403: "Forbidden", 404: "Not found", 410: "Gone"}


class Rules:
    """What a repository's rules say of one project's files at one moment (``now``): the
    one place that decides which files are blocked, held back or gone. Asked per file, it
    also keeps ``expires``: the first moment a file it held back is offered by itself (a
    page rendered now is out of date then)."""

    def __init__(self, package: Package, now: datetime.datetime | None = None) -> None:
        repository = package.__parent__
        self.project, self.repository = package.__name__, repository
        self.now = now or utcnow()
        self.cooldown = cooldown_of(repository, self.now)
        blocklist = blocklist_of(repository)
        self.blocks: tuple[Block, ...] = (
            blocklist.for_project(package.__name__, repository.__name__)
            if blocklist is not None else ())
        self._blocked: dict[str, Block | None] = {}  # by version: the first block of it
        self._pins = {pin: b for b in self.blocks if (pin := b.pinned) is not None}  # ==V
        self._ranges = [b for b in self.blocks if b.pinned is None]
        self.status, self.status_reason = project_status(package, self.blocks)
        self.follow_deletions = getattr(repository, "upstream_deletions", "follow") != "keep"
        self.expires: datetime.datetime | None = None
        # A view of upstream's answer before the writer stores it (``pending_token``): its
        # records are not marked ``removed_upstream`` yet, so its listing says which are.
        self.listed = package.listing.by_release() \
            if package.pending_token is not None and package.listing is not None else None

    def file_refusal(self, file: ReleaseFile, name: str | None = None) -> Refusal | None:
        """Why ``file`` is not offered (its ``.metadata`` or ``.provenance``: ``name``)."""
        release = file.__parent__
        return self.refusal(file.origin, release.__name__, release.version,
                            name or file.filename, file.upload_time, self.removed(file))

    def removed(self, file: ReleaseFile) -> datetime.datetime | None:
        """When upstream's listing was found without the file (None: it lists it)."""
        removed = getattr(file, "removed_upstream", None)
        if self.listed is None or not file.stored or file.origin != "mirror":
            return removed
        listed = file.filename in self.listed.get(file.__parent__.__name__, {})
        return None if listed else removed or self.now

    def refusal(self, origin: str, release_key: str, version: str, filename: str,
                uploaded: datetime.datetime | None,
                removed: datetime.datetime | None = None) -> Refusal | None:
        """Why the file is not offered (None: it is), first reason first: a block, the
        project's quarantine, upstream's deletion, the cooldown (upstream's files only)."""
        block = self.blocked(version) if self.blocks else None
        if block is not None:
            return Refusal(403, f"{filename} is blocked ({block.spec}): "
                                f"{block.reason}", "blocked")
        if self.status == "quarantined":
            reason = f": {self.status_reason}" if self.status_reason else ""
            return Refusal(404, f"project {self.project} is quarantined{reason}; "
                                "none of its files are offered.", "quarantined")
        if origin != "mirror":
            return None
        if removed is not None and self.follow_deletions:
            return Refusal(410, f"{filename} was removed upstream (noticed "
                                f"{removed:%Y-%m-%d %H:%M} UTC); it is no longer served.",
                           "removed-upstream")
        if self.cooldown.holds(self.project, release_key, uploaded):
            self._held_until(self.cooldown.released_at(uploaded))
            when = "of unknown upload time" if uploaded is None else \
                f"uploaded upstream at {uploaded:%Y-%m-%d %H:%M} UTC"
            return Refusal(404, f"{filename} is held back by the repository's "
                                f"cooldown ({when}; files {self.cooldown.describe()} are not "
                                "offered).", "cooldown")
        return None

    def blocked(self, version: str) -> Block | None:
        """The first block of ``version`` (None: none), decided once per version: a page
        of 15,000 files has a few hundred versions."""
        try:
            return self._blocked[version]
        except KeyError:
            ranged = next((b for b in self._ranges if b.matches(version)), None)
            pinned = self._pins.get(public_version(version)) if self._pins else None
            found = [b for b in (ranged, pinned) if b is not None]  # the first, as added
            found = min(found, key=self.blocks.index) if found else None
            self._blocked[version] = found
            return found

    @property
    def refuses_nothing_listed(self) -> bool:
        """Whether no file only listed upstream can be refused (no block, no quarantine, no
        cooldown): a big project's page then asks nothing per file."""
        return not self.blocks and self.status != "quarantined" and self.cooldown.cut is None

    def _held_until(self, released: datetime.datetime | None) -> None:
        if released is not None and (self.expires is None or released < self.expires):
            self.expires = released


def project_status(package: Package, blocks: tuple[Block, ...] = ()) -> tuple[str, str]:
    """The project's PEP 792 status and its reason: ``quarantined`` when blocked as a whole;
    a hosted project's own; a mirrored one's as upstream says; else ``active``."""
    for block in blocks:
        if block.whole_project:
            return "quarantined", f"blocked: {block.reason}"
    if package.hosted:
        return package.status, package.status_reason
    listing = package.listing
    status = getattr(listing, "status", None) if listing is not None else None
    if status in STATUSES:
        return status, getattr(listing, "status_reason", "") or ""
    return "active", ""


def rules_version(repository: Repository) -> tuple:
    """What else than a project's own changes the pages depend on: the cooldown's settings,
    whether upstream's deletions are followed, and the block list's change counter."""
    blocklist = blocklist_of(repository)  # (asked on every page request: nothing formatted)
    return (repository.min_age, repository.exclude_newer, repository.cooldown_exempt,
            repository.upstream_deletions, blocklist.serial() if blocklist is not None else 0)


def awaiting_approval(package: Package) -> bool:
    """Whether an upstream project is not served until an admin approves it: its repository
    approves new projects, and this one is pending (or not stored yet: nobody approved it).
    A project blocked as a whole there (a denied one) is blocked instead: its rules say so."""
    repository = package.__parent__
    if not getattr(repository, "approve_new_projects", False) or package.hosted:
        return False
    if blocked_as_a_whole(repository, package.__name__):
        return False
    pending = getattr(repository, "pending_projects", None)
    if pending is not None and package.__name__ in pending:
        return True
    return package.__name__ not in repository  # upstream's answer, not stored yet


def blocked_as_a_whole(repository: Repository, name: str) -> bool:
    """Whether every version of ``name`` is blocked in ``repository`` (a denied project)."""
    blocklist = blocklist_of(repository)
    return blocklist is not None and any(
        b.whole_project for b in blocklist.for_project(name, repository.__name__))


def refused_approval(package: Package) -> str:
    """What a client asking for a project awaiting approval is told."""
    repository = package.__parent__
    return (f"Not found: project {package.__name__} is awaiting approval: repository "
            f"{repository.__name__} serves upstream projects only once an admin approves "
            f"them (/repo/{repository.__name__}/+pending).")
