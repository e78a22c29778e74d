"""The server's periodic work: a daemon thread calling ``tick(services)`` every few seconds.

It holds the process's services weakly: an application that is gone (tests make many)
takes its thread with it at the next wake-up. A tick that fails is logged; the next one
tries again, and the server keeps serving.
"""
from __future__ import annotations

import logging
import threading
import weakref

log = logging.getLogger(__name__)


class Periodic:
    """Calls ``tick(services)`` every ``period`` seconds, in a thread of its own."""

    name = "periodic"  # the thread's name
    failure = "the periodic work failed"  # logged, with the error, when a tick raises

    def __init__(self, services, period: float) -> None:
        self._services = weakref.ref(services)
        self.period = period
        self._stop = threading.Event()

    def start(self) -> "Periodic":
        threading.Thread(target=self._loop, daemon=True, name=self.name).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            services = self._services()
            if services is None:
                return
            try:
                self.tick(services)
            except Exception:
                log.exception("%s: %s", self.name, self.failure)
            del services

    def tick(self, services) -> object:
        """One round of the work."""
        raise NotImplementedError
