"""``localshop repository hook add|list|remove``: a repository's webhooks."""
from __future__ import annotations

import argparse
import json

from shop.model import repositories, webhooks
from shop.model.root import Root
from shop.services import Services


def hook_add(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = repositories.get_repository(root, args.repository)
    hook = repositories.add_webhook(repository, args.url, args.secret)
    return (f"Added hook {hook.__name__} to repository {repository.__name__}: {hook.url}\n"
            f"Secret (shown once; the receiver checks the {webhooks.SIGNATURE_HEADER} header"
            f" with it): {hook.secret}")


def hook_list(root: Root, args: argparse.Namespace, services: Services) -> str:
    hooks = webhooks.hooks_of(repositories.get_repository(root, args.repository))
    if args.json:
        return json.dumps([hook.state() for hook in hooks], indent=2)
    return "\n".join(_line(hook) for hook in hooks)


def _line(hook: webhooks.Hook) -> str:
    last = hook.history[0] if hook.history else None
    said = "never tried" if last is None else (
        f"last {last.state} {webhooks.iso(last.time)}"
        f" ({last.status if last.status is not None else last.error})")
    dropped = f"  dropped {hook.dropped()}" if hook.dropped() else ""
    return f"{hook.__name__}  {hook.url}  pending {hook.pending()}  {said}{dropped}"


def hook_remove(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = repositories.get_repository(root, args.repository)
    hook = repositories.remove_webhook(root, repository, args.id)
    return f"Removed hook {hook.__name__} ({hook.url}) from repository {repository.__name__}"


def add_hook_parser(repository_actions) -> None:
    """``repository hook add|list|remove``, under the ``repository`` command."""
    hook = repository_actions.add_parser("hook", help="webhooks: URLs told of uploads, yanks,"
                                         " unyanks and deletes")
    hook = hook.add_subparsers(dest="hook_action", required=True)
    add = hook.add_parser("add", help="add a hook; prints its id and its secret (once)")
    add.add_argument("repository")
    add.add_argument("url", help="the http(s) URL that gets a signed JSON POST per event")
    add.add_argument("--secret", metavar="S", help="the signing secret (16 to 200 characters);"
                     " made at random when not given")
    add.set_defaults(func=hook_add)
    listing = hook.add_parser("list", help="a repository's hooks and their deliveries (no secrets)")
    listing.add_argument("repository")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(func=hook_list, writes=False)
    remove = hook.add_parser("remove", help="remove a hook and its deliveries not yet made")
    remove.add_argument("repository")
    remove.add_argument("id")
    remove.set_defaults(func=hook_remove)
