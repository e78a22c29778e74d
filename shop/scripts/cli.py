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
from shop.model import events
from shop.model.blocks import BlockError
from shop.model.repositories import RepositoryError
from shop.scripts import (accounts, approval, audit, backup, blocks, check, cleanup, moving,
                          pack, prefetch, repositories)
from shop.scripts.common import CommandError
from shop.services import Services
from shop.settings import SettingsError, read_settings
from shop.storage import (DatabaseBusy, DatabaseMissing, initialize, open_database,
                          read_transaction, root_transaction)


def parser() -> argparse.ArgumentParser:
    """``localshop -c INI GROUP ACTION ...``."""
    p = argparse.ArgumentParser(prog="localshop", description="Manage a localshop index.")
    p.add_argument("-c", "--config", required=True, metavar="INI", help="the server's ini file")
    # Every command writes unless its parser says writes=False: the one place that decides
    # whether the database is opened read-only (beside a running server) and committed.
    p.set_defaults(writes=True, when_busy="")  # when_busy: said after DatabaseBusy's message
    commands = p.add_subparsers(dest="command", required=True)
    accounts.add_user_parser(commands)
    accounts.add_credential_parser(commands)
    repositories.add_repository_parser(commands)
    approval.add_approval_parsers(repositories.add_project_parser(commands))
    repositories.add_release_parser(commands)
    backup.add_backup_parser(commands)
    check.add_check_parser(commands)
    cleanup.add_cleanup_parser(commands)
    pack.add_pack_parser(commands)
    prefetch.add_prefetch_parser(commands)
    moving.add_moving_parsers(commands)
    audit.add_audit_parser(commands)
    blocks.add_block_parser(commands)
    return p


def open_services(config: str, writes: bool = True) -> Services:
    """The settings of the ini file ``config``, the passwords they ask for, and its database
    (read-only for a command that does not write)."""
    settings = get_appsettings(config)
    services = Services(read_settings(settings))
    services.passwords = Passwords(services.settings.argon2_profile)
    services.db = open_database(settings["zodbconn.uri"], writes=writes)
    return services


def run_command(args: argparse.Namespace, services: Services) -> str:
    """Run the command in a transaction: committed if it writes, else only read and aborted."""
    if not args.writes:
        with read_transaction(services.db) as root:
            return args.func(root, args, services)
    initialize(services.db, services.settings, services.passwords)
    with root_transaction(services.db) as root:
        events.act_on(root, events.command_line())
        return args.func(root, args, services)


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit status 0 when done, 1 when refused, 2 when it cannot start."""
    args = parser().parse_args(argv)
    if "run" in args:  # backup, restore, pack, prefetch: they open the storage their own way (or ask
        return args.run(args)  # the running server)
    try:
        services = open_services(args.config, writes=args.writes)
    except (SettingsError, DatabaseBusy, DatabaseMissing, FileNotFoundError, KeyError) as e:
        print(f"localshop: {e}{args.when_busy if isinstance(e, DatabaseBusy) else ''}", file=sys.stderr)
        return 2
    try:
        output = run_command(args, services)
    except (CommandError, AccountError, RepositoryError, BlockError) as e:
        print(f"localshop: {e}", file=sys.stderr)
        return 1
    except DatabaseMissing as e:
        print(f"localshop: {e}", file=sys.stderr)
        return 2
    finally:
        services.db.close()
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
