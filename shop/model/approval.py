"""Approval of new upstream projects: who asked for them, and an admin's answer.

A repository that approves new projects (``Repository.approve_new_projects``) serves an
upstream project it never served before only once someone who may change its settings
approves it (``shop.model.offers.awaiting_approval``). Until then the project waits in
``Repository.pending_projects`` (normalized name -> ``Request``: who asked first and last,
from where, when, how many times), and the mirror stores its listing there (``hold``).
Approving takes it out: it is served from then on. Denying blocks it in that repository
(``shop.model.blocks``, source ``denied``) and takes it out. Both are recorded in the audit
log. The command line (``localshop project approve|deny|pending``) and the admin page
``/repo/R/+pending`` use these functions alike.
"""
from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from shop.model import events, names
from shop.model.blocks import BlockError, blocklist_of
from shop.model.folders import utcnow
from shop.model.offers import blocked_as_a_whole
from shop.model.repositories import RepositoryError
from shop.model.tree import Package, Repository

log = logging.getLogger(__name__)

LIMIT = 10_000  # pending requests per repository; past it new ones are neither kept nor stored
NOBODY = ""  # who asked for a project the mirror stored before any client asked (a prefetch)


class ApprovalError(RepositoryError):
    """An approval or denial that cannot be made; the message says why."""


class Request(Persistent):
    """A project awaiting approval: its name as upstream spells it, who asked for it first and
    last (a user name or ``anonymous``, and the client's address), when, and how often."""

    def __init__(self, display: str, when: datetime.datetime) -> None:
        self.display = display
        self.first_at = self.last_at = when
        self.first_by = self.last_by = NOBODY
        self.first_from = self.last_from = ""
        self.times = 0

    def asked(self, user: str, address: str, when: datetime.datetime, times: int = 1) -> None:
        if not self.times:
            self.first_at, self.first_by, self.first_from = when, user, address
        self.last_at, self.last_by, self.last_from = when, user, address
        self.times += times


@dataclass(frozen=True)
class Pending:
    """What the pending page and ``project pending`` show of one request."""

    name: str
    request: Request
    latest: str | None  # upstream's newest version, when its listing is stored here
    files: int | None  # ... and how many files it lists


def _pending(repository: Repository) -> OOBTree:
    if repository.pending_projects is None:
        repository.pending_projects = OOBTree()
    if repository.pending_count is None:  # (counted once, where the tree came without it)
        repository.pending_count = Length(len(repository.pending_projects))
    return repository.pending_projects


def _new(repository: Repository, name: str, display: str,
         when: datetime.datetime) -> Request | None:
    """A new pending request, unless the repository holds ``LIMIT`` of them already."""
    pending = _pending(repository)
    if repository.pending_count() >= LIMIT:
        log.warning("repository %s: %d projects await approval already; %s is not recorded "
                    "(approve or deny some on /repo/%s/+pending)", repository.__name__, LIMIT,
                    name, repository.__name__)
        return None
    request = pending[name] = Request(display, when)
    repository.pending_count.change(1)
    return request


def denied(repository: Repository, name: str) -> bool:
    """Whether ``name`` was denied in ``repository`` (a block of the whole project there, of
    source "denied")."""
    blocklist = blocklist_of(repository)
    return blocklist is not None and any(
        b.whole_project and b.source == "denied" and b.repository == repository.__name__
        for b in blocklist.for_project(name, repository.__name__))


def hold(repository: Repository, name: str, display: str) -> bool:
    """Before the mirror stores a project new to ``repository``: put it in pending when the
    repository approves new projects (not when it is denied). False when there is no room
    for it: then it is not stored (and not served)."""
    if not repository.approve_new_projects or denied(repository, name):
        return True  # (blocked otherwise, it waits too: a block removed later serves nothing)
    pending = _pending(repository)
    return name in pending or _new(repository, name, display, utcnow()) is not None


def request_approval(repository: Repository, name: str, display: str, user: str,
                     address: str, *, times: int = 1,
                     when: datetime.datetime | None = None) -> Request | None:
    """Note that a client asked for ``name``, a project upstream knows, awaiting approval;
    None when it does not await it (any more): approved, hosted, denied, or the repository no
    longer approves new projects; or when there is no room (``LIMIT``)."""
    if not repository.approve_new_projects or blocked_as_a_whole(repository, name):
        return None
    pending, stored = _pending(repository), repository.get(name)
    request = pending.get(name)
    if request is None:
        if stored is not None:  # approved (or served before approvals began)
            return None
        request = _new(repository, name, display, when or utcnow())
        if request is None:
            return None
    request.asked(user, address, when or utcnow(), times)
    return request


def _waiting(repository: Repository, project: str) -> tuple[str, Request]:
    """The normalized name and the request of a project awaiting approval; ApprovalError
    saying why it does not await it."""
    try:
        name = names.normalize(names.valid_name(project.strip()))
    except names.InvalidName as e:
        raise ApprovalError(str(e)) from None
    pending = repository.pending_projects
    request = pending.get(name) if pending is not None else None
    if request is not None:
        return name, request
    where = repository.__name__
    stored = repository.get(name)
    if stored is not None and stored.hosted:
        raise ApprovalError(f"{stored.name} is hosted in repository {where}: hosted projects "
                            "never await approval.")
    if stored is not None:
        raise ApprovalError(f"{stored.name} does not await approval in repository {where}: "
                            "it is served already.")
    raise ApprovalError(f"Nobody has asked for {name} in repository {where}: a project is "
                        f"listed on /repo/{where}/+pending (and localshop project pending "
                        f"{where}) once a client asks for it; approve it then.")


def _take_out(repository: Repository, name: str) -> Request:
    request = repository.pending_projects.pop(name)
    _pending(repository)  # the count, where the tree came without one
    repository.pending_count.change(-1)
    repository.changed()  # the root page lists it from now on
    return request


def approve(repository: Repository, project: str) -> Request:
    """Approve a pending project: served from now on, in every process (its pages and the
    root page are rendered anew); recorded."""
    name, request = _waiting(repository, project)
    _take_out(repository, name)
    stored = repository.get(name)
    if stored is None:  # asked for, its listing not stored yet: stored, approved, when asked
        stored = repository.add(name, Package(request.display))
    stored.changed()
    events.record(repository, events.APPROVAL, repository=repository.__name__,
                  project=request.display, action="approved", **_asked(request))
    return request


def deny(repository: Repository, project: str, reason: str):
    """Deny a pending project: blocked in this repository (clients are told ``reason``) and
    taken out of pending; recorded as a block and a denial. Returns the block."""
    name, request = _waiting(repository, project)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApprovalError("Give a reason (--reason TEXT): clients are told it.")
    actor = events.acting(repository)
    by = (actor() if callable(actor) else actor).user
    try:
        block, _ = blocklist_of(repository).add(name, reason, repository=repository.__name__,
                                                by=by, source="denied")
    except BlockError as e:
        raise ApprovalError(str(e)) from None
    _take_out(repository, name)
    stored = repository.get(name)
    if stored is not None:
        stored.changed()
    where = repository.__name__
    events.record(repository, events.BLOCK, repository=where, project=request.display,
                  action="added", spec=block.spec, reason=block.reason, source=block.source)
    events.record(repository, events.APPROVAL, repository=where, project=request.display,
                  action="denied", reason=block.reason, **_asked(request))
    return block


def _asked(request: Request) -> dict[str, str]:
    """What the audit log says of a request an admin answered."""
    return {"asked": str(request.times),
            "first_asked_by": f"{request.first_by or 'nobody'} {request.first_from}".strip()}


def pending(repository: Repository, limit: int | None = None) -> list[Pending]:
    """The projects awaiting approval, the most recently asked first (at most ``limit``);
    hosted ones (uploaded here since) never await approval and are left out."""
    found = []
    for name, request in (repository.pending_projects or {}).items():
        stored = repository.get(name)
        if stored is not None and stored.hosted:
            continue
        found.append((name, request, stored))
    found.sort(key=lambda item: item[1].last_at, reverse=True)
    return [_shown(name, request, stored) for name, request, stored in found[:limit]]


def _shown(name: str, request: Request, stored: Package | None) -> Pending:
    listing = stored.listing if stored is not None else None
    if listing is None:
        return Pending(name, request, None, None)
    keys = stored.version_keys()
    latest = stored.release(keys[0]).version if keys else None
    return Pending(name, request, latest, len(listing.entries))


def pending_count(repository: Repository) -> int:
    """How many projects await approval in ``repository``."""
    counter = repository.pending_count
    if counter is not None:
        return counter()
    return len(repository.pending_projects or ())
