"""A repository's cooldown: upstream files younger than a minimum age, or uploaded after a
fixed date, are held back (not listed, not served) until they are old enough.

Settings as people write them: ``--min-age 7d`` (``36h``, ``90m``, ``2w``; ``0`` off),
``--exclude-newer 2026-11-01T00:00:00Z`` (ISO 8601; ``none`` off), ``--cooldown-exempt
"NAME NAME==VERSION"`` (the break-glass for an urgent fix). An upstream file whose upload
time upstream never said is held back while a cooldown is on: it fails closed.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from shop.model import names

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_AGE = datetime.timedelta(days=3660)
EXEMPT_LIMIT = 200  # names in the exemption list
_DURATION = re.compile(r"(\d{1,6})\s*([smhdw])")


class CooldownError(ValueError):
    """A cooldown setting that cannot be read; the message says how to write it."""


def parse_min_age(value: str) -> datetime.timedelta | None:
    """``7d``, ``36h``, ``1d12h``, ``90m``, ``2w`` as a timedelta; None for ``0``/``none``/empty."""
    text = str(value).strip().lower().replace(" ", "")
    if text in ("", "0", "none", "off"):
        return None
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise CooldownError(f"Invalid minimum age {str(value)[:50]!r}: give a number and a "
                            "unit, s m h d w (7d, 36h, 1d12h); 0 for none.")
    age = datetime.timedelta(seconds=sum(int(n) * UNITS[u] for n, u in parts))
    if age > MAX_AGE:
        raise CooldownError(f"Invalid minimum age {value!r}: at most {MAX_AGE.days} days.")
    return age or None


def format_min_age(age: datetime.timedelta | None) -> str:
    """A minimum age as ``parse_min_age`` reads it back: ``7d``, ``36h``, ``0``."""
    if not age:
        return "0"
    seconds = int(age.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_exclude_newer(value: str) -> datetime.datetime | None:
    """An ISO 8601 date or time (UTC unless it says otherwise) as an aware datetime; None
    for ``none``/empty."""
    text = str(value).strip()
    if text.lower() in ("", "none", "off"):
        return None
    try:
        when = datetime.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise CooldownError(f"Invalid date {text[:50]!r}: give an ISO 8601 date or time "
                            "(2026-11-01, 2026-11-01T12:00:00Z); none for none.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc)


def format_exclude_newer(when: datetime.datetime | None) -> str:
    if when is None:
        return "none"
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_exempt(value: str) -> tuple[str, ...]:
    """``"NAME NAME==VERSION ..."`` as sorted ``name`` / ``name==version`` strings (names
    normalized, versions canonical); empty for an empty string."""
    exempt = set()
    words = str(value).replace(",", " ").split()
    if len(words) > EXEMPT_LIMIT:
        raise CooldownError(f"Too many cooldown exemptions ({len(words)}): at most {EXEMPT_LIMIT}.")
    for word in words:
        name, sep, version = word.partition("==")
        if not names.is_valid_name(name) or (sep and not version):
            raise CooldownError(f"Invalid cooldown exemption {word[:100]!r}: give NAME or "
                                "NAME==VERSION, separated by spaces.")
        if sep:
            try:
                version = names.version_key(version)
            except names.InvalidName as e:
                raise CooldownError(f"Invalid cooldown exemption {word[:100]!r}: {e}") from None
        exempt.add(names.normalize(name) + (f"=={version}" if sep else ""))
    return tuple(sorted(exempt))


@dataclass(frozen=True)
class Cooldown:
    """A repository's cooldown at one moment: what it holds back, and until when."""

    cut: datetime.datetime | None  # files uploaded after this are held back; None: no cooldown
    min_age: datetime.timedelta | None
    exclude_newer: datetime.datetime | None
    exempt: frozenset[str]

    def exempts(self, project: str, release_key: str) -> bool:
        return project in self.exempt or f"{project}=={release_key}" in self.exempt

    def holds(self, project: str, release_key: str,
              uploaded: datetime.datetime | None) -> bool:
        """Whether an upstream file of ``project`` (normalized) ``release_key`` uploaded at
        ``uploaded`` (None: unknown, held) is held back."""
        if self.cut is None or self.exempts(project, release_key):
            return False
        return uploaded is None or _aware(uploaded) > self.cut

    def released_at(self, uploaded: datetime.datetime | None) -> datetime.datetime | None:
        """When a file held back now is offered by itself (None: only a change of settings
        offers it: its upload time is unknown, or after the fixed date)."""
        if uploaded is None or self.min_age is None:
            return None
        uploaded = _aware(uploaded)
        if self.exclude_newer is not None and uploaded > self.exclude_newer:
            return None
        return uploaded + self.min_age

    def describe(self) -> str:
        parts = []
        if self.min_age:
            parts.append(f"younger than {format_min_age(self.min_age)}")
        if self.exclude_newer is not None:
            parts.append(f"uploaded after {format_exclude_newer(self.exclude_newer)}")
        return " or ".join(parts)


def cooldown_of(repository, now: datetime.datetime) -> Cooldown:
    """The repository's cooldown at ``now`` (aware, UTC)."""
    min_age = getattr(repository, "min_age", None)
    exclude_newer = getattr(repository, "exclude_newer", None)
    cuts = [c for c in (now - min_age if min_age else None, exclude_newer) if c is not None]
    return Cooldown(min(cuts) if cuts else None, min_age, exclude_newer,
                    frozenset(getattr(repository, "cooldown_exempt", ())))


def _aware(when: datetime.datetime) -> datetime.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=datetime.timezone.utc)
