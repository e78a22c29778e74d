"""Who asks for projects awaiting approval: noted for the admins, at most once a minute each.

A client asking for an upstream project that its repository has not approved yet is told
404 (``shop.model.offers.awaiting_approval``); the request's own transaction is rolled back.
What it asked is written by the process's writer instead (``shop.model.approval``), and pip
retrying the same page writes nothing more: per process, a project's requests are written
at most once per ``INTERVAL``, those in between counted with the next write.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from concurrent.futures import Future
from typing import Callable

from shop.mirror.writer import Writer
from shop.model import approval
from shop.model.folders import utcnow

log = logging.getLogger(__name__)

INTERVAL = 60.0  # seconds between two writes of one project's requests, per process
REMEMBERED = 20_000  # projects remembered at most; then those written long enough ago go


class Asking:
    """The requests for projects awaiting approval this process noted, by (repository,
    project): when last written (``time.monotonic()``), and how many since."""

    def __init__(self, writer: Writer, clock: Callable[[], float] = time.monotonic) -> None:
        self.writer, self.clock = writer, clock
        self._lock = threading.Lock()
        self._noted: dict[tuple[str, str], list] = {}  # place -> [written at, asked since]

    def note(self, repository: str, name: str, display: str, user: str,
             address: str) -> Future | None:
        """Note a request for ``name`` in ``repository``: handed to the writer (its future
        returned) unless one was written less than ``INTERVAL`` ago (then counted)."""
        place, now = (repository, name), self.clock()
        with self._lock:
            noted = self._noted.get(place)
            if noted is not None and now - noted[0] < INTERVAL:
                noted[1] += 1
                return None
            times = 1 + (noted[1] if noted is not None else 0)
            self._noted[place] = [now, 0]
            if len(self._noted) > REMEMBERED:
                self._forget(now)
        apply = functools.partial(_write, repository=repository, name=name, display=display,
                                  user=user, address=address, times=times, when=utcnow())
        future = self.writer.submit(apply, key=("approval",) + place)
        future.add_done_callback(functools.partial(_said_if_lost, name=name))
        return future

    def _forget(self, now: float) -> None:
        """Those written more than ``INTERVAL`` ago (their uncounted requests with them);
        all, if that is not enough (a flood of names)."""
        for place in [p for p, (at, _) in self._noted.items() if now - at >= INTERVAL]:
            del self._noted[place]
        if len(self._noted) > REMEMBERED:
            self._noted.clear()


def _write(root, *, repository: str, name: str, display: str, user: str, address: str,
           times: int, when) -> bool:
    """The writer's job: the request, in the tree; False when it was not kept."""
    target = root.repositories.get(repository)
    if target is None:
        return False
    return approval.request_approval(target, name, display, user, address, times=times,
                                     when=when) is not None


def _said_if_lost(future: Future, *, name: str) -> None:
    if future.exception() is not None:
        log.warning("approval: the request for %s was not recorded: %s", name,
                    future.exception())
