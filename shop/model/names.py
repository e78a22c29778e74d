"""Project names, versions and distribution filenames (PEP 503, 440, 427, 625), and index URLs."""
from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)

# What wheel and sdist names can hold (PEP 427/625 names, PEP 440 versions, tags); it keeps
# every file URL safe without quoting.
_FILENAME_CHARS = re.compile(r"[A-Za-z0-9._+!-]+")
SDIST_EXTENSIONS = (".tar.gz", ".zip")

# Lengths past any real project's (PyPI's longest names and versions are far shorter); they
# keep names, keys, reason phrases and file names small. 255 is a file name's limit on disk.
MAX_NAME_LENGTH = 200
MAX_VERSION_LENGTH = 100
MAX_FILENAME_LENGTH = 255


class InvalidName(ValueError):
    """A project name, version, filename, URL or network that must be refused; the message
    says what was wrong."""


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid project name as PEP 508 defines it, and not over the limit."""
    return len(name) <= MAX_NAME_LENGTH and bool(_VALID_NAME.match(name))


def normalize(name: str) -> str:
    """The PEP 503 normalized form of a project name."""
    return canonicalize_name(name)


def valid_name(name: str) -> str:
    """Return ``name`` unchanged, or raise InvalidName saying why it is not a project name."""
    if not name:
        raise InvalidName("Missing project name.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"Invalid project name: {len(name)} characters, more than {MAX_NAME_LENGTH}."
        )
    if not is_valid_name(name):
        raise InvalidName(
            f"Invalid project name {name!r}: a name starts and ends with an ASCII letter or "
            "digit and contains only letters, digits, '.', '_' and '-'."
        )
    return name


def parse_version(version: str) -> Version:
    """Parse a PEP 440 version, or raise InvalidName saying why not."""
    if len(version) > MAX_VERSION_LENGTH:
        raise InvalidName(
            f"Invalid version: {len(version)} characters, more than {MAX_VERSION_LENGTH}."
        )
    try:
        return Version(version)
    except InvalidVersion:
        raise InvalidName(f"Invalid version {version!r}: it is not a PEP 440 version.") from None


# A mirrored project's page lists each version once per file (thousands for some projects):
# both are pure functions of the string, parsed once.
@functools.lru_cache(maxsize=8192)
def version_key(version: str) -> str:
    """The canonical form of a version: the key of a release in the tree."""
    return canonicalize_version(parse_version(version))


@functools.lru_cache(maxsize=8192)
def sort_key(version: str):
    """Sort key for version strings, PEP 440 order; unparseable ones first."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


@dataclass(frozen=True)
class DistFilename:
    """What a distribution filename says about its contents."""

    filename: str
    project: str  # normalized
    version: Version
    packagetype: str  # "bdist_wheel" or "sdist"


def check_filename(filename: str) -> str:
    """Refuse filenames that could escape a directory, hide characters or be too long."""
    if len(filename) > MAX_FILENAME_LENGTH:
        raise InvalidName(
            f"Invalid filename: {len(filename)} characters, more than {MAX_FILENAME_LENGTH}."
        )
    if _FILENAME_CHARS.fullmatch(filename) and not filename.startswith("."):
        return filename  # the common case, in one step; the checks below say what is wrong
    if not filename:
        raise InvalidName("The upload has no filename.")
    if "/" in filename or "\\" in filename or filename in (".", "..") or filename.startswith("."):
        raise InvalidName(f"Invalid filename {filename!r}: a distribution filename has no path.")
    if any(ord(c) < 32 or ord(c) == 127 for c in filename):
        raise InvalidName(f"Invalid filename {filename!r}: it contains control characters.")
    if not _FILENAME_CHARS.fullmatch(filename):
        raise InvalidName(
            f"Invalid filename {filename!r}: a distribution filename has only letters, digits "
            "and '.', '_', '-', '+', '!'."
        )
    return filename


def parse_filename(filename: str) -> DistFilename:
    """Parse a wheel or sdist filename, or raise InvalidName saying why it is not one."""
    check_filename(filename)
    if filename.endswith(".whl"):
        try:
            name, version, _build, _tags = parse_wheel_filename(filename)
        except InvalidWheelFilename as e:
            raise InvalidName(f"Invalid wheel filename {filename!r}: {e}") from None
        return DistFilename(filename, name, version, "bdist_wheel")
    if filename.endswith(SDIST_EXTENSIONS):
        try:
            name, version = parse_sdist_filename(filename)
        except InvalidSdistFilename as e:
            raise InvalidName(f"Invalid sdist filename {filename!r}: {e}") from None
        return DistFilename(filename, name, version, "sdist")
    raise InvalidName(
        f"Invalid filename {filename!r}: a distribution is a wheel (.whl) or an sdist "
        "(.tar.gz or .zip)."
    )


def index_url(value: str) -> str | None:
    """An upstream simple index's URL with its trailing slash, or None if it is no http(s) URL."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return value if value.endswith("/") else value + "/"


def networks(value: str, key: str = "networks") -> tuple[str, ...]:
    """CIDR networks separated by spaces or commas, normalized; InvalidName names a bad one."""
    found = []
    for item in value.replace(",", " ").split():
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise InvalidName(f"{key}: {item!r} is not a network (CIDR, e.g. 10.0.0.0/8)") from None
    return tuple(found)


def project_urls(values) -> list[tuple[str, str]]:
    """Core metadata's ``Project-URL`` values (``"label, URL"``) as (label, URL) pairs."""
    pairs = []
    for value in values or ():
        label, _, url = str(value).partition(",")
        pairs.append((label.strip(), url.strip()))
    return pairs


def without_credentials(text: str) -> str:
    """``text`` with the userinfo (``user:secret@``) of every URL in it left out."""
    return _USERINFO.sub(r"\1", text)


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def credentials_hidden(url: str) -> str:
    """``url`` without its credentials, but saying it has some, and which (a 16-bit digest:
    enough to see that they changed, far too little to tell anything of them)."""
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    if not userinfo:
        return url
    digest = hashlib.sha256(userinfo.encode("utf-8", "replace")).hexdigest()[:4]
    return f"{without_credentials(url)} (with credentials #{digest})"


def without_paths(text: str) -> str:
    """``text`` with every URL in it cut to its origin: paths name projects and may carry tokens."""
    return _PATH.sub(r"\1/...", text)


_PATH = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s'\"]+)/[^\s'\"]*")


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: no credentials, no path."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
