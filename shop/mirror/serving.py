"""How a file is served: one decision for hosted and mirrored files and their core metadata.

A file whose bytes are stored is sent from its blob. A mirrored file not fetched yet is
streamed while it downloads, or (repository in redirect mode) the client is sent upstream
while it is stored in the background. A file the repository does not offer, or cannot get,
is unavailable, and the reason says why. The views turn the answer into a response.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ZODB.blob import Blob

from shop.mirror.downloads import Downloads
from shop.mirror.metadata import MetadataFetches
from shop.mirror.storing import DownloadFailed
from shop.mirror.upstream import UpstreamError
from shop.model.offers import Rules, awaiting_approval, is_visible, refused_approval
from shop.model.tree import ReleaseFile, repository_of

WHEEL_CONTENT = "application/octet-stream"
METADATA_CONTENT = "text/plain; charset=utf-8"
PROVENANCE_CONTENT = "application/json"  # PEP 740's provenance object, as a JSON document


class Unavailable(Exception):
    """The file is not served here; ``status`` is 404 (not offered, not cached, held back),
    403 (blocked), 410 (removed upstream) or 502 (upstream failed)."""

    def __init__(self, message: str, status: int = 404, rule: str = "") -> None:
        super().__init__(message)
        self.message, self.status = message, status
        self.rule = rule  # the supply-chain rule that refused it (``offers.Refusal.rule``)


@dataclass(frozen=True)
class FromBlob:
    """Bytes stored here: sent from a committed blob."""

    blob: Blob
    sha256: str
    size: int
    content_type: str


@dataclass(frozen=True)
class FromUpstream:
    """Bytes on their way from upstream (or just fetched), sent as they come."""

    body: Iterable[bytes]
    size: int | None
    sha256: str | None
    content_type: str
    immutable: bool = False  # verified bytes under a fixed name: clients may keep them


@dataclass(frozen=True)
class Redirect:
    """The client fetches the file upstream itself; it is stored here meanwhile."""

    url: str


def serve_file(file: ReleaseFile, downloads: Downloads,
               timeout: tuple[float, float]) -> FromBlob | FromUpstream | Redirect:
    """How to serve a distribution file; raise Unavailable saying why it cannot be."""
    repository = _offered(file, file.filename)
    if file.blob is not None:
        return FromBlob(file.blob, file.sha256, file.size, WHEEL_CONTENT)
    if not repository.upstream:
        raise Unavailable(f"Not cached: {file.filename}, and this repository has no upstream "
                          "to fetch it from.")
    if repository.mirror_mode == "redirect":
        downloads.start(file, background=True)
        return Redirect(file.upstream_url)
    connect, read = timeout
    try:
        download = downloads.start(file)
        download.wait_started(connect + read)
        body = download.reader(idle_timeout=read + 5)
    except DownloadFailed as e:
        raise Unavailable(f"Upstream download failed: {e}", 502) from None
    return FromUpstream(body, download.size, file.sha256, WHEEL_CONTENT)


def serve_metadata(file: ReleaseFile, fetches: MetadataFetches) -> FromBlob | FromUpstream:
    """How to serve a wheel's ``.metadata`` (PEP 658); raise Unavailable saying why not."""
    name = file.filename + ".metadata"
    repository = _offered(file, name)
    if file.core_metadata is not None:
        return FromBlob(file.core_metadata, file.core_metadata_sha256, file.core_metadata_size,
                        METADATA_CONTENT)
    if repository.offline:
        raise Unavailable(f"Not cached: {name}, and this repository is offline.")
    try:
        data = fetches.fetch(file)
    except (DownloadFailed, UpstreamError) as e:
        raise Unavailable(f"Upstream metadata fetch failed: {e}", 502) from None
    return FromUpstream([data], len(data), file.core_metadata_sha256, METADATA_CONTENT,
                        immutable=True)


def serve_provenance(file: ReleaseFile) -> FromBlob:
    """How to serve a file's provenance object (PEP 740); raise Unavailable saying why not.

    A mirrored file's is fetched with the file (``shop.mirror.provenance``), never alone."""
    name = file.filename + ".provenance"
    _offered(file, name)
    if file.provenance is None:
        raise Unavailable(f"Not found: {file.filename} has no provenance here (it was uploaded "
                          "without attestations, or upstream offers none for it).")
    return FromBlob(file.provenance, file.provenance_sha256, file.provenance_size,
                    PROVENANCE_CONTENT)


def _offered(file: ReleaseFile, name: str):
    """The file's repository, if it offers the file; Unavailable saying why otherwise (the
    rules, ``offers.Rules``, first: a blocked file is refused even when it is cached)."""
    repository = repository_of(file)
    package = file.__parent__.__parent__
    if awaiting_approval(package):
        raise Unavailable(refused_approval(package), 404, "awaiting-approval")
    refusal = Rules(package).file_refusal(file, name)
    if refusal is not None:
        raise Unavailable(refusal.reason, refusal.status, refusal.rule)
    if is_visible(file, repository):
        return repository
    if repository.offline and file.blob is None:
        raise Unavailable(f"Not cached: {name}, and this repository is offline.")
    raise Unavailable(
        f"Not found: {name} is upstream's, and this repository hosts its own project of that "
        "name, so it offers only its own files (add the project to the repository's merge "
        "allow-list to offer upstream's too)."
    )
