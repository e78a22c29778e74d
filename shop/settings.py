"""The ``shop.*`` settings, read and validated once at start-up."""
from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import argon2.profiles
from pypi_simple import PYPI_SIMPLE_ENDPOINT

from shop.model import names

GiB = 1024**3


class SettingsError(ValueError):
    """A missing or malformed setting; the message names the key."""


@dataclass(frozen=True)
class Settings:
    upstream: str | None
    upstream_timeout: tuple[float, float]  # (connect, read) seconds
    index_ttl: int
    max_upload_size: int
    admin_password: str | None
    secret: str
    cookie_secure: bool
    default_anonymous_read: bool  # for repository ``default`` when it is created
    default_read_networks: tuple[str, ...]
    # Let a front-end web server send blob files itself: ("x-accel-redirect", prefix, blob
    # directory) for nginx, ("x-sendfile", "", blob directory) for Apache or lighttpd.
    sendfile: tuple[str, str, str] | None = None
    # Bytes of rendered simple pages each process keeps (least recently used go first).
    page_cache_size: int = 256 * 1024**2
    # The argon2-cffi profile new password hashes are made with (argon2.profiles).
    argon2_profile: str = "RFC_9106_LOW_MEMORY"
    # Look up the dependencies of every mirrored wheel before a client asks for them.
    prefetch: bool = True
    # Seconds between the server's runs of the retention policies (0: never; ``localshop
    # cleanup`` runs them on a stopped server).
    cleanup_interval: int = 3600
    # Days of history the server's daily pack keeps (shop.operations.pack); None: no schedule.
    pack_days: float | None = None
    # Seconds between two writes of the dashboard's daily counts by each process.
    stats_interval: int = 60
    # Who may read /+metrics besides admins: clients on these networks (by address).
    metrics_networks: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    # Free bytes where the blobs live below which /+health says the disk is low.
    health_low_disk: int = GiB
    # Days the audit log keeps its entries (older ones are dropped by the retention thread).
    audit_days: int = 365


def _int(settings: dict, key: str, default: int, minimum: int = 0) -> int:
    raw = settings.get(key)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise SettingsError(f"{key} = {raw!r}: expected a whole number") from None
    if value < minimum:
        raise SettingsError(f"{key} = {raw!r}: must be at least {minimum}")
    return value


def _timeout(settings: dict, key: str) -> tuple[float, float]:
    raw = str(settings.get(key) or "").replace(",", " ").split()
    if not raw:
        return (10.0, 60.0)
    try:
        values = [float(v) for v in raw]
    except ValueError:
        raise SettingsError(
            f"{key} = {settings.get(key)!r}: expected seconds, or 'CONNECT READ' seconds"
        ) from None
    if len(values) > 2 or any(v <= 0 for v in values):
        raise SettingsError(f"{key} = {settings.get(key)!r}: expected one or two positive numbers")
    return (values[0], values[-1])


def _upstream(settings: dict, key: str) -> str | None:
    raw = settings.get(key)
    if raw is None:
        return PYPI_SIMPLE_ENDPOINT
    raw = str(raw).strip()
    if raw.lower() in ("", "none", "off"):
        return None
    url = names.index_url(raw)
    if url is None:
        raise SettingsError(f"{key} = {raw!r}: expected an http(s) URL of a simple index, or 'none'")
    return url


def _bool(settings: dict, key: str, default: bool) -> bool:
    raw = str(settings.get(key, "")).strip().lower()
    if not raw:
        return default
    if raw in ("true", "yes", "on", "1"):
        return True
    if raw in ("false", "no", "off", "0"):
        return False
    raise SettingsError(f"{key} = {settings.get(key)!r}: expected true or false")


def parse_networks(value: str, key: str = "networks") -> tuple[str, ...]:
    """CIDR networks separated by spaces or commas, normalized; SettingsError if one is bad."""
    try:
        return names.networks(value, key)
    except names.InvalidName as e:
        raise SettingsError(str(e)) from None


def _secret(settings: dict, environ: dict) -> str:
    """The key that signs session cookies: from the environment, the ini, or ``var/secret``."""
    secret = environ.get("LOCALSHOP_SECRET") or str(settings.get("shop.secret") or "").strip()
    if secret:
        return secret
    var_dir = _file_storage_dir(settings.get("zodbconn.uri", ""))
    if var_dir is None:
        raise SettingsError(
            "shop.secret: set it (or LOCALSHOP_SECRET) when the database is not a local file, "
            "the same value in every process"
        )
    os.makedirs(var_dir, exist_ok=True)
    return _stored_secret(os.path.join(var_dir, "secret"))


def _stored_secret(path: str) -> str:
    """The key in ``path``, made whole on first start: never seen half-written."""
    found = _read_secret(path)
    if found:
        return found
    # Written beside it, then linked into place: a crash mid-write leaves no empty key that
    # the next start would sign cookies with, and a process starting at the same time reads
    # a whole key or none.
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".secret-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
        if found is None:
            try:
                os.link(tmp, path)
            except FileExistsError:  # another process made it first: theirs is the key
                pass
        else:  # empty: what a crash left while an older version wrote it in place
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    key = _read_secret(path)
    if not key:
        raise SettingsError(f"shop.secret: {path} holds no key; remove the file to have one made")
    return key


def _read_secret(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def _file_storage_dir(uri: str) -> str | None:
    parts = urlsplit(uri)
    if parts.scheme != "file" or not parts.path:
        return None
    return os.path.dirname(unquote(parts.path)) or "."


def _sendfile(settings: dict, key: str) -> tuple[str, str, str] | None:
    words = str(settings.get(key) or "").split()
    if not words or words[0].lower() in ("off", "none", "false"):
        return None
    kind = words[0].lower()
    if kind not in ("x-accel-redirect", "x-sendfile") or (
        kind == "x-accel-redirect" and (len(words) != 2 or not words[1].startswith("/"))
    ) or (kind == "x-sendfile" and len(words) != 1):
        raise SettingsError(
            f"{key} = {settings.get(key)!r}: expected 'x-accel-redirect /INTERNAL/PREFIX/', "
            "'x-sendfile' or 'off'"
        )
    blob_dir = _blob_dir(settings.get("zodbconn.uri", ""))
    if blob_dir is None:
        raise SettingsError(f"{key}: zodbconn.uri names no blob directory to send files from")
    prefix = words[1].rstrip("/") + "/" if kind == "x-accel-redirect" else ""
    return kind, prefix, os.path.realpath(blob_dir)


def _blob_dir(uri: str) -> str | None:
    """The blob directory a zodburi URI names (FileStorage's, or a ZEO client's cache)."""
    for item in urlsplit(uri).query.split("&"):
        key, _, value = item.partition("=")
        if key in ("blobstorage_dir", "blob_dir") and value:
            return unquote(value)
    return None


ARGON2_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")


def _argon2_profile(settings: dict, key: str) -> str:
    raw = str(settings.get(key) or "").strip()
    if not raw:
        return ARGON2_PROFILES[0]
    name = raw.upper()
    if name not in ARGON2_PROFILES or not hasattr(argon2.profiles, name):
        raise SettingsError(f"{key} = {raw!r}: expected one of {', '.join(ARGON2_PROFILES)}")
    return name


def _days(settings: dict, key: str) -> float | None:
    raw = str(settings.get(key) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise SettingsError(f"{key} = {raw!r}: expected the days of history to keep, 0 or more"
                            " (unset: never pack on a schedule)")
    return value


def read_settings(settings: dict, environ: dict | None = None) -> Settings:
    """Validate the ``shop.*`` keys of the ini file; raise SettingsError naming a bad key."""
    environ = os.environ if environ is None else environ
    return Settings(
        upstream=_upstream(settings, "shop.upstream"),
        upstream_timeout=_timeout(settings, "shop.upstream.timeout"),
        index_ttl=_int(settings, "shop.mirror.index_ttl", 600),
        max_upload_size=_int(settings, "shop.max_upload_size", GiB, minimum=1),
        admin_password=environ.get("LOCALSHOP_ADMIN_PASSWORD") or None,
        secret=_secret(settings, environ),
        cookie_secure=_bool(settings, "shop.cookie_secure", False),
        default_anonymous_read=_bool(settings, "shop.default.anonymous_read", False),
        default_read_networks=parse_networks(
            str(settings.get("shop.default.read_networks") or ""), "shop.default.read_networks"
        ),
        sendfile=_sendfile(settings, "shop.sendfile"),
        page_cache_size=_int(settings, "shop.page_cache_size", 256 * 1024**2),
        argon2_profile=_argon2_profile(settings, "shop.argon2_profile"),
        prefetch=_bool(settings, "shop.mirror.prefetch", True),
        cleanup_interval=_int(settings, "shop.cleanup_interval", 3600),
        pack_days=_days(settings, "shop.pack_days"),
        stats_interval=_int(settings, "shop.stats.interval", 60, minimum=1),
        metrics_networks=_metrics_networks(settings, "shop.metrics.networks"),
        health_low_disk=_int(settings, "shop.health.low_disk", GiB),
        audit_days=_int(settings, "shop.audit.days", 365, minimum=1),
    )


def _metrics_networks(settings: dict, key: str) -> tuple[str, ...]:
    """The networks that may read /+metrics: loopback unless set; empty or 'none': admins only."""
    raw = settings.get(key)
    if raw is None:
        return Settings.metrics_networks
    raw = str(raw).strip()
    return () if raw.lower() in ("", "none") else parse_networks(raw, key)


def apply_defaults(settings: dict, environ: dict | None = None) -> Settings:
    """Read the ``shop.*`` settings (SettingsError names a bad key), make the directories the
    database needs, and default the settings of the libraries localshop runs on."""
    shop_settings = read_settings(settings, environ)
    ensure_storage_dirs(settings.get("zodbconn.uri", ""))
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("retry.attempts", "5")
    # The transaction note would compute the identity of every request, even anonymous.
    settings.setdefault("tm.annotate_user", "false")
    return shop_settings


def ensure_storage_dirs(uri: str) -> None:
    """Create the directories a ``file://`` zodburi needs (FileStorage creates only files)."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return
    path = unquote(parts.path)
    if path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    for item in parts.query.split("&"):
        key, _, value = item.partition("=")
        if key == "blobstorage_dir" and value:
            os.makedirs(unquote(value), exist_ok=True)
