"""Importing a directory of distributions into a repository (``localshop import PATH``).

Every wheel and sdist under the directory is published as an upload is
(``shop.hosting.ondisk`` makes the upload form from the file, ``publishing.publish`` runs
every check and stores it): byte-identical files already stored are skipped, other bytes
under a stored filename refused. What a catalog (``shop.operations.catalogs``: an export
manifest, devpi's dataindex.json) recorded beyond the bytes is then restored: upload time,
uploader, yank, a file's provenance (``<path>.provenance``: its sha256 checked, its
attestations checked again as the mirror checks upstream's, which re-derives its signers),
owners and PEP 792 status of the projects the import creates. The status is set as an owner
sets it (``status.set_status``: audit log, webhooks), with the project's first file; the
files the export held under an archived or quarantined project are imported all the same.

Commits come in batches (``BATCH_FILES`` files or ``BATCH_BYTES`` bytes), each after its
files: a crash loses at most the batch under way, and a second run skips what is stored.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from pyramid.authorization import ACLHelper
from ZODB.POSException import ConflictError

from shop.access.identity import identity_for
from shop.hosting import attestations
from shop.hosting.errors import UploadError, is_disk_full
from shop.hosting.ondisk import form_from_file
from shop.hosting.publishing import publish
from shop.model import events, names, repositories, status
from shop.model.people import User
from shop.model.permissions import Permission
from shop.model.root import Root
from shop.model.tree import Package, ReleaseFile, Repository
from shop.operations.catalogs import (DATAINDEX, MANIFEST, PROVENANCE_SUFFIX, Catalog, Recorded,
                                     read_catalog)
from shop.operations.check import Progress, no_progress

BATCH_FILES = 100
BATCH_BYTES = 512 * 1024 * 1024
ATTEMPTS = 3  # of a batch that conflicted with another process's commit (ZEO)
DISTRIBUTIONS = (".whl", ".tar.gz", ".zip")
# Kinds of distribution localshop does not host: refused by name, so that the summary says so.
OTHER_KINDS = (".egg", ".exe", ".msi", ".tar.bz2", ".tgz", ".tar.xz", ".tar", ".rpm", ".dmg")


class ImportFailed(Exception):
    """An import that cannot start, or had to stop; the message says why."""


class _DiskFull(Exception):
    """No room for the file being imported: the import stops (``Importer.run_batch``)."""


@dataclass
class Outcome:
    """What an import did, file by file."""

    repository: str
    kind: str
    imported: int = 0
    skipped: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    ignored: int = 0
    commits: int = 0
    retried: int = 0  # batches imported again after their commit conflicted with another's
    unknown_accounts: set[str] = field(default_factory=set)

    def summary(self) -> str:
        commits = f"{self.commits} commit" + ("s" if self.commits != 1 else "")
        text = (f"Imported {self.imported} files into repository {self.repository} ({self.kind},"
                f" in {commits}); skipped {self.skipped} already stored; refused"
                f" {len(self.refused)}; ignored {self.ignored} files that are no distributions.")
        if self.retried:
            text += (f" {self.retried} batches were imported again after a conflict with"
                     " another writer's commit.")
        if self.unknown_accounts:
            text += (" Uploaders and owners kept by name without an account here: "
                     f"{', '.join(sorted(self.unknown_accounts))} (add them with 'user add').")
        return text


def import_directory(root: Root, directory: Path, *, repository: str, uploader: str,
                     tmp_dir: str | None, max_size: int, progress: Progress = no_progress,
                     batch_files: int = BATCH_FILES, batch_bytes: int = BATCH_BYTES) -> Outcome:
    """Import every distribution under ``directory`` into ``repository``, committing in
    batches; the last batch is committed too, whatever was refused."""
    if not directory.is_dir():
        raise ImportFailed(f"No directory {directory}.")
    importer = Importer(root, repositories.get_repository(root, repository), uploader,
                        read_catalog(directory), directory, tmp_dir, max_size)
    candidates = importer.find()
    bar = progress(desc="import", total=len(candidates), unit="file")
    try:
        for batch in batches(directory, candidates, batch_files, batch_bytes):
            importer.run_batch(batch)
            bar.update(len(batch))
    finally:
        bar.close()
    return importer.outcome


def batches(directory: Path, paths: list[str], most: int, most_bytes: int):
    """``paths`` in runs of at most ``most`` files and ``most_bytes`` bytes (at least one)."""
    batch, size = [], 0
    for path in paths:
        try:
            length = (directory / path).stat().st_size
        except OSError:
            length = 0
        if batch and (len(batch) >= most or size + length > most_bytes):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += length
    if batch:
        yield batch


class Importer:
    """One import's context: where files go, as whom, and what the catalog recorded."""

    def __init__(self, root: Root, repository: Repository, uploader: str, catalog: Catalog,
                 directory: Path, tmp_dir: str | None, max_size: int) -> None:
        self.root, self.repository, self.uploader = root, repository, uploader
        self.catalog, self.directory = catalog, directory
        self.tmp_dir, self.max_size = tmp_dir, max_size
        self.principals = uploader_principals(root, repository, uploader)
        self.outcome = Outcome(repository.__name__, catalog.kind)
        self._received: list = []
        self._created: set[str] = set()  # the projects this import made
        self.actor = events.acting(root)  # who runs the import: each batch's uploads are theirs

    def find(self) -> list[str]:
        """The distributions under the directory and in the catalog, by relative path; the
        others counted as ignored (or refused, for kinds of distribution not hosted here)."""
        found, unreadable = set(), []
        sidecars = {p + PROVENANCE_SUFFIX for p, r in self.catalog.files.items()
                    if r.provenance_sha256}
        for path in walk(self.directory, unreadable):
            lower = path.lower()
            if path in (MANIFEST, DATAINDEX) or path in sidecars:
                continue
            if path in self.catalog.ignored:
                self.outcome.ignored += 1
            elif lower.endswith(DISTRIBUTIONS):
                found.add(path)
            elif lower.endswith(OTHER_KINDS):
                self.outcome.refused.append((path, "not a wheel or an sdist (.whl, .tar.gz,"
                                             " .zip): localshop hosts no other kind"))
            else:
                self.outcome.ignored += 1
        for error in unreadable:
            where = Path(error.filename).relative_to(self.directory).as_posix()
            self.outcome.refused.append((where, f"cannot be read: {error.strerror or error}"))
        for path in sorted(set(self.catalog.files) - found):
            self.outcome.refused.append((path, "listed in the catalog, but not in the directory"))
        return sorted(found)

    def run_batch(self, batch: list[str]) -> None:
        """Import ``batch`` and commit it; again (``ATTEMPTS``) when another commit conflicted."""
        tm = self.root._p_jar.transaction_manager
        for _attempt in range(ATTEMPTS):
            events.act(tm, self.actor)  # a transaction of its own: said again
            before = (self.outcome.imported, self.outcome.skipped, len(self.outcome.refused))
            try:
                for path in batch:
                    self.import_file(path)
                tm.commit()
                if self.outcome.imported > before[0]:
                    self.outcome.commits += 1
                return
            except ConflictError:
                tm.abort()
                self._undo_counts(before)
                self.outcome.retried += 1
            except (_DiskFull, OSError) as e:
                tm.abort()
                if not isinstance(e, _DiskFull) and not is_disk_full(e):
                    raise
                self._undo_counts(before)
                raise ImportFailed(f"Stopped: the disk is full; the batch under way was not"
                                   f" stored. {self.outcome.summary()} Run the import again"
                                   " once there is room.") from None
            except BaseException:
                tm.abort()
                raise
            finally:
                self._release()
        raise ImportFailed(f"Stopped: {ATTEMPTS} commits of one batch conflicted with other"
                           f" writers. {self.outcome.summary()} Run the import again.")

    def _undo_counts(self, before: tuple[int, int, int]) -> None:
        self.outcome.imported, self.outcome.skipped, refused = before
        del self.outcome.refused[refused:]

    def _release(self) -> None:
        for received in self._received:
            received.release()
        self._received.clear()
        self.root._p_jar.cacheGC()

    def import_file(self, path: str) -> None:
        """Publish one file, as an upload; a refusal is noted, a full disk stops the import."""
        recorded = self.catalog.files.get(path, Recorded())
        try:
            form = form_from_file(str(self.directory / path), os.path.basename(path),
                                  self.tmp_dir, self.max_size, recorded.sha256)
            self._received.append(form.content)
            provenance = self.provenance(path, recorded, form.digests["sha256"])
            key = names.normalize(form.name) if names.is_valid_name(form.name) else None
            package = self.repository.get(key) if key else None
            was_hosted = package is not None and package.hosted
            closed_ok = self.closed_ok(key, package)
            result = publish(self.repository, form, self.uploader, self.may_release,
                             closed_ok=closed_ok)
        except UploadError as e:
            if e.status == 507:
                raise _DiskFull(path) from None
            self.outcome.refused.append((path, e.message))
            return
        except OSError as e:
            if is_disk_full(e):
                raise _DiskFull(path) from None
            self.outcome.refused.append((path, f"cannot be read: {e.strerror or e}"))
            return
        if not result.created:
            self.outcome.skipped += 1
            return
        self.outcome.imported += 1
        created = None if was_hosted else result.file.__parent__.__parent__  # its package
        if created is not None:
            self._created.add(created.__name__)
        self.restore(result.file, recorded, created, provenance)

    def closed_ok(self, key: str | None, package: Package | None) -> bool:
        """Whether files go into a project the export records archived or quarantined: one
        this import makes (its status is set with its first file), or one whose status here
        is that already (an import run again); UploadError for one whose status here is
        another: its files are not let in under a status the export does not record."""
        recorded = self.catalog.statuses.get(key, ("active", ""))[0] if key else "active"
        if recorded not in status.CLOSED:
            return False
        if package is None or not package.hosted or key in self._created or \
                package.status == recorded:
            return True
        raise UploadError(f"the export records project {package.name} {recorded}, and here it "
                          f"is {package.status}: its files are not imported into it (set its "
                          f"status first: localshop project status {self.repository.__name__} "
                          f"{key} {recorded}).")

    def provenance(self, path: str, recorded: Recorded, sha256: str) -> tuple | None:
        """The provenance object the catalog records beside ``path`` and what it says of its
        signers, once its size, sha256 and attestations hold; UploadError saying which not."""
        if recorded.provenance_sha256 is None:
            return None
        where = path + PROVENANCE_SUFFIX
        data = read_sidecar(self.directory, where, attestations.PROVENANCE_LIMIT)
        digest = hashlib.sha256(data).hexdigest()
        if digest != recorded.provenance_sha256 or recorded.provenance_size not in (None, len(data)):
            raise UploadError(f"its provenance {where} ({len(data)} bytes) hashes to sha256"
                              f" {digest}, not the {recorded.provenance_sha256} {MANIFEST}"
                              " records: refused. Export the project again.")
        try:
            signers = attestations.check_provenance(data, os.path.basename(path), sha256)
        except attestations.AttestationRefused as e:
            raise UploadError(f"its provenance {where} is refused: {e.message.rstrip('.')}.") from None
        return data, signers

    def may_release(self, package: Package) -> bool:
        """The upload's rule: the project's ACL (its owners, repository owners, admins)."""
        return bool(ACLHelper().permits(package, self.principals, Permission.RELEASE))

    def restore(self, file: ReleaseFile, recorded: Recorded, created: Package | None,
                provenance: tuple | None = None) -> None:
        """What the catalog recorded, on a file just stored (and on its project, if new)."""
        if recorded.upload_time is not None:
            file.upload_time = recorded.upload_time
            release = file.__parent__
            release.created = min(release.created, recorded.upload_time)
            release.__parent__.created = min(release.__parent__.created, recorded.upload_time)
        if recorded.uploader:
            file.uploader = recorded.uploader
            self._note_account(recorded.uploader)
        if recorded.yanked:
            repositories.yank(file, recorded.yanked_reason)
        if provenance is not None:
            attestations.keep(file, *provenance)
        if created is not None:
            self._restore_project(created)

    def _restore_project(self, package: Package) -> None:
        key = package.__name__
        if key in self.catalog.names:
            package.name = self.catalog.names[key]
        owners = self.catalog.owners.get(key)
        if owners:
            package.owners.clear()
            package.owners.update(owners)
            for owner in owners:
                self._note_account(owner)
        recorded = self.catalog.statuses.get(key, ("active", ""))
        if recorded != ("active", ""):
            status.set_status(package, *recorded)

    def _note_account(self, name: str) -> None:
        if not isinstance(self.root.users.get(name), User):
            self.outcome.unknown_accounts.add(name)


def uploader_principals(root: Root, repository: Repository, name: str) -> tuple[str, ...]:
    """The principals of the account the import uploads as, once it may upload here."""
    user = root.users.get(name)
    if not isinstance(user, User):
        raise ImportFailed(f"No user {name!r}: import as an existing account (--uploader NAME;"
                           " the default is admin), or add it first with 'user add'.")
    if not user.active:
        raise ImportFailed(f"User {name!r} is deactivated: import as an active account.")
    principals = identity_for(name, user).principals
    if not ACLHelper().permits(repository, principals, Permission.UPLOAD):
        raise ImportFailed(
            f"{name} may not upload to repository {repository.__name__}: import as an admin,"
            f" or give them a role: repository set {repository.__name__} --role user:{name}=uploader")
    return principals


def read_sidecar(directory: Path, relpath: str, limit: int) -> bytes:
    """The bytes of the regular file ``relpath`` beside a distribution, at most ``limit``;
    UploadError when it is missing, leads outside ``directory`` or is larger."""
    root = os.path.realpath(directory)
    real = os.path.realpath(os.path.join(root, relpath))
    if os.path.commonpath([root, real]) != root:
        raise UploadError(f"its provenance {relpath} leads outside {directory} (a symbolic"
                          " link): refused.")
    if not os.path.isfile(real):
        raise UploadError(f"its provenance {relpath}, which {MANIFEST} lists, is missing.")
    with open(real, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise UploadError(f"its provenance {relpath} is too large: more than {limit} bytes"
                          " (a provenance object is a few KiB): refused.")
    return data


def walk(directory: Path, errors: list[OSError]):
    """Every regular file below ``directory`` by relative POSIX path, sorted; hidden files and
    directories (``.git``, ``.DS_Store``) and symbolic links to directories are not entered.
    A directory that cannot be read is added to ``errors``."""
    for top, dirs, files in os.walk(directory, onerror=errors.append):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(top, name)
            if not name.startswith(".") and os.path.isfile(path):
                yield Path(path).relative_to(directory).as_posix()
