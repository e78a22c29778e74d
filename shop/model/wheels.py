"""A wheel's core metadata: the one ``<name>-<version>.dist-info/METADATA`` at its top level."""
from __future__ import annotations

import zipfile

from packaging.version import InvalidVersion, Version

from shop.model import names

METADATA = ".dist-info/METADATA"


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
    """The METADATA of the wheel at ``path``, or None when it has not exactly one (or is no zip)."""
    try:
        with zipfile.ZipFile(path) as wheel:
            found = metadata_names(wheel)
            return wheel.read(found[0]) if len(found) == 1 else None
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
