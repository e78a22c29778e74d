"""Prefetching through a running server (``localshop prefetch --server URL``).

While a server holds the embedded database, pip resolves through that server instead, with
the credentials the user put in the URL, and the server's own mirror stores the files. The
database is only read (read-only beside the server, as ``check`` does; with ZEO as one more
client): before pip runs, to know what was stored already, and after, until the server's
writer has committed every file pip got.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from shop.operations.prefetch import (Fetched, PrefetchError, PrefetchResult, Target,
                                      check_target, compare, downloaded, pip_command,
                                      resolution_failed, run_pip)
from shop.storage import DatabaseBusy, DatabaseMissing, open_database, read_transaction

STORED_PATIENCE = 60.0  # seconds to wait for the server to commit what it served


def prefetch_through(server: str, target: Target, uri: str,
                     out: TextIO = sys.stdout) -> PrefetchResult:
    """Resolve ``target`` with pip through the running server at ``server`` (its database:
    zodburi ``uri``, read only); pip's lines are written to ``out``."""
    check_target(target)
    index = index_url(server, target.repository)
    started = time.monotonic()
    before = last_transaction(uri, target.repository)
    with tempfile.TemporaryDirectory(prefix="localshop-prefetch-") as tmp:
        secret = urlsplit(server).password or ""
        status = run_pip(pip_command(target, Path(tmp), index), secret, out)
        if status != 0:  # pip does not say when a 401 refused it
            raise resolution_failed(target, status, "" if urlsplit(server).username else (
                " --server's URL has no credentials: to read a private repository, give"
                " http://USER:PASSWORD@HOST:PORT."))
        files = wait_until_stored(uri, before, target.repository, downloaded(Path(tmp)))
    return PrefetchResult(target, files, time.monotonic() - started)


def index_url(server: str, repository: str) -> str:
    """The repository's index under the server's base URL (PrefetchError, 2, if it is none)."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PrefetchError("--server: give the running server's base URL, e.g."
                            " http://USER:PASSWORD@localhost:8000", 2)
    return f"{server.rstrip('/')}/repo/{repository}/"


def _open(uri: str):
    try:
        return open_database(uri, writes=False)
    except (DatabaseBusy, DatabaseMissing) as e:
        raise PrefetchError(str(e), 2) from None


def last_transaction(uri: str, repository: str) -> bytes:
    """The database's last transaction now; PrefetchError (2) if it has no ``repository``."""
    db = _open(uri)
    try:
        with read_transaction(db) as root:
            if repository not in root.repositories:
                raise PrefetchError(f"No repository {repository!r}.", 2)
        return db.lastTransaction()
    except DatabaseMissing as e:
        raise PrefetchError(str(e), 2) from None
    finally:
        db.close()


def wait_until_stored(uri: str, before: bytes, repository: str, sizes: dict[str, int],
                      patience: float = STORED_PATIENCE) -> list[Fetched]:
    """``compare``, read anew (a read-only FileStorage sees only what was committed when it
    was opened) until every file is stored or ``patience`` runs out: the server's writer
    commits a moment after pip has the last byte."""
    deadline, pause = time.monotonic() + patience, 0.1
    while True:
        db = _open(uri)
        try:
            files = compare(db, before, repository, sizes)
        finally:
            db.close()
        if all(f.stored_now for f in files) or time.monotonic() > deadline:
            return files
        time.sleep(pause)
        pause = min(pause * 2, 5.0)
