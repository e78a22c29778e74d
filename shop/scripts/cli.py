"""The ``localshop`` command: users, credentials, repositories and releases, without a browser.

Each command group lives in a module of its own (``accounts``, ``repositories``); here is the
top parser that puts them together, and ``main``, which opens the database and runs one.
"""
from __future__ import annotations

import argparse
import sys

from pyramid.paster import get_appsettings

from shop.access.accounts import AccountError
from shop.access.passwords import Passwords
from shop.model.repositories import RepositoryError
from shop.scripts import accounts, repositories
from shop.scripts.common import CommandError
from shop.services import Services
from shop.settings import SettingsError, read_settings
from shop.storage import DatabaseBusy, initialize, open_database, root_transaction


def parser() -> argparse.ArgumentParser:
    """``localshop -c INI GROUP ACTION ...``."""
    p = argparse.ArgumentParser(prog="localshop", description="Manage a localshop index.")
    p.add_argument("-c", "--config", required=True, metavar="INI", help="the server's ini file")
    commands = p.add_subparsers(dest="command", required=True)
    accounts.add_user_parser(commands)
    accounts.add_credential_parser(commands)
    repositories.add_repository_parser(commands)
    repositories.add_project_parser(commands)
    repositories.add_release_parser(commands)
    return p


def open_services(config: str) -> Services:
    """The settings of the ini file ``config``, the passwords they ask for, and its database."""
    settings = get_appsettings(config)
    services = Services(read_settings(settings))
    services.passwords = Passwords(services.settings.argon2_profile)
    services.db = open_database(settings["zodbconn.uri"])
    return services


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit status 0 when done, 1 when refused, 2 when it cannot start."""
    args = parser().parse_args(argv)
    try:
        services = open_services(args.config)
    except (SettingsError, DatabaseBusy, FileNotFoundError, KeyError) as e:
        print(f"localshop: {e}", file=sys.stderr)
        return 2
    try:
        initialize(services.db, services.settings, services.passwords)
        with root_transaction(services.db) as root:
            output = args.func(root, args, services)
    except (CommandError, AccountError, RepositoryError) as e:
        print(f"localshop: {e}", file=sys.stderr)
        return 1
    finally:
        services.db.close()
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
