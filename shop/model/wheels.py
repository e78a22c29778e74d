"""A wheel's core metadata: the one ``<name>-<version>.dist-info/METADATA`` at its top level."""
from __future__ import annotations

import logging
import zipfile

from packaging.version import InvalidVersion, Version

from shop.model import names

METADATA = ".dist-info/METADATA"
# A METADATA is a few KiB; a README in it rarely 1 MiB. 16 MiB (as for upstream's .metadata
# files) bounds what a small zip can make us decompress, keep in memory and store.
MAX_METADATA = 16 * 1024 * 1024

log = logging.getLogger(__name__)


class MetadataTooLarge(ValueError):
    """A METADATA member that decompresses to more than MAX_METADATA bytes."""


def read_member(wheel: zipfile.ZipFile, member: str, limit: int = MAX_METADATA) -> bytes:
    """A member's bytes, decompressing ``limit`` + 1 bytes at most; MetadataTooLarge beyond.

    The declared size is checked first, but it may lie: the read itself is bounded too.
    """
    if wheel.getinfo(member).file_size > limit:
        raise MetadataTooLarge(f"{member} is larger than {limit} bytes")
    with wheel.open(member) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise MetadataTooLarge(f"{member} is larger than {limit} bytes")
    return data


def metadata_names(wheel: zipfile.ZipFile) -> list[str]:
    """The ``*.dist-info/METADATA`` members at the top level of a wheel."""
    return [n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(METADATA)]


def dist_info_matches(member: str, project: str, version: Version) -> bool:
    """Whether a ``<name>-<version>.dist-info/...`` member is for this project and version."""
    directory = member.split("/", 1)[0][: -len(".dist-info")]
    name, _, spelled = directory.rpartition("-")
    try:
        return names.normalize(name) == project and Version(spelled) == version
    except InvalidVersion:
        return False


def read_metadata(path: str) -> bytes | None:
    """The METADATA of the wheel at ``path``, or None when it has not exactly one (or is no zip,
    or its METADATA is over MAX_METADATA: the wheel is served all the same, without it)."""
    try:
        with zipfile.ZipFile(path) as wheel:
            found = metadata_names(wheel)
            return read_member(wheel, found[0]) if len(found) == 1 else None
    except MetadataTooLarge as e:
        log.warning("wheel %s: not extracting its METADATA: %s", path, e)
        return None
    except (zipfile.BadZipFile, OSError, KeyError, EOFError, NotImplementedError):
        return None
