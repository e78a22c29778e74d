"""``localshop user ...`` and ``localshop credential ...``: accounts and access keys."""
from __future__ import annotations

import argparse
import getpass
import json
import sys

from shop.access import accounts
from shop.model.root import Root
from shop.scripts.common import CommandError, parse_bool
from shop.services import Services


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Repeat password: "):
        raise CommandError("The passwords do not match.")
    return password


def _flags(**flags) -> str:
    on = [name for name, value in flags.items() if value]
    return f" ({', '.join(on)})" if on else ""


# --- users --------------------------------------------------------------------------------

def user_add(root: Root, args: argparse.Namespace, services: Services) -> str:
    accounts.add_user(root, args.name, _read_password(args), passwords=services.passwords,
                      admin=args.admin)
    return f"Added user {args.name}" + (" (admin)" if args.admin else "")


def user_passwd(root: Root, args: argparse.Namespace, services: Services) -> str:
    accounts.get_user(root, args.name)  # no password asked for a user that does not exist
    accounts.set_password(root, args.name, _read_password(args), passwords=services.passwords)
    return f"Changed the password of {args.name}"


def user_set(root: Root, args: argparse.Namespace, services: Services) -> str:
    groups = tuple(g for g in args.groups.replace(",", " ").split()) if args.groups is not None else None
    accounts.set_user_flags(root, args.name, active=args.active, admin=args.admin, groups=groups)
    return f"Updated user {args.name}"


def user_list(root: Root, args: argparse.Namespace, services: Services) -> str:
    rows = []
    for name, user in root.users.items():
        groups = f" groups: {', '.join(user.groups)}" if user.groups else ""
        rows.append(name + _flags(admin=user.admin, inactive=not user.active) + groups)
    return "\n".join(rows)


# --- credentials --------------------------------------------------------------------------

def credential_create(root: Root, args: argparse.Namespace, services: Services) -> str:
    access_key, secret_key, credential = accounts.create_credential(
        root, args.user, repository=args.repository, upload=args.upload,
        description=args.description or "",
    )
    if args.json:
        return json.dumps({"access_key": access_key, "secret_key": secret_key})
    scope = f"repository {args.repository}" if args.repository else "all repositories"
    return (
        f"access key: {access_key}\nsecret key: {secret_key}\n"
        f"({'read and upload' if args.upload else 'read-only'}, {scope}; "
        "the secret key is shown only now)"
    )


def credential_list(root: Root, args: argparse.Namespace, services: Services) -> str:
    rows = []
    for c in accounts.credentials_of(root, args.user):
        used = c.last_used.strftime("%Y-%m-%d %H:%M") if c.last_used else "never"
        rows.append(
            f"{c.access_key}  {c.owner}  {c.repository or '*'}  "
            f"{'upload' if c.upload else 'read'}  {'active' if c.active else 'disabled'}  "
            f"last used {used}  {c.description}"
        )
    return "\n".join(rows)


def credential_disable(root: Root, args: argparse.Namespace, services: Services) -> str:
    accounts.set_credential_active(root, args.access_key, False)
    return f"Disabled {args.access_key}"


def credential_enable(root: Root, args: argparse.Namespace, services: Services) -> str:
    accounts.set_credential_active(root, args.access_key, True)
    return f"Enabled {args.access_key}"


def credential_delete(root: Root, args: argparse.Namespace, services: Services) -> str:
    accounts.delete_credential(root, args.access_key)
    return f"Deleted {args.access_key}"


# --- the parsers --------------------------------------------------------------------------

def add_user_parser(commands) -> None:
    """``user add|passwd|set|list``."""
    user = commands.add_parser("user", help="accounts").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may do everything")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=user_add)
    passwd = user.add_parser("passwd", help="set an account's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    passwd.set_defaults(func=user_passwd)
    uset = user.add_parser("set", help="activate, deactivate, make admin, set groups")
    uset.add_argument("name")
    uset.add_argument("--active", type=parse_bool, metavar="BOOL")
    uset.add_argument("--admin", type=parse_bool, metavar="BOOL")
    uset.add_argument("--groups", metavar="G1,G2", help="the groups the user is in (replaces)")
    uset.set_defaults(func=user_set)
    user.add_parser("list", help="list accounts").set_defaults(func=user_list, writes=False)


def add_credential_parser(commands) -> None:
    """``credential create|list|disable|enable|delete``."""
    cred = commands.add_parser("credential", help="access keys for pip.conf, .pypirc, index URLs")
    cred = cred.add_subparsers(dest="action", required=True)
    create = cred.add_parser("create", help="create a credential for USER")
    create.add_argument("user")
    create.add_argument("--repository", metavar="NAME", help="only this repository (default: all)")
    create.add_argument("--upload", action="store_true", help="may upload too (default: read-only)")
    create.add_argument("--description", metavar="TEXT")
    create.add_argument("--json", action="store_true", help='print {"access_key": ..., "secret_key": ...}')
    create.set_defaults(func=credential_create)
    clist = cred.add_parser("list", help="list credentials")
    clist.add_argument("--user")
    clist.set_defaults(func=credential_list, writes=False)
    for name, func in (("disable", credential_disable), ("enable", credential_enable),
                       ("delete", credential_delete)):
        sub = cred.add_parser(name, help=f"{name} a credential")
        sub.add_argument("access_key")
        sub.set_defaults(func=func)
