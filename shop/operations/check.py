"""Checking a whole database: every record loads and every reference resolves, every stored
file's blob holds the bytes its record says (size and sha256), and each repository's counts
of stored files and bytes are what its files add up to.

The check only reads, so it runs beside a running server (an embedded FileStorage opened
read-only, or ZEO). Each problem it finds knows its repair, if it has one: a mirrored file's
broken bytes are forgotten (fetched again from upstream on demand), a wrong count is
corrected; a hosted file's bytes cannot be fetched again, and are only reported.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from ZODB.broken import Broken
from ZODB.POSException import POSKeyError
from ZODB.utils import oid_repr

from shop.model.root import Root
from shop.model.tree import Release, ReleaseFile, Repository, repository_of, stored_in
from shop.operations.records import Record, count, reachable, snapshot

CHUNK = 1024 * 1024  # blobs are read and hashed a chunk at a time, never whole
CACHE_EVERY = 1000  # objects loaded between trimming the connection's cache


class Bar(Protocol):
    def update(self, n: int = 1) -> object: ...
    def close(self) -> None: ...


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


# progress(description, total or None, unit) -> a bar (tqdm's signature, by keyword).
Progress = Callable[..., Bar]


def no_progress(desc: str, total: int | None, unit: str) -> Bar:
    return _NoBar()


@dataclass(frozen=True)
class Problem:
    """One thing wrong: where (repository/project/filename, a repository, or an object), what,
    and the repair, if there is one (run in a transaction that writes)."""

    where: str
    what: str
    repair: Callable[[], str] | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class Report:
    """What a check read and what it found."""

    objects: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        found = f"{len(self.problems)} problem(s)" if self.problems else "all well"
        return (f"check: {self.objects} objects, {self.files} stored files "
                f"({self.bytes / 1e6:.1f} MB read) in {self.seconds:.1f} s: {found}")


def check_database(root: Root, progress: Progress = no_progress) -> Report:
    """Check the database ``root`` was loaded from, as its connection sees it."""
    started = time.monotonic()
    report = Report()
    check_objects(root._p_jar, report, progress)
    check_tree(root, report, progress)
    report.seconds = time.monotonic() - started
    return report


def check_objects(conn, report: Report, progress: Progress = no_progress) -> None:
    """Every record reachable from the root is there and loads (its class imports)."""
    storage = snapshot(conn)
    bar = progress(desc="objects", total=count(storage), unit="obj")
    try:
        for record in reachable(storage):
            bar.update(1)
            what = _record_problem(conn, record)
            if what:
                report.problems.append(Problem(record.name, what))
            report.objects += record.data is not None
            if report.objects % CACHE_EVERY == 0:
                conn.cacheGC()  # a big database does not fit in memory at once
    finally:
        bar.close()


def _record_problem(conn, record: Record) -> str | None:
    if record.data is None:
        return f"missing, yet {oid_repr(record.referrer)} refers to it (a dangling reference)"
    if record.is_blob:  # its state is its file: check_tree reads it, naming the file it holds
        return None
    try:
        obj = conn.get(record.oid)
        obj._p_activate()
    except Exception as e:  # whatever loading raises is what is wrong with the record
        return f"does not load: {type(e).__name__}: {e}"
    if isinstance(obj, Broken):
        return f"its class {type(obj).__module__}.{type(obj).__name__} cannot be imported"
    return None


def check_tree(root: Root, report: Report, progress: Progress = no_progress) -> None:
    """Every stored file's bytes and core metadata, and every repository's counts."""
    repositories = list(root.repositories.items())
    bar = progress(desc="projects", total=sum(len(r) for _, r in repositories), unit="project")
    try:
        for name, repository in repositories:
            files = size = 0
            for project, package in repository.items():
                for release in package.values():
                    f, s = _check_release(f"{name}/{project}", release, report)
                    files, size = files + f, size + s
                bar.update(1)
                root._p_jar.cacheGC()
            _check_counts(name, repository, files, size, report)
    finally:
        bar.close()


def _check_release(where: str, release: Release, report: Report) -> tuple[int, int]:
    """Check a release's files; the stored files and bytes they count (as the tree counts)."""
    files = size = 0
    for filename, file in release.items():
        try:
            _check_file(f"{where}/{filename}", file, report)
            f, s = stored_in(file)
        except POSKeyError as e:  # a dangling reference, reported by check_objects too
            report.problems.append(Problem(f"{where}/{filename}", f"cannot be read: {e}"))
            continue
        files, size = files + f, size + s
    return files, size


def _check_file(where: str, file: ReleaseFile, report: Report) -> None:
    if file.blob is not None:
        report.files += 1
        what = _blob_problem(file.blob, file.sha256, file.size, report)
        if what:
            report.problems.append(_file_problem(where, file, what, forget_bytes))
    if file.core_metadata is not None:
        what = _blob_problem(file.core_metadata, file.core_metadata_sha256,
                             file.core_metadata_size, report)
        if what:
            report.problems.append(
                _file_problem(where, file, "core metadata: " + what, forget_core_metadata))


def _file_problem(where: str, file: ReleaseFile, what: str,
                  forget: Callable[[ReleaseFile], str]) -> Problem:
    if file.origin == "mirror":
        return Problem(where, what + " (mirrored: --repair forgets it, to be fetched again)",
                       lambda: forget(file))
    return Problem(where, what + " (hosted: cannot be fetched again; restore it from a backup"
                   " or upload it again)")


def _blob_problem(blob, sha256: str | None, size: int | None, report: Report) -> str | None:
    """What is wrong with a committed blob's bytes, streamed and hashed; None if nothing."""
    digest, length = hashlib.sha256(), 0
    try:
        with blob.open("r") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                length += len(chunk)
    except POSKeyError:
        return "its blob file is missing"
    except OSError as e:
        return f"its blob file cannot be read ({e})"
    finally:
        report.bytes += length
    if size is not None and length != size:
        return f"its blob holds {length} bytes, {size} recorded"
    if sha256 is not None and digest.hexdigest() != sha256:
        return f"its blob's sha256 is {digest.hexdigest()}, {sha256} recorded"
    return None


def _check_counts(name: str, repository: Repository, files: int, size: int,
                  report: Report) -> None:
    counted = getattr(repository, "stored_files", None), getattr(repository, "stored_bytes", None)
    if None in counted:  # counted at the next start (ensure_stored_counts)
        return
    recorded = counted[0](), counted[1]()
    if recorded == (files, size):
        return

    def repair() -> str:
        repository.count_stored(files - recorded[0], size - recorded[1])
        return f"{name}: counts corrected"

    report.problems.append(Problem(
        name, f"counts {recorded[0]} stored files of {recorded[1]} bytes; its files add up to"
              f" {files} of {size}", repair))


def forget_bytes(file: ReleaseFile) -> str:
    """Let go of a mirrored file's stored bytes, counted as ``ReleaseFile.store`` counts them
    (in reverse): the listing stays, and the next download fetches them again."""
    files, size = stored_in(file)
    repository = repository_of(file)
    file.blob = None
    if repository is not None and files:
        repository.count_stored(-files, -size)
    return "forgotten, to be fetched again from upstream"


def forget_core_metadata(file: ReleaseFile) -> str:
    """Let go of a mirrored wheel's core metadata: upstream's next listing says its hash again
    (if upstream has one) and it is fetched on demand; the page shows the change."""
    file.core_metadata = None
    file.core_metadata_sha256 = file.core_metadata_size = None
    if file.__parent__ is not None:
        file.__parent__.changed()
    return "core metadata forgotten, to be fetched again from upstream"


def repair(report: Report) -> tuple[list[str], list[Problem]]:
    """Repair what can be (in the caller's transaction); what was done, and what is left."""
    done, left = [], []
    for problem in report.problems:
        if problem.repair is None:
            left.append(problem)
        else:
            done.append(f"{problem.where}: {problem.repair()}")
    return done, left
