"""Resources that traversal yields but the database does not store.

A project the mirror may know before it is stored, another spelling of a version, a
wheel's ``.metadata`` file, a file's ``.provenance``: each stands in for something in (or
about to be in) the tree, so that URLs for them go through the views and permission checks
of what they stand for.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from zope.interface import Interface, implementer

if TYPE_CHECKING:
    from shop.model.tree import Release, ReleaseFile, Repository


class IProject(Interface):
    """What a project page shows: a stored ``Package``, or an ``UpstreamProject`` not stored yet."""


@implementer(IProject)
class UpstreamProject:
    """A project this repository does not store yet but whose upstream may know it.

    Transient: traversal yields it so that the project page and ``/json`` of a project not
    mirrored yet go through the same views and permission checks as a stored one; the view's
    look-up stores it. Nothing lies below it until then.
    """

    def __init__(self, name: str, repository: Repository) -> None:
        self.__name__, self.__parent__ = name, repository

    def __getitem__(self, key: str):
        raise KeyError(key)


class CoreMetadata:
    """``<file>.metadata``: a transient resource for the METADATA of a wheel (PEP 658)."""

    def __init__(self, file: ReleaseFile) -> None:
        self.file = file
        self.__name__ = file.filename + ".metadata"
        self.__parent__ = file.__parent__


class Provenance:
    """``<file>.provenance``: a transient resource for a file's provenance object (PEP 740)."""

    def __init__(self, file: ReleaseFile) -> None:
        self.file = file
        self.__name__ = file.filename + ".provenance"
        self.__parent__ = file.__parent__


def beside(release: Release, key: str) -> CoreMetadata | Provenance:
    """The file beside one of ``release``'s named ``key``: a wheel's METADATA (``.metadata``,
    if it has one), its provenance object (``.provenance``); KeyError otherwise."""
    filename, dot, suffix = key.rpartition(".")
    file = release.file(filename) if dot and suffix in ("metadata", "provenance") else None
    if file is not None and suffix == "metadata" and file.core_metadata_sha256:
        return CoreMetadata(file)
    if file is not None and suffix == "provenance":  # its view says why, if there is none
        return Provenance(file)
    raise KeyError(key)


class VersionSpelling:
    """A release's version as spelled otherwise (``1.0`` for ``1``): transient.

    Its JSON is the release's, as PyPI's JSON API answers any spelling; every other URL under
    it is redirected to the canonical one (the not-found view's 301).
    """

    def __init__(self, spelled: str, release: Release) -> None:
        self.__name__, self.__parent__ = spelled, release.__parent__
        self.release = release

    def __getitem__(self, key: str):
        raise KeyError(key)
