"""The ``localshop`` command: manage accounts (and more) without a browser."""
from __future__ import annotations

import argparse
import getpass
import sys

import transaction
from pyramid.paster import get_appsettings

from ..database import DatabaseBusy, initialize, open_database
from ..resources import User, app_root
from ..security import hash_password
from ..settings import SettingsError, read_settings


class CommandError(Exception):
    """A command that cannot be carried out; the message says why."""


def _read_password(args) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat password: "):
            raise CommandError("The passwords do not match.")
    if not password:
        raise CommandError("An empty password is not allowed.")
    return password


def user_add(root, args) -> str:
    if args.name in root.users:
        raise CommandError(f"User {args.name!r} already exists.")
    try:
        root.users.add(args.name, User(hash_password(_read_password(args)), admin=args.admin))
    except KeyError as e:
        raise CommandError(str(e.args[0])) from None
    return f"Added user {args.name}" + (" (admin)" if args.admin else "")


def user_passwd(root, args) -> str:
    user = root.users.get(args.name)
    if user is None:
        raise CommandError(f"No user {args.name!r}.")
    user.password_hash = hash_password(_read_password(args))
    return f"Changed the password of {args.name}"


def user_list(root, args) -> str:
    rows = []
    for name, user in root.users.items():
        flags = [f for f, on in (("admin", user.admin), ("inactive", not user.active)) if on]
        rows.append(name + (f" ({', '.join(flags)})" if flags else ""))
    return "\n".join(rows)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="localshop", description="Manage a localshop index.")
    p.add_argument("-c", "--config", required=True, metavar="INI", help="the server's ini file")
    commands = p.add_subparsers(dest="command", required=True)
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
    user.add_parser("list", help="list accounts").set_defaults(func=user_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = get_appsettings(args.config)
        shop_settings = read_settings(settings)
        db = open_database(settings["zodbconn.uri"])
    except (SettingsError, DatabaseBusy, FileNotFoundError, KeyError) as e:
        print(f"localshop: {e}", file=sys.stderr)
        return 2
    try:
        initialize(db, shop_settings)
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            with tm:
                output = args.func(app_root(conn), args)
        finally:
            conn.close()
    except CommandError as e:
        print(f"localshop: {e}", file=sys.stderr)
        return 1
    finally:
        db.close()
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
