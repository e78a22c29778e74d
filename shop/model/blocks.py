"""The block list: projects and versions never listed nor served, in one repository or all.

A block names a project, or a project and a PEP 440 specifier (``evil``, ``requests==2.99.0``,
``foo<1.2``), with the reason shown to clients. Blocks are kept at the root, by project, so
that a project page finds its own in one look; ``Blocklist.serial`` counts every change, and
is part of what every page is rendered from (``shop.model.offers.rules_version``).
"""
from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from typing import Iterator

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from persistent import Persistent

from shop.model import names
from shop.model.folders import utcnow

REASON_LIMIT = 500
SPEC_LIMIT = 1000
SOURCE_LIMIT = 200


class BlockError(ValueError):
    """A block that cannot be added or removed; the message says why."""


@dataclass(frozen=True)
class Block:
    """One rule: ``project`` (normalized), every version or those ``specifier`` matches."""

    project: str
    specifier: str  # "" for the whole project, else a canonical PEP 440 specifier set
    repository: str  # "" for every repository
    reason: str
    created: datetime.datetime
    by: str = ""  # who added it (as the audit log names people)
    source: str = ""  # where it came from: "" by hand, "osv:<id>" for an OSV advisory's import

    @property
    def spec(self) -> str:
        """The block as ``block add`` takes it: ``evil``, ``foo<1.2``."""
        return self.project + self.specifier

    @property
    def whole_project(self) -> bool:
        return not self.specifier

    def matches(self, version: str) -> bool:
        """Whether the block covers ``version`` (every version when it names no specifier).

        Versions are compared in plain PEP 440 order, as advisories mean their ranges, not as
        an installer reads a requirement: ``foo<2.0`` blocks ``2.0rc1`` and ``2.0.dev1`` too
        (they come before 2.0), and pre-releases are never left out."""
        if self.whole_project:
            return True
        parsed = _version(version)
        if parsed is None:
            return False  # only a block of the whole project covers what PEP 440 cannot read
        return all(_ordered(spec, bound, parsed) for spec, bound in _specifiers(self.specifier))

    @property
    def pinned(self) -> Version | None:
        """The one version a block of ``==V`` names (no wildcard, no local label), else None:
        such blocks are looked up by version, not asked one by one."""
        spec = self.specifier
        if not spec.startswith("==") or spec.startswith("===") or "," in spec \
                or spec.endswith(".*") or "+" in spec:
            return None
        return _version(spec[2:])

    def applies_to(self, repository: str) -> bool:
        return not self.repository or self.repository == repository

    def describe(self) -> str:
        where = f" in repository {self.repository}" if self.repository else ""
        return f"{self.spec}{where}: {self.reason}"


_ORDER = {"<": Version.__lt__, "<=": Version.__le__, ">": Version.__gt__, ">=": Version.__ge__}


def public_version(version: str) -> Version | None:
    """``version`` without its local label, as ``==V`` compares it (None: not PEP 440)."""
    parsed = _version(version)
    return _version(parsed.public) if parsed is not None and parsed.local else parsed


@functools.lru_cache(maxsize=16384)
def _version(version: str) -> Version | None:
    try:
        return Version(version)
    except InvalidVersion:
        return None


@functools.lru_cache(maxsize=4096)
def _specifiers(specifier: str) -> tuple:
    """A block's specifier set, parsed once: (specifier, its version for an ordered one)."""
    parsed = []
    for spec in SpecifierSet(specifier):
        bound = _version(spec.version) if spec.operator in _ORDER else None
        parsed.append((spec, bound))
    return tuple(parsed)


def _ordered(spec, bound: Version | None, version: Version) -> bool:
    """``spec`` (one specifier) holds for ``version``: ``<``, ``<=``, ``>``, ``>=`` in plain
    order (against ``bound``); the others (``==``, ``!=``, ``~=``, wildcards) as PEP 440 says."""
    if bound is None:
        return spec.contains(version, prereleases=True)
    if version.local is not None and bound.local is None:  # 1.0+abc is 1.0 here, as in ==
        version = _version(version.public)
    return _ORDER[spec.operator](version, bound)


def parse_spec(spec: str) -> tuple[str, str]:
    """``(normalized project, canonical specifier)`` of a block's SPEC; BlockError saying why
    it cannot be one (extras, markers and URLs are not blocks)."""
    text = (spec or "").strip()
    if not text or len(text) > SPEC_LIMIT:
        raise BlockError(f"Invalid block {text[:100]!r}: give a project name, or a name and a "
                         "PEP 440 specifier (evil, requests==2.99.0, foo<1.2).")
    try:
        requirement = Requirement(text)
    except InvalidRequirement as e:
        raise BlockError(f"Invalid block {text[:100]!r}: {e}") from None
    if requirement.extras or requirement.marker or requirement.url:
        raise BlockError(f"Invalid block {text[:100]!r}: give a name and versions only "
                         "(no extras, markers or URLs).")
    if not names.is_valid_name(requirement.name):
        raise BlockError(f"Invalid project name {requirement.name[:100]!r}.")
    specifier = ",".join(sorted(str(s) for s in requirement.specifier))
    return names.normalize(requirement.name), specifier


class Blocklist(Persistent):
    """Every block, by project: ``blocks[project]`` is a tuple of ``Block``."""

    def __init__(self) -> None:
        self.blocks = OOBTree()
        self.serial = Length()  # every change: pages are rendered anew

    def add(self, spec: str, reason: str, repository: str = "", *, by: str = "",
            source: str = "") -> tuple[Block, bool]:
        """Add (or, same SPEC and repository, replace the reason of) a block; the block, and
        whether anything changed (re-adding the same block changes nothing)."""
        project, specifier = parse_spec(spec)
        reason = " ".join((reason or "").split())[:REASON_LIMIT]
        if not reason:
            raise BlockError("Give a reason (--reason TEXT): clients are told it.")
        existing = self.find(project, specifier, repository)
        if existing is not None and (existing.reason, existing.source) == (reason, source[:SOURCE_LIMIT]):
            return existing, False
        block = Block(project, specifier, repository, reason, utcnow(), by[:200], source[:SOURCE_LIMIT])
        others = tuple(b for b in self.blocks.get(project, ()) if b is not existing)
        self.blocks[project] = others + (block,)
        self.serial.change(1)
        return block, True

    def remove(self, spec: str, repository: str = "") -> Block:
        project, specifier = parse_spec(spec)
        block = self.find(project, specifier, repository)
        if block is None:
            where = f" in repository {repository}" if repository else " for every repository"
            raise BlockError(f"No block {project + specifier}{where}.")
        rest = tuple(b for b in self.blocks[project] if b is not block)
        if rest:
            self.blocks[project] = rest
        else:
            del self.blocks[project]
        self.serial.change(1)
        return block

    def find(self, project: str, specifier: str, repository: str = "") -> Block | None:
        for block in self.blocks.get(project, ()):
            if block.specifier == specifier and block.repository == repository:
                return block
        return None

    def for_project(self, project: str, repository: str) -> tuple[Block, ...]:
        """The blocks of ``project`` (normalized) that apply in ``repository``."""
        return tuple(b for b in self.blocks.get(project, ()) if b.applies_to(repository))

    def __iter__(self) -> Iterator[Block]:
        for blocks in self.blocks.values():
            yield from blocks

    def __len__(self) -> int:
        """How many blocks (walks them all: for pages and commands, never per request)."""
        return sum(len(blocks) for blocks in self.blocks.values())

    def __bool__(self) -> bool:  # a block list is there even when empty (never ``len``)
        return True


def blocklist_of(obj) -> Blocklist | None:
    """The block list of the tree ``obj`` (a repository, project, ...) is in; None in a
    database made before blocks existed, until start-up adds it."""
    while obj is not None and getattr(obj, "__parent__", None) is not None:
        obj = obj.__parent__
    return getattr(obj, "blocklist", None)
