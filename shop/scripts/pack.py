"""``localshop -c INI pack [--days N]``: pack the database, with blob garbage collection.

When the server is stopped (or the database is ZEO's, whose server packs) the command packs
itself. When the running server holds the embedded FileStorage's lock, it asks the server to
pack (``POST /+pack``) at the address of the ini's ``[server:main]``, as an admin: ``--user``
(default ``admin``) with the password from ``--password-stdin`` or LOCALSHOP_ADMIN_PASSWORD.
"""
from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import unquote, urlsplit

import plaster
import requests
from pyramid.paster import get_appsettings

from shop.operations.pack import (Packer, PackError, PackResult, blob_directory, check_days,
                                  old_copy)
from shop.storage import DatabaseBusy, open_database

PASSWORD_VARIABLE = "LOCALSHOP_ADMIN_PASSWORD"
# Addresses a server listens on that a client cannot connect to as they are.
ANY_ADDRESS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "::": "::1", "[::]": "::1"}


class PackFailed(Exception):
    """A pack that could not be done; ``status`` is the exit status (1 refused, 2 cannot start)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def days_argument(value: str) -> float:
    try:
        return check_days(float(value))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected the days of history to keep, 0 or more, not {value!r}") from None


def add_pack_parser(commands) -> None:
    """``pack [--days N] [--user NAME] [--password-stdin] [--url URL]``."""
    p = commands.add_parser(
        "pack", help="pack the database, freeing the bytes of deleted files and old records",
        description="Pack the database with blob garbage collection. With the server running"
        " (embedded FileStorage) the server packs, asked as an admin: --user (default admin)"
        f" with the password from --password-stdin or {PASSWORD_VARIABLE}.")
    p.add_argument("--days", type=days_argument, default=0.0, metavar="N",
                   help="days of history to keep (default 0: only the current state)")
    p.add_argument("--user", default="admin", help="the admin who asks a running server")
    p.add_argument("--password-stdin", action="store_true",
                   help=f"read that admin's password from stdin (else {PASSWORD_VARIABLE})")
    p.add_argument("--url", help="the running server's base URL (default: from [server:main])")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Pack here, or have the running server pack; print the space before and after."""
    try:
        result = pack(args)
    except PackFailed as e:
        print(f"localshop: {e}", file=sys.stderr)
        return e.status
    print(result.summary())
    return 0


def pack(args: argparse.Namespace) -> PackResult:
    """The pack done here when the database can be opened, else by the server that holds it."""
    try:
        settings = get_appsettings(args.config)
        uri = settings["zodbconn.uri"]
    except (FileNotFoundError, KeyError, plaster.PlasterError) as e:
        raise PackFailed(f"cannot read {args.config}: {e}", 2) from None
    check_exists(uri)
    try:
        db = open_database(uri)
    except DatabaseBusy:
        return ask_server(args)
    try:
        return Packer(db, blob_directory(uri), old_copy(uri)).pack(args.days)
    except PackError as e:
        raise PackFailed(str(e)) from None
    finally:
        db.close()


def check_exists(uri: str) -> None:
    """Refuse to pack an embedded database that is not there (opening it would create it)."""
    parts = urlsplit(uri)
    if parts.scheme == "file" and not os.path.exists(unquote(parts.path)):
        raise PackFailed(f"There is no database at {unquote(parts.path)}: nothing to pack.", 2)


def ask_server(args: argparse.Namespace) -> PackResult:
    """Have the running server pack (``POST /+pack``) and return what it answered."""
    url = (args.url or server_url(args.config)).rstrip("/") + "/+pack"
    auth = (args.user, admin_password(args))
    try:
        # The pack takes as long as it takes: no read timeout, only the connection's.
        response = requests.post(url, data={"days": f"{args.days:g}"}, auth=auth,
                                 headers={"Accept": "application/json"}, timeout=(10, None))
    except requests.RequestException as e:
        raise PackFailed(f"The running server holds the database, and {url} cannot be reached"
                         f" to have it pack: {e}", 2) from None
    if response.status_code != 200:
        reason = response.text.strip() or response.reason
        raise PackFailed(f"The running server refused to pack ({url}): {reason}")
    return PackResult.from_json(response.json())


def admin_password(args: argparse.Namespace) -> str:
    """The password of ``--user``: from stdin with ``--password-stdin``, else the environment."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = os.environ.get(PASSWORD_VARIABLE)
    if not password:
        raise PackFailed(
            "The running server holds the database, so it packs it when an admin asks: give"
            f" {args.user}'s password with --password-stdin or {PASSWORD_VARIABLE}"
            " (or stop the server, and pack again).", 2)
    return password


def server_url(config: str) -> str:
    """The base URL of the server of ini file ``config``, from its ``[server:main]``: the
    first ``listen`` address, else ``host`` and ``port``; a wildcard address as loopback."""
    try:
        server = plaster.get_settings(config, "server:main")
    except plaster.PlasterError as e:
        raise PackFailed(f"cannot read [server:main] of {config}: {e}; give --url", 2) from None
    listen = str(server.get("listen") or "").split()
    if listen:
        host, _, port = listen[0].rpartition(":")
    else:
        host, port = str(server.get("host") or ""), str(server.get("port") or "8080")
    if not port.isdigit():
        raise PackFailed(f"[server:main] of {config} names no TCP port to ask; give --url", 2)
    host = ANY_ADDRESS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    scheme = str(server.get("url_scheme") or "http")
    prefix = str(server.get("url_prefix") or "").rstrip("/")
    return f"{scheme}://{host}:{port}{prefix}"
