"""Publishing: an upload that passed every check put into the tree as a package, release, file.

Nothing is added to the tree until every check in ``shop.hosting.validation`` has passed;
the received file becomes the file's blob by a rename, since it was received beside the
blobs. The caller's transaction (pyramid_tm) discards the blob if anything is raised.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Callable

from ZODB.blob import Blob

from shop.hosting import attestations, coremetadata, validation
from shop.hosting.attestations import Attested
from shop.hosting.forms import UploadForm
from shop.hosting.receiving import ReceivedFile
from shop.model import events, names, offers
from shop.model.blobs import blob_from_file, uncommitted_path
from shop.model.tree import Package, Release, ReleaseFile, Repository

log = logging.getLogger(__name__)


@dataclass
class UploadResult:
    file: ReleaseFile
    created: bool
    message: str


@dataclass(frozen=True)
class Placement:
    """Where an upload goes in the tree, and what is there already under its names."""

    repository: Repository
    form: UploadForm
    dist: names.DistFilename
    key: str  # the release's key: the canonical version
    package: Package | None
    release: Release | None
    existing: ReleaseFile | None

    @classmethod
    def find(cls, repository: Repository, form: UploadForm, dist: names.DistFilename) -> "Placement":
        key = names.version_key(form.version)
        package = repository.get(dist.project)
        release = package.get(key) if package is not None else None
        # Upstream's files count too, stored or only listed: no upload takes their names.
        shown = package.release(key) if package is not None else None
        existing = shown.file(dist.filename) if shown is not None else None
        return cls(repository, form, dist, key, package, release, existing)


def publish(repository: Repository, form: UploadForm, uploader: str,
            may_release: Callable[[Package], bool], *, closed_ok: bool = False) -> UploadResult:
    """Store the uploaded distribution (its received file) in ``repository``, or raise UploadError.

    ``may_release(package)`` says whether the uploader may add to a project someone already
    hosts here. There is no rule of its own: the upload view asks the security policy
    (``Permission.RELEASE`` in the ACLs of the package and those above it: its owners, the
    repository's owners, admins). ``closed_ok``: the project's status (archived, quarantined)
    does not refuse the file, as it does an upload; an import restoring what an export of such
    a project held says so. The received file is discarded whatever happens.
    """
    try:
        dist = validation.check_form(form)
        place = Placement.find(repository, form, dist)
        validation.check_may_release(place.package, uploader, may_release, closed_ok)
        validation.check_not_blocked(repository, dist)
        received = form.content
        validation.check_received(form.digests, received)
        attested = attestations.check_upload(form.attestations, dist.filename, received.hashes["sha256"])
        if validation.check_existing(place.existing, dist, received.hashes["sha256"]):
            return UploadResult(place.existing, False, f"{dist.filename} is already stored with these bytes.")
        core_metadata = validation.check_contents(received.path, dist)
        metadata = coremetadata.release_metadata(form.metadata, core_metadata)
        return _store(place, received, uploader, core_metadata, metadata, attested)
    finally:
        form.discard()  # a no-op once the blob has consumed the file


def _store(place: Placement, received: ReceivedFile, uploader: str,
           core_metadata: bytes | None, metadata: dict,
           attested: Attested | None) -> UploadResult:
    """Add the file (with its attestations, if any), creating its package and release (with
    ``metadata``) if they are new."""
    repository, form, dist = place.repository, place.form, place.dist
    message = f"Stored {dist.filename} in {repository.__name__}."
    package = place.package
    if package is None:
        package = repository.add(dist.project, Package(form.name))
    hiding = not package.hosted and dist.project not in repository.merge_allowed
    release = place.release
    if release is None:
        release = package.add(place.key, Release(form.version, metadata=_release_metadata(form, metadata)))
    file = _release_file(place, received, uploader, core_metadata, attested)
    release.add(dist.filename, file)
    if not package.hosted:
        package.owners.add(uploader)  # the first uploader owns the project
        package.hosted = True
    if hiding and place.package is not None:
        message += _hides_upstream(package, uploader)
    events.record(repository, events.UPLOAD, repository=repository.__name__, project=package.name,
                  version=release.version, filename=dist.filename, packagetype=dist.packagetype,
                  sha256=file.sha256, size=file.size, uploader=uploader,
                  upload_time=file.upload_time.isoformat())
    return UploadResult(file, True, message)


def _hides_upstream(package: Package, uploader: str) -> str:
    """Log that this first upload hides upstream's files of a mirrored project; the reply's words."""
    repository, hidden = package.__parent__, offers.count_hidden_upstream(package)
    log.warning(
        "upload by %s of %s to repository %s hides %d upstream files of it from now on "
        "(dependency-confusion protection); allow merging in the repository's settings to offer them",
        uploader, package.__name__, repository.__name__, hidden,
    )
    return (
        f" {package.__name__} was mirrored from upstream: from now on this repository offers only"
        f" its own files of it, and hides upstream's {hidden} (dependency-confusion protection)."
        " To offer upstream's files too, add the project to the repository's merge allow-list."
    )


def _release_file(place: Placement, received: ReceivedFile, uploader: str,
                  core_metadata: bytes | None, attested: Attested | None) -> ReleaseFile:
    """The file record, its blob taking over the received file; its METADATA and provenance."""
    form, dist, hashes = place.form, place.dist, received.hashes
    file = ReleaseFile(
        dist.filename,
        packagetype=dist.packagetype,
        size=received.size,
        sha256=hashes["sha256"],
        md5=hashes["md5"],
        blake2_256=hashes["blake2_256"],
        uploader=uploader,
        requires_python=form.metadata.get("requires_python") or None,
        python_version=form.pyversion or ("source" if dist.packagetype == "sdist" else None),
        blob=blob_from_file(place.repository._p_jar, received.path),
    )
    received.taken_as = uncommitted_path(file.blob)  # gone once committed; else released
    if core_metadata is not None:
        file.core_metadata = Blob(core_metadata)
        file.core_metadata_sha256 = hashlib.sha256(core_metadata).hexdigest()
        file.core_metadata_size = len(core_metadata)
    if attested is not None:
        attestations.keep(file, attested.provenance, attested.signers)
    return file


def _release_metadata(form: UploadForm, metadata: dict) -> dict:
    metadata = dict(metadata)
    metadata["name"] = form.name
    metadata["version"] = form.version
    return metadata
