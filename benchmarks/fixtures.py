"""The benchmark fixtures: wheels, hosted repositories of N projects, and an upstream tree.

Everything is generated once into ``benchmarks/work/fixtures/`` (gitignored) and reused by
later runs; a stamp file beside each part says which generator made it, so a change here
rebuilds it. Every server is loaded from the same files:

- ``dists/``: every wheel, built with ``tests/factories.make_wheel`` (real, installable):
  ``page-bench`` 1.0 ... 1.99 (the project page with 100 files), ``filler-00000`` ...
  (one small wheel each, to make up N projects), ``big-bench`` 1.0 (the 50 MB file to
  download), ``big-upload`` 1.0 (the 50 MB file to upload) and ``mirror-bench-01`` ...
  ``-20`` (what the loopback upstream serves).
- ``hosted-N/dist/``: hard links to the files of a repository of N projects (page-bench,
  big-bench and N-2 fillers): pypiserver's package directory, devpi's and localshop's source.
- ``hosted-N/static/``: the same repository as static PEP 503 HTML and PEP 691 JSON pages
  plus ``files/``, which nginx serves as the ceiling. Only the pages the scenarios ask for
  are written (the root page and the two benchmarked projects).
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.factories import Dist, make_wheel  # noqa: E402

MB = 1000**2  # throughput and file sizes are in decimal megabytes, as disks and networks count
WORK = Path(__file__).resolve().parent / "work"
FIXTURES = WORK / "fixtures"
GENERATOR = "2"  # bump when what is generated changes: every cached fixture is rebuilt

PAGE_PROJECT = "page-bench"
BIG_PROJECT = "big-bench"
UPLOAD_PROJECT = "big-upload"
MIRROR_PROJECTS = tuple(f"mirror-bench-{i:02d}" for i in range(1, 21))
MIRROR_WHEEL_PADDING = 100_000  # each mirrored wheel is about 100 kB


def big_wheel(size: int, name: str = BIG_PROJECT, version: str = "1.0") -> Dist:
    """A valid wheel of about ``size`` bytes, almost all of it an incompressible file."""
    overhead = len(make_wheel(name, version).data)
    return make_wheel(name, version, padding=max(size - overhead - 200, 0))


def canonical(name: str) -> str:
    """The PEP 503 form of a project name: its key in a simple index's URLs."""
    return canonicalize_name(name)


def many_versions(name: str, count: int) -> list[Dist]:
    """``count`` small wheels of one project: versions 1.0, 1.1 ... 1.<count-1>."""
    return [make_wheel(name, f"1.{i}") for i in range(count)]


def filler_name(i: int) -> str:
    return f"filler-{i:05d}"


# --- what a wheel file says about itself ---------------------------------------------------


@dataclass(frozen=True)
class WheelFile:
    """A wheel on disk, with what an index needs to list it."""

    path: Path
    project: str  # canonical name
    version: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return self.path.name

    @classmethod
    def of(cls, path: Path, sha256: str | None = None) -> "WheelFile":
        name, version = path.name.split("-")[:2]
        if sha256 is None:
            sha256 = file_sha256(path)
        return cls(path, canonical(name), version, sha256, path.stat().st_size)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --- the generated tree ----------------------------------------------------------------------


def _stamp_ok(directory: Path, key: str) -> bool:
    stamp = directory / ".stamp"
    return stamp.exists() and stamp.read_text() == key


def _set_stamp(directory: Path, key: str) -> None:
    (directory / ".stamp").write_text(key)


def _write_dist(directory: Path, dist: Dist, index: dict[str, str]) -> None:
    path = directory / dist.filename
    path.write_bytes(dist.data)
    index[dist.filename] = dist.sha256


def dists(max_projects: int, big_file_mb: int) -> dict[str, str]:
    """Build ``dists/`` (at least ``max_projects - 2`` fillers); return {filename: sha256}.

    The wheels are deterministic (fixed timestamps), so a filler made later is the same file.
    """
    directory = FIXTURES / "dists"
    key = f"{GENERATOR} big={big_file_mb}"
    index_file = directory / "index.json"
    if _stamp_ok(directory, key):
        index = json.loads(index_file.read_text())
    else:
        print(f"  generating wheels in {directory.relative_to(REPO)} ...", flush=True)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        index = {}
        for dist in many_versions(PAGE_PROJECT, 100):
            _write_dist(directory, dist, index)
        for name in (BIG_PROJECT, UPLOAD_PROJECT):
            _write_dist(directory, big_wheel(big_file_mb * MB, name), index)
        for name in MIRROR_PROJECTS:
            _write_dist(directory, make_wheel(name, "1.0", padding=MIRROR_WHEEL_PADDING), index)
    fillers = sum(1 for name in index if name.startswith("filler_"))
    if fillers < max_projects - 2:
        print(f"  generating {max_projects - 2 - fillers:,} filler wheels ...", flush=True)
        for i in range(fillers, max_projects - 2):
            _write_dist(directory, make_wheel(filler_name(i), "1.0"), index)
    index_file.write_text(json.dumps(index))
    _set_stamp(directory, key)
    return index


@dataclass(frozen=True)
class HostedFixture:
    """A repository of ``projects`` projects, as files and as a static tree."""

    projects: int
    root: Path
    files: tuple[WheelFile, ...]  # every file of the repository
    big_file_mb: int

    @property
    def dist_dir(self) -> Path:
        return self.root / "dist"

    @property
    def static_dir(self) -> Path:
        return self.root / "static"

    @property
    def key(self) -> str:
        """Changes whenever the files change: caches built from this fixture key on it."""
        return f"{GENERATOR} projects={self.projects} big={self.big_file_mb}"

    def project_files(self, project: str) -> list[WheelFile]:
        return [f for f in self.files if f.project == project]


def repository_files(projects: int, index: dict[str, str]) -> list[str]:
    """The filenames of a repository of ``projects`` projects."""
    names = [f for f in index if f.startswith("page_bench-")]
    names.append(next(f for f in index if f.startswith("big_bench-")))
    names += [f"{filler_name(i).replace('-', '_')}-1.0-py3-none-any.whl" for i in range(projects - 2)]
    return names


def hosted(projects: int, *, max_projects: int, big_file_mb: int) -> HostedFixture:
    """The repository of ``projects`` projects, generated if it is not there yet."""
    index = dists(max_projects, big_file_mb)
    source = FIXTURES / "dists"
    root = FIXTURES / f"hosted-{projects}"
    names = repository_files(projects, index)
    files = tuple(WheelFile.of(source / n, index[n]) for n in names)
    fixture = HostedFixture(projects, root, files, big_file_mb)
    if _stamp_ok(root, fixture.key):
        return HostedFixture(projects, root, tuple(WheelFile.of(root / "dist" / f.filename, f.sha256)
                                                   for f in files), big_file_mb)
    print(f"  generating {root.relative_to(REPO)} ...", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    (root / "dist").mkdir(parents=True)
    (root / "static" / "files").mkdir(parents=True)
    for f in files:
        os.link(f.path, root / "dist" / f.filename)
        os.link(f.path, root / "static" / "files" / f.filename)
    fixture = HostedFixture(projects, root, tuple(WheelFile.of(root / "dist" / f.filename, f.sha256)
                                                  for f in files), big_file_mb)
    write_static(fixture)
    _set_stamp(root, fixture.key)
    return fixture


def upload_wheel(big_file_mb: int, max_projects: int) -> Path:
    """The 50 MB wheel that scenario ``upload`` sends with twine (on no server beforehand)."""
    index = dists(max_projects, big_file_mb)
    return FIXTURES / "dists" / next(f for f in index if f.startswith("big_upload-"))


def mirror_files(big_file_mb: int, max_projects: int) -> list[WheelFile]:
    """What the loopback upstream serves: the 20 mirror projects, and the big wheel."""
    index = dists(max_projects, big_file_mb)
    names = [f for f in index if f.startswith(("mirror_bench_", "big_bench-"))]
    return [WheelFile.of(FIXTURES / "dists" / n, index[n]) for n in sorted(names)]


# --- static pages (nginx) --------------------------------------------------------------------


def project_html(project: str, files: list[WheelFile], prefix: str = "../../files/") -> str:
    links = "".join(
        f'    <a href="{prefix}{html.escape(f.filename)}#sha256={f.sha256}">{html.escape(f.filename)}</a><br>\n'
        for f in files
    )
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.1">\n'
        f"    <title>Links for {project}</title>\n  </head>\n  <body>\n"
        f"    <h1>Links for {project}</h1>\n{links}  </body>\n</html>\n"
    )


def project_json(project: str, files: list[WheelFile], prefix: str = "../../files/") -> str:
    return json.dumps({
        "meta": {"api-version": "1.1"},
        "name": project,
        "versions": list(dict.fromkeys(f.version for f in files)),
        "files": [
            {"filename": f.filename, "url": prefix + f.filename, "hashes": {"sha256": f.sha256},
             "requires-python": None, "size": f.size, "yanked": False, "core-metadata": False}
            for f in files
        ],
    }, separators=(",", ":"))


def root_html(projects: list[str]) -> str:
    links = "".join(f'    <a href="{p}/">{p}</a><br>\n' for p in projects)
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.1">\n'
        f"    <title>Simple index</title>\n  </head>\n  <body>\n{links}  </body>\n</html>\n"
    )


def root_json(projects: list[str]) -> str:
    return json.dumps({"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in projects]},
                      separators=(",", ":"))


def write_static(fixture: HostedFixture) -> None:
    """``simple/index.{html,json}`` and the benchmarked projects' pages, under static/."""
    simple = fixture.static_dir / "simple"
    simple.mkdir(parents=True, exist_ok=True)
    projects = sorted({f.project for f in fixture.files})
    (simple / "index.html").write_text(root_html(projects))
    (simple / "index.json").write_text(root_json(projects))
    for project in (PAGE_PROJECT, BIG_PROJECT):
        files = fixture.project_files(project)
        (simple / project).mkdir(exist_ok=True)
        (simple / project / "index.html").write_text(project_html(project, files))
        (simple / project / "index.json").write_text(project_json(project, files))
