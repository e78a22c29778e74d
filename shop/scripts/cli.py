"""The ``localshop`` command: users, credentials, repositories and releases, without a browser."""
from __future__ import annotations

import argparse
import getpass
import json
import sys

from pyramid.paster import get_appsettings

from shop.access import accounts
from shop.access.passwords import Passwords
from shop.model import repositories
from shop.services import Services
from shop.settings import SettingsError, read_settings
from shop.storage import DatabaseBusy, initialize, open_database, root_transaction


class CommandError(Exception):
    """A command that cannot be carried out; the message says why."""


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

def user_add(root, args, services: Services) -> str:
    accounts.add_user(root, args.name, _read_password(args), passwords=services.passwords,
                      admin=args.admin)
    return f"Added user {args.name}" + (" (admin)" if args.admin else "")


def user_passwd(root, args, services: Services) -> str:
    accounts.get_user(root, args.name)  # no password asked for a user that does not exist
    accounts.set_password(root, args.name, _read_password(args), passwords=services.passwords)
    return f"Changed the password of {args.name}"


def user_set(root, args, services: Services) -> str:
    groups = tuple(g for g in args.groups.replace(",", " ").split()) if args.groups is not None else None
    accounts.set_user_flags(root, args.name, active=args.active, admin=args.admin, groups=groups)
    return f"Updated user {args.name}"


def user_list(root, args, services: Services) -> str:
    rows = []
    for name, user in root.users.items():
        groups = f" groups: {', '.join(user.groups)}" if user.groups else ""
        rows.append(name + _flags(admin=user.admin, inactive=not user.active) + groups)
    return "\n".join(rows)


# --- credentials --------------------------------------------------------------------------

def credential_create(root, args, services: Services) -> str:
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


def credential_list(root, args, services: Services) -> str:
    rows = []
    for c in accounts.credentials_of(root, args.user):
        used = c.last_used.strftime("%Y-%m-%d %H:%M") if c.last_used else "never"
        rows.append(
            f"{c.access_key}  {c.owner}  {c.repository or '*'}  "
            f"{'upload' if c.upload else 'read'}  {'active' if c.active else 'disabled'}  "
            f"last used {used}  {c.description}"
        )
    return "\n".join(rows)


def credential_disable(root, args, services: Services) -> str:
    accounts.set_credential_active(root, args.access_key, False)
    return f"Disabled {args.access_key}"


def credential_enable(root, args, services: Services) -> str:
    accounts.set_credential_active(root, args.access_key, True)
    return f"Enabled {args.access_key}"


def credential_delete(root, args, services: Services) -> str:
    accounts.delete_credential(root, args.access_key)
    return f"Deleted {args.access_key}"


# --- repositories -------------------------------------------------------------------------

def repository_add(root, args, services: Services) -> str:
    repository = repositories.add_repository(root, args.name, title=args.title or "", upstream=args.upstream)
    _configure(repository, args)
    return f"Added repository {args.name}"


def repository_set(root, args, services: Services) -> str:
    repository = repositories.get_repository(root, args.name)
    if args.upstream is not None:
        repositories.configure(repository, upstream=args.upstream)
    if args.title is not None:
        repositories.configure(repository, title=args.title)
    _configure(repository, args)
    return f"Updated repository {args.name}"


def _configure(repository, args) -> None:
    repositories.configure(
        repository,
        mirror_mode=args.mirror_mode,
        offline=args.offline,
        anonymous_read=args.anonymous_read,
        read_networks=args.read_networks,
        merge_allowed=args.merge_allowed.replace(",", " ").split() if args.merge_allowed is not None else None,
    )
    for spec in args.role or ():
        who, _, role = spec.partition("=")
        kind, _, name = who.partition(":")
        if kind not in ("user", "group") or not name:
            raise CommandError(f"--role {spec!r}: use user:NAME=ROLE or group:NAME=ROLE")
        repositories.set_role(repository, **{kind: name}, role=role)


def repository_list(root, args, services: Services) -> str:
    rows = []
    for name, r in root.repositories.items():
        access = "anonymous" if r.anonymous_read else ("networks " + " ".join(r.read_networks) if r.read_networks else "private")
        roles = " ".join(f"{p}={role}" for p, role in r.roles.items())
        merged = f"  merge: {' '.join(r.merge_allowed)}" if len(r.merge_allowed) else ""
        rows.append(
            f"{name}  projects {len(r)}  upstream {r.upstream or '-'} ({r.mirror_mode}"
            f"{', offline' if r.offline else ''}){merged}  read: {access}  {roles}"
        )
    return "\n".join(rows)


# --- releases -----------------------------------------------------------------------------

def _release(root, args):
    repository = repositories.get_repository(root, args.repository)
    return repositories.find_release(repository, args.project, args.version)


def release_yank(root, args, services: Services) -> str:
    repositories.yank(_release(root, args), args.reason or "")
    return f"Yanked {args.project} {args.version}"


def release_unyank(root, args, services: Services) -> str:
    repositories.yank(_release(root, args), yanked=False)
    return f"Unyanked {args.project} {args.version}"


def release_delete(root, args, services: Services) -> str:
    repositories.delete(_release(root, args))
    return f"Deleted {args.project} {args.version}"


# --- projects -----------------------------------------------------------------------------

def project_owners(root, args, services: Services) -> str:
    repository = repositories.get_repository(root, args.repository)
    package = repositories.find_package(repository, args.project)
    repositories.change_owners(root, package, add=tuple(args.add or ()), remove=tuple(args.remove or ()))
    return f"Owners of {package.name}: {', '.join(package.owners) or 'none (repository owners only)'}"


def _bool(value: str) -> bool:
    if value.lower() in ("true", "yes", "on", "1"):
        return True
    if value.lower() in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {value!r}")


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
    uset = user.add_parser("set", help="activate, deactivate, make admin, set groups")
    uset.add_argument("name")
    uset.add_argument("--active", type=_bool, metavar="BOOL")
    uset.add_argument("--admin", type=_bool, metavar="BOOL")
    uset.add_argument("--groups", metavar="G1,G2", help="the groups the user is in (replaces)")
    uset.set_defaults(func=user_set)
    user.add_parser("list", help="list accounts").set_defaults(func=user_list)

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
    clist.set_defaults(func=credential_list)
    for name, func in (("disable", credential_disable), ("enable", credential_enable),
                       ("delete", credential_delete)):
        sub = cred.add_parser(name, help=f"{name} a credential")
        sub.add_argument("access_key")
        sub.set_defaults(func=func)

    repo = commands.add_parser("repository", help="repositories").add_subparsers(dest="action", required=True)
    for name, func in (("add", repository_add), ("set", repository_set)):
        sub = repo.add_parser(name, help=f"{name} a repository")
        sub.add_argument("name")
        sub.add_argument("--title")
        sub.add_argument("--upstream", metavar="URL", help="simple index to mirror, or none")
        sub.add_argument("--mirror-mode", choices=repositories.MIRROR_MODES)
        sub.add_argument("--offline", type=_bool, metavar="BOOL", help="serve only what is cached")
        sub.add_argument("--anonymous-read", type=_bool, metavar="BOOL")
        sub.add_argument("--read-networks", metavar="CIDRS", help="networks that read without credentials")
        sub.add_argument("--merge-allowed", metavar="P1,P2", help="hosted projects that also show upstream files")
        sub.add_argument("--role", action="append", metavar="user:NAME=ROLE",
                         help="reader, uploader, owner or none; repeatable; group:NAME=ROLE too")
        sub.set_defaults(func=func)
    repo.add_parser("list", help="list repositories").set_defaults(func=repository_list)

    project = commands.add_parser("project", help="projects").add_subparsers(dest="action", required=True)
    owners = project.add_parser("owners", help="show, add or remove a project's owners")
    owners.add_argument("repository")
    owners.add_argument("project")
    owners.add_argument("--add", action="append", metavar="USER", help="repeatable")
    owners.add_argument("--remove", action="append", metavar="USER", help="repeatable")
    owners.set_defaults(func=project_owners)

    release = commands.add_parser("release", help="yank, unyank or delete a release")
    release = release.add_subparsers(dest="action", required=True)
    for name, func in (("yank", release_yank), ("unyank", release_unyank), ("delete", release_delete)):
        sub = release.add_parser(name, help=f"{name} a release")
        sub.add_argument("repository")
        sub.add_argument("project")
        sub.add_argument("version")
        if name == "yank":
            sub.add_argument("--reason", metavar="TEXT")
        sub.set_defaults(func=func)
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
    except (CommandError, accounts.AccountError, repositories.RepositoryError) as e:
        print(f"localshop: {e}", file=sys.stderr)
        return 1
    finally:
        services.db.close()
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
