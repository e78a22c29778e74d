"""Preparing the cache for going offline (``localshop prefetch``): every file an install of some
requirements would fetch, stored by the mirror now.

(Not ``shop.mirror.prefetch``, which looks up dependencies' pages ahead while serving.)

A real resolver decides what an install fetches: pip (``pip download``) runs against this
process's own application, served on a loopback port (``shop.operations.loopback``), so
every file goes through the mirror exactly as a client's would and is stored by it. pip reads
with a temporary read-only credential of an admin (or ``--user``) for the one repository,
committed before and deleted after (its secret is never shown, and reaches pip in a file only
this user can read, not on a command line), so private repositories stay private. Once pip
is done the command waits until the mirror has stored everything it served, then compares
each downloaded file with the repository as it was before (a historical connection).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TextIO

from plaster import PlasterError
from pyramid.paster import get_app, get_appsettings
from zc.lockfile import LockError
from ZODB import DB
from ZODB.POSException import POSError
from ZODB.utils import p64, u64

from shop.access.accounts import AccountError, create_credential, delete_credential
from shop.model import events, names
from shop.model.root import Root, app_root
from shop.operations.loopback import serving
from shop.settings import SettingsError
from shop.storage import database_busy, read_transaction, root_transaction

MAX_REQUIREMENTS = 1024 * 1024  # bytes of a requirements file (pip reads it; bounded anyway)
SETTLE_TIMEOUT = 600.0  # seconds to wait for the mirror to store what it served
DESCRIPTION = "localshop prefetch (temporary: deleted when the command ends)"
# Options in a requirements file that would send pip past the repository's mirror.
OTHER_INDEX = re.compile(r"\s*(-i|--index-url|--extra-index-url|-f|--find-links|--no-index)\b")
PYTHON_VERSION = re.compile(r"[0-9]+(\.[0-9]+){0,2}")
PLATFORM = re.compile(r"[A-Za-z0-9_.]+")


class PrefetchError(Exception):
    """Prefetching failed or could not start; ``status``: 1 refused or failed, 2 cannot start."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    """What to prefetch: the requirements, into which repository, for which interpreter."""

    requirements: Path
    repository: str = "default"
    python_version: str | None = None  # pip's --python-version
    platforms: tuple[str, ...] = ()  # pip's --platform, each
    user: str | None = None  # the owner of the temporary credential (default: an admin)

    def pip_options(self) -> list[str]:
        """pip download's options for another interpreter or platform: those need
        ``--only-binary=:all:`` (pip cannot know what an sdist would need there)."""
        options = ["--python-version", self.python_version] if self.python_version else []
        for platform in self.platforms:
            options += ["--platform", platform]
        return options + (["--only-binary=:all:"] if options else [])


@dataclass(frozen=True)
class Fetched:
    """One file pip downloaded: whether the repository had its bytes before, and has now."""

    filename: str
    size: int
    stored_before: bool | None  # None: the storage keeps no history to tell
    stored_now: bool


@dataclass(frozen=True)
class PrefetchResult:
    target: Target
    files: list[Fetched]
    seconds: float

    @property
    def missing(self) -> list[Fetched]:
        """Files pip got that the repository has not stored (a failed store: see the log)."""
        return [f for f in self.files if not f.stored_now]

    def summary(self) -> str:
        new = [f for f in self.files if f.stored_now and f.stored_before is False]
        old = [f for f in self.files if f.stored_before]
        lines = [f"Prefetched {self.target.requirements} into repository"
                 f" {self.target.repository}: {_count(self.files)} in {self.seconds:.1f} s",
                 f"  fetched from upstream and stored: {_count(new)}",
                 f"  already stored:                   {_count(old)}"]
        unknown = [f for f in self.files if f.stored_now and f.stored_before is None]
        if unknown:
            lines.append(f"  stored, whether before or now the storage keeps no history to"
                         f" tell: {_count(unknown)}")
        lines += [f"  NOT stored: {f.filename} (the warnings above say why; prefetch again)"
                  for f in self.missing]
        return "\n".join(lines)


def _count(files: list[Fetched]) -> str:
    size = sum(f.size for f in files)
    return f"{len(files)} file{'' if len(files) == 1 else 's'}, {size:,} bytes"


def check_target(target: Target) -> None:
    """Refuse, before anything starts, what pip would be given wrong (PrefetchError, 2)."""
    if importlib.util.find_spec("pip") is None:
        raise PrefetchError(f"pip is not installed beside localshop ({sys.executable} -m pip):"
                            " install it there, and prefetch again.", 2)
    if target.python_version and not PYTHON_VERSION.fullmatch(target.python_version):
        raise PrefetchError(f"--python-version {target.python_version!r}: give X.Y, e.g. 3.12", 2)
    for platform in target.platforms:
        if not PLATFORM.fullmatch(platform):
            raise PrefetchError(f"--platform {platform!r}: give a platform tag, e.g."
                                " manylinux_2_28_x86_64 or win_amd64", 2)
    for number, line in enumerate(read_requirements(target.requirements), 1):
        what = past_the_mirror(line)
        if what is not None:
            raise PrefetchError(f"{target.requirements}, line {number}: {what} would send pip"
                                f" past repository {target.repository}: prefetch fetches"
                                " through its mirror only; remove the line.", 2)


def read_requirements(path: Path) -> list[str]:
    """The lines of a requirements file of at most MAX_REQUIREMENTS bytes (PrefetchError, 2)."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise PrefetchError(f"{path} is not a requirements file.", 2)
        if size > MAX_REQUIREMENTS:
            raise PrefetchError(f"{path} is {size:,} bytes: a requirements file of at most"
                                f" {MAX_REQUIREMENTS:,} bytes is read.", 2)
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise PrefetchError(f"Cannot read the requirements file {path}: {e}", 2) from None


def past_the_mirror(line: str) -> str | None:
    """What in a line of a requirements file would have pip fetch from elsewhere, or None.
    (Files it includes with ``-r`` are pip's to read.)"""
    text = line.partition(" #")[0].strip()
    if text.startswith("#"):
        return None
    option = OTHER_INDEX.match(text)
    if option is not None:
        return option.group(1)
    return "a direct URL" if "://" in text else None


def database_uri(config: str) -> str:
    """``zodbconn.uri`` of the ini file ``config`` (PrefetchError, 2)."""
    try:
        return get_appsettings(config)["zodbconn.uri"]
    except (FileNotFoundError, KeyError, PlasterError) as e:
        raise PrefetchError(f"cannot read zodbconn.uri of {config}: {e}", 2) from None


def load_app(config: str):
    """The application of the ini file ``config``, its database opened (PrefetchError, 2)."""
    try:
        return get_app(config, "main")
    except LockError:  # the running server holds the embedded FileStorage
        uri = database_uri(config)
        raise PrefetchError(f"{database_busy(uri)} Or prefetch through the running server:"
                            " --server http://USER:PASSWORD@HOST:PORT", 2) from None
    except (SettingsError, FileNotFoundError, LookupError, PlasterError) as e:
        raise PrefetchError(f"cannot start from {config}: {e}", 2) from None


def prefetch(app, target: Target, *, db: DB, busy: Callable[[], bool], threads: int = 4,
             out: TextIO = sys.stdout) -> PrefetchResult:
    """Resolve ``target`` with pip through ``app``'s mirror (its database ``db``; ``busy``:
    whether it is still storing what it served); pip's lines are written to ``out``."""
    check_target(target)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="localshop-prefetch-") as tmp, \
            temporary_credential(db, target) as (access_key, secret):
        before = db.lastTransaction()
        with serving(app, threads) as port:
            index = f"http://{access_key}:{secret}@127.0.0.1:{port}/repo/{target.repository}/"
            status = run_pip(pip_command(target, Path(tmp), index), secret, out)
            settle(busy)
        if status != 0:
            raise resolution_failed(target, status)
        files = compare(db, before, target.repository, downloaded(Path(tmp)))
    return PrefetchResult(target, files, time.monotonic() - started)


def resolution_failed(target: Target, status: int, hint: str = "") -> PrefetchError:
    return PrefetchError(f"pip could not resolve {target.requirements} (exit {status}):"
                         f" its messages are above.{hint}")


@contextlib.contextmanager
def temporary_credential(db: DB, target: Target) -> Iterator[tuple[str, str]]:
    """A read-only credential for ``target.repository``, committed, deleted (committed) after."""
    with root_transaction(db) as root:
        events.act_on(root, events.command_line())  # the audit log's who, in both transactions
        if target.repository not in root.repositories:
            raise PrefetchError(f"No repository {target.repository!r}.", 2)
        owner = target.user or first_admin(root)
        try:
            access_key, secret, _ = create_credential(root, owner, repository=target.repository,
                                                      description=DESCRIPTION)
        except AccountError as e:
            raise PrefetchError(str(e), 2) from None
    try:
        yield access_key, secret
    finally:
        with root_transaction(db) as root:
            events.act_on(root, events.command_line())
            if access_key in root.credentials:
                delete_credential(root, access_key)


def first_admin(root: Root) -> str:
    """``admin`` if active, else the first active admin by name."""
    admins = [name for name, user in root.users.items() if user.admin and user.active]
    if not admins:
        raise PrefetchError("There is no active admin to read as: give --user NAME.", 2)
    return "admin" if "admin" in admins else admins[0]


def pip_command(target: Target, directory: Path, index: str) -> list[str]:
    """``pip download`` into ``directory`` from ``index`` only, of the requirements.

    The index URL (with the secret) goes in a requirements file of its own, in the private
    temporary directory, which includes the user's: not on pip's command line, which any
    user of the machine may read. No pip cache: every file must reach the mirror.
    """
    wrapper = directory / "prefetch-requirements.txt"
    wrapper.touch(mode=0o600)
    wrapper.write_text(f"--index-url {index}\n-r {target.requirements.resolve()}\n")
    downloads = directory / "files"
    return [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check",
            "download", "--no-input", "--no-cache-dir", "--progress-bar", "off",
            "-d", str(downloads),
            *target.pip_options(), "-r", str(wrapper)]


def run_pip(command: list[str], secret: str, out: TextIO) -> int:
    """Run pip, passing its lines to ``out`` as they come (never the secret); its exit status."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, errors="replace",
                          env=pip_environment()) as pip:
        try:
            for line in pip.stdout:
                out.write(line.replace(secret, "****") if secret else line)
                out.flush()
        except BaseException:  # Ctrl-C, SIGTERM: pip stops too, before the server goes
            pip.terminate()
            raise
    return pip.returncode


def pip_environment() -> dict[str, str]:
    """This environment without pip's settings, and with no configuration file or cache:
    ``--isolated`` keeps them from pip itself, this from the pip it may start to install an
    sdist's build requirements (which would otherwise read the machine's extra indexes)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1"}


def settle(busy: Callable[[], bool], timeout: float = SETTLE_TIMEOUT) -> None:
    """Wait until the mirror has stored what it served (its downloads and the writer)."""
    deadline = time.monotonic() + timeout
    while busy() and time.monotonic() < deadline:
        time.sleep(0.05)


def downloaded(directory: Path) -> dict[str, int]:
    """{filename: size} of what pip downloaded (``pip_command``'s directory)."""
    return {p.name: p.stat().st_size for p in sorted((directory / "files").glob("*"))}


def compare(db: DB, before: bytes, repository: str, sizes: dict[str, int]) -> list[Fetched]:
    """Each file pip downloaded (``sizes``), with whether ``repository`` had stored it as of
    transaction ``before`` and has stored it now."""
    with read_transaction(db) as root:
        now = stored(root, repository, sizes)
    then = stored_then(db, before, repository, sizes)
    return [Fetched(name, size, then.get(name), now[name]) for name, size in sizes.items()]


def stored_then(db: DB, before: bytes, repository: str, filenames) -> dict[str, bool]:
    """``stored`` as of transaction ``before``, through a historical connection (read-only,
    it needs no transaction); {} where the storage keeps no history (RelStorage's
    history-free mode, a pack since)."""
    try:
        conn = db.open(before=p64(u64(before) + 1))
        try:
            return stored(app_root(conn), repository, filenames)
        finally:
            conn.close()
    except (POSError, NotImplementedError, KeyError):
        return {}


def stored(root: Root, repository: str, filenames) -> dict[str, bool]:
    """Whether ``repository`` holds the bytes of each of ``filenames``."""
    repo = root.repositories.get(repository)
    found = {}
    for filename in filenames:
        try:
            parsed = names.parse_filename(filename)
        except names.InvalidName:
            found[filename] = False
            continue
        package = repo.get(parsed.project) if repo is not None else None
        release = package.get(names.version_key(str(parsed.version))) if package is not None else None
        record = release.get(filename) if release is not None else None
        found[filename] = record is not None and record.blob is not None
    return found
