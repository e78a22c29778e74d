"""The ``shop.*`` settings, read and validated once at start-up."""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pypi_simple import PYPI_SIMPLE_ENDPOINT

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
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{key} = {raw!r}: expected an http(s) URL of a simple index, or 'none'")
    return raw if raw.endswith("/") else raw + "/"


def read_settings(settings: dict, environ: dict | None = None) -> Settings:
    """Validate the ``shop.*`` keys of the ini file; raise SettingsError naming a bad key."""
    environ = os.environ if environ is None else environ
    return Settings(
        upstream=_upstream(settings, "shop.upstream"),
        upstream_timeout=_timeout(settings, "shop.upstream.timeout"),
        index_ttl=_int(settings, "shop.mirror.index_ttl", 600),
        max_upload_size=_int(settings, "shop.max_upload_size", GiB, minimum=1),
        admin_password=environ.get("LOCALSHOP_ADMIN_PASSWORD") or None,
    )


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
