"""A hosted project's PEP 792 status, set by its owners or an admin (``project status``).

``active`` (the default), ``archived`` (no more uploads; its files still offered),
``quarantined`` (no uploads, no files offered), ``deprecated`` (as active, and said).
What each status means for pages and files is decided in ``shop.model.offers``; a mirrored
project carries upstream's status instead, and a project blocked as a whole is quarantined.
"""
from __future__ import annotations

from shop.model import events
from shop.model.offers import STATUSES
from shop.model.tree import Package

REASON_LIMIT = 500
# Statuses that refuse uploads (PEP 792: the index MUST NOT allow them).
CLOSED = ("archived", "quarantined")


class StatusError(ValueError):
    """A status that cannot be set; the message says why."""


def set_status(package: Package, status: str, reason: str = "") -> bool:
    """Set the project's status (and its reason, shown to clients); True if it changed.
    Recorded (the audit log, the repository's webhooks) and the pages rendered anew."""
    status = (status or "").strip().lower()
    if status not in STATUSES:
        raise StatusError(f"Invalid project status {status[:50]!r}: use {', '.join(STATUSES)}.")
    if not package.hosted:
        raise StatusError(f"{package.name} is mirrored from upstream: it carries upstream's "
                          "status. Block it (localshop block add) to keep it off machines.")
    reason = " ".join((reason or "").split())[:REASON_LIMIT]
    if (package.status, package.status_reason) == (status, reason):
        return False
    package.status, package.status_reason = status, reason
    package.changed()
    events.record(package, events.PROJECT_STATUS, repository=package.__parent__.__name__,
                  project=package.name, status=status, reason=reason)
    return True


def refuses_uploads(package: Package | None) -> str | None:
    """Why an upload to ``package`` is refused by its status (None: it is not)."""
    if package is None or not package.hosted or package.status not in CLOSED:
        return None
    reason = f" ({package.status_reason})" if package.status_reason else ""
    return (f"Project {package.name} is {package.status}{reason}: it takes no new uploads "
            "(PEP 792). An owner or admin can set it active again: localshop project status "
            f"{package.__parent__.__name__} {package.__name__} active.")
