"""What this process last heard from each upstream: answering, or failing since when and why.

Kept in memory per process (each process of a ZEO or RelStorage setup has its own), by
origin (``scheme://host:port``, never a URL's credentials or path): a repository's state is
its upstream index's origin's, and hosts that serve upstream's files have their own;
``/+health`` shows them.
"""
from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass

from shop.model.folders import utcnow
from shop.model.names import origin_of, without_credentials, without_paths


@dataclass(frozen=True)
class UpstreamState:
    ok: bool
    since: datetime.datetime  # the first answer (or failure) of the current run of them
    last_error: str | None = None  # the latest failure's message (while failing)
    last_ok: datetime.datetime | None = None  # the latest good answer


class UpstreamHealth:
    """The state of each upstream origin this process asked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, UpstreamState] = {}

    def answered(self, url: str) -> None:
        """``url``'s origin answered (whatever it said): it is reachable."""
        origin = origin_of(url)
        state = self._states.get(origin)
        if state is not None and state.ok:
            return  # the common case: nothing changes, nothing is locked
        now = utcnow()
        with self._lock:
            self._states[origin] = UpstreamState(True, now, None, now)

    def failed(self, url: str, error: str) -> None:
        """Asking ``url``'s origin failed with ``error``."""
        origin = origin_of(url)
        with self._lock:
            state = self._states.get(origin)
            if state is None or state.ok:
                since, last_ok = utcnow(), state.last_ok if state is not None else None
            else:
                since, last_ok = state.since, state.last_ok
            self._states[origin] = UpstreamState(False, since, without_paths(without_credentials(error)),
                                                 last_ok)

    def state(self, url: str) -> UpstreamState | None:
        """What was last heard from ``url``'s origin; None when this process never asked it."""
        return self._states.get(origin_of(url))

    def states(self) -> dict[str, UpstreamState]:
        """Every origin asked, and its state."""
        with self._lock:
            return dict(self._states)


