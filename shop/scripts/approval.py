"""``localshop project approve|deny|pending``: upstream projects awaiting approval."""
from __future__ import annotations

import argparse
import json

from shop.model import approval, repositories
from shop.model.root import Root
from shop.pages.simple import iso_time
from shop.services import Services

WHEN_BUSY = (" (the running server holds the database: approve or deny on the repository's "
             "page /repo/REPOSITORY/+pending, or stop the server first)")


def project_approve(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = repositories.get_repository(root, args.repository)
    request = approval.approve(repository, args.project)
    return f"Approved {request.display} in repository {repository.__name__}: served from now on"


def project_deny(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = repositories.get_repository(root, args.repository)
    block = approval.deny(repository, args.project, args.reason)
    return (f"Denied {block.project} in repository {repository.__name__}: blocked"
            f" ({block.reason})")


def project_pending(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = repositories.get_repository(root, args.repository)
    found = approval.pending(repository)
    if args.json:
        return "\n".join(json.dumps(_state(p)) for p in found)
    return "\n".join(_line(p) for p in found)


def _state(p: approval.Pending) -> dict:
    r = p.request
    return {"name": p.name, "display": r.display, "times": r.times,
            "first_asked": iso_time(r.first_at), "first_by": r.first_by,
            "first_from": r.first_from, "last_asked": iso_time(r.last_at),
            "last_by": r.last_by, "last_from": r.last_from,
            "latest_version": p.latest, "files": p.files}


def _line(p: approval.Pending) -> str:
    r = p.request
    asked = (f"asked {r.times}x, first {r.first_at:%Y-%m-%d %H:%M} by {r.first_by} from "
             f"{r.first_from}, last {r.last_at:%Y-%m-%d %H:%M} by {r.last_by} from {r.last_from}"
             if r.times else "looked up ahead, nobody asked yet")
    upstream = f"  upstream {p.latest} ({p.files} files)" if p.files is not None else ""
    return f"{r.display}  {asked}{upstream}"


def add_approval_parsers(project_actions) -> None:
    """``project approve|deny|pending``, under the ``project`` command."""
    approve = project_actions.add_parser(
        "approve", help="serve an upstream project that awaits approval, from now on")
    deny = project_actions.add_parser(
        "deny", help="block an upstream project that awaits approval, in this repository")
    for sub in (approve, deny):
        sub.add_argument("repository")
        sub.add_argument("project")
    deny.add_argument("--reason", required=True, metavar="TEXT", help="what clients are told")
    approve.set_defaults(func=project_approve, when_busy=WHEN_BUSY)
    deny.set_defaults(func=project_deny, when_busy=WHEN_BUSY)
    listing = project_actions.add_parser(
        "pending", help="upstream projects awaiting approval, the most recently asked first")
    listing.add_argument("repository")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=project_pending, writes=False)
