"""OSV advisories (the Open Source Vulnerabilities format) read as blocks.

An entry (``id``, ``summary``, ``withdrawn``, ``affected[]``) names packages of ecosystems;
those of ``PyPI`` become blocks: each listed version ``name==version``, each interval of an
``ECOSYSTEM`` range ``name>=introduced,<fixed`` (``<=last_affected``; introduced ``0`` has no
lower bound), and an entry that affects every version (introduced ``0``, never fixed, as
OSV's ``MAL-`` malicious packages are) the whole project. A file holds one entry, or a list.
Pure translation: ``shop.model.blocking`` applies what it finds.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from shop.model.blocks import REASON_LIMIT, BlockError, parse_spec

MAX_FILE_BYTES = 16 * 1024 * 1024  # OSV's largest PyPI entries are a few hundred kB
MAX_ENTRIES = 100_000  # per import: all of OSV's PyPI entries, several times over
MAX_BLOCKS_PER_ENTRY = 1_000
MAX_ID_LENGTH = 100
SOURCE_PREFIX = "osv:"
ECOSYSTEM = "PyPI"


class OSVError(BlockError):
    """A file that is not OSV JSON this reader can use; the message names the file."""


@dataclass(frozen=True)
class Advisory:
    """What one OSV entry asks to block: ``specs`` (``evil``, ``foo<1.2``), with ``reason``
    and ``source``; ``skipped`` says why it blocks nothing, ``notes`` what of it was left out."""

    id: str
    reason: str
    specs: tuple[str, ...] = ()
    skipped: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def source(self) -> str:
        return SOURCE_PREFIX + self.id


def read(data: bytes, name: str) -> list[Advisory]:
    """The advisories of one file's bytes (an entry or a list of entries); OSVError naming
    ``name`` when it is too large, not JSON, or not shaped as OSV says."""
    if len(data) > MAX_FILE_BYTES:
        raise OSVError(f"{name}: {len(data)} bytes, more than the {MAX_FILE_BYTES} an OSV file "
                       "may have here.")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise OSVError(f"{name}: not JSON ({str(e)[:200]}).") from None
    entries = document if isinstance(document, list) else [document]
    if len(entries) > MAX_ENTRIES:
        raise OSVError(f"{name}: {len(entries)} entries, more than {MAX_ENTRIES}.")
    advisories = []
    for number, entry in enumerate(entries, 1):
        try:
            advisories.append(advisory(entry))
        except OSVError as e:
            where = f" (entry {number})" if isinstance(document, list) else ""
            raise OSVError(f"{name}{where}: {e}") from None
    return advisories


def advisory(entry) -> Advisory:
    """The blocks one OSV entry (a parsed JSON object) asks for."""
    if not isinstance(entry, dict):
        raise OSVError("not an OSV entry (a JSON object with an id).")
    id = _text(entry, "id")
    if not id or len(id) > MAX_ID_LENGTH or any(c.isspace() for c in id):
        raise OSVError(f"not an OSV entry: its id {id[:MAX_ID_LENGTH]!r} is missing or invalid.")
    reason = _reason(id, entry)
    if entry.get("withdrawn"):
        return Advisory(id, reason, skipped=f"withdrawn {_text(entry, 'withdrawn')}".strip())
    specs: list[str] = []
    notes: list[str] = []
    for affected in _list(entry, "affected"):
        if not isinstance(affected, dict):
            raise OSVError(f"{id}: each of affected[] must be an object.")
        package = affected.get("package") or {}
        if not isinstance(package, dict):
            raise OSVError(f"{id}: affected[].package must be an object.")
        if package.get("ecosystem") != ECOSYSTEM:
            continue
        for spec in _package_specs(id, affected, _text(package, "name"), notes):
            if spec not in specs:
                specs.append(spec)
    if len(specs) > MAX_BLOCKS_PER_ENTRY:
        raise OSVError(f"{id}: {len(specs)} blocks, more than {MAX_BLOCKS_PER_ENTRY} per entry.")
    if not specs:
        why = "; ".join(notes) if notes else f"names no {ECOSYSTEM} package"
        return Advisory(id, reason, skipped=why)
    return Advisory(id, reason, tuple(specs), notes=tuple(notes))


def _reason(id: str, entry: dict) -> str:
    summary = " ".join(_text(entry, "summary").split())
    if not summary:  # OSV makes summary optional: the first line of the details, then
        details = _text(entry, "details").strip()
        summary = " ".join(details.splitlines()[0].split()) if details else ""
    return f"{id}: {summary}"[:REASON_LIMIT] if summary else id


def _package_specs(id: str, affected: dict, name: str, notes: list[str]) -> list[str]:
    """The specs of one ``affected[]`` item of a PyPI package: its ranges' intervals, then
    its listed versions that no interval already covers."""
    try:
        project, _ = parse_spec(name)
    except BlockError:
        notes.append(f"invalid {ECOSYSTEM} name {name[:100]!r}")
        return []
    intervals: list[str] = []
    for item in _list(affected, "ranges"):
        if not isinstance(item, dict) or not isinstance(item.get("events", []), list):
            raise OSVError(f"{id}: each of affected[].ranges must be an object with events[].")
        if item.get("type") != "ECOSYSTEM":
            continue  # GIT and SEMVER ranges name commits and other schemes, not PyPI's versions
        try:
            intervals += _intervals(item["events"] if "events" in item else [])
        except InvalidVersion as e:
            notes.append(f"{project}: a range with an invalid version ({str(e)[:100]})")
    if "" in intervals:
        return [project]  # every version: the whole project
    specifiers = _canonical(project, intervals, notes)
    covered = [SpecifierSet(s) for s in specifiers]
    for version in _list(affected, "versions"):
        try:
            parsed = Version(str(version))
        except InvalidVersion:
            notes.append(f"{project}: invalid version {str(version)[:100]!r}")
            continue
        if not any(s.contains(parsed, prereleases=True) for s in covered):
            specifiers += _canonical(project, [f"=={version}"], notes)
    return [project + s for s in specifiers]


def _canonical(project: str, specifiers: list[str], notes: list[str]) -> list[str]:
    """``specifiers`` as ``Blocklist`` keeps them (sorted, canonical); those PEP 440 cannot
    read are left out, with a note."""
    found = []
    for specifier in specifiers:
        try:
            found.append(parse_spec(project + specifier)[1])
        except BlockError:
            notes.append(f"{project}: invalid versions {specifier[:100]!r}")
    return found


def _intervals(events: list) -> list[str]:
    """The specifier sets of a range's events ("" for every version), sorted by version as
    OSV's evaluation says; ``limit`` events are for git ranges and are left out."""
    steps = []
    for event in events:
        if not isinstance(event, dict) or len(event) != 1:
            raise OSVError("each range event must be an object of one key.")
        (kind, value), = event.items()
        if kind in ("introduced", "fixed", "last_affected"):
            version = Version("0") if str(value) == "0" else Version(str(value))
            steps.append((version, kind, str(value)))
    steps.sort(key=lambda step: step[0])
    found, lower, open_ = [], "", False
    for _, kind, value in steps:
        if kind == "introduced":
            if not open_:  # a second introduced while affected: still affected from the first
                lower, open_ = ("" if value == "0" else f">={value}"), True
        elif open_:
            upper = f"<{value}" if kind == "fixed" else f"<={value}"
            found.append(",".join(filter(None, (lower, upper))))
            open_ = False
    if open_:
        found.append(lower)
    return found


def _text(obj: dict, key: str) -> str:
    value = obj.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise OSVError(f"{key} must be a string.")
    return value


def _list(obj: dict, key: str) -> list:
    value = obj.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise OSVError(f"{key} must be a list.")
    return value
