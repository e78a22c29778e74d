"""The database read at scrape and health-check time, within a time limit: a stopped ZEO
server must not hang ``/+health`` or ``/+metrics``."""
from __future__ import annotations

import threading
from concurrent.futures import Future, TimeoutError
from dataclasses import dataclass

from shop.storage import StorageUnavailable, ping, root_transaction

TIMEOUT = 2.0  # seconds the database has to answer


@dataclass(frozen=True)
class RepositoryCounts:
    name: str
    upstream: str | None  # the URL it mirrors (credentials and all: never shown as it is)
    files: int  # stored files (hosted, and mirrored with their bytes)
    bytes: int  # their bytes


class Probe:
    """Reads what the repositories hold, in a thread of its own, waiting at most ``timeout``.

    A read that hangs (a ZEO client waiting for its server) is not started again while it
    hangs: the callers meanwhile share it, so stuck threads never pile up.
    """

    def __init__(self, db, timeout: float = TIMEOUT) -> None:
        self.db = db
        self.timeout = timeout
        self._lock = threading.Lock()
        self._reading: Future | None = None

    def repositories(self) -> list[RepositoryCounts]:
        """Every repository's counts; StorageUnavailable saying why when there are none."""
        with self._lock:
            if self._reading is None or self._reading.done():
                self._reading = Future()
                threading.Thread(target=self._read, args=(self._reading,), daemon=True,
                                 name="probe").start()
            reading = self._reading
        try:
            return reading.result(self.timeout)
        except TimeoutError:
            message = f"the database did not answer within {self.timeout:g} s"
            raise StorageUnavailable(message) from None
        except StorageUnavailable:
            raise
        except Exception as e:  # ZEO's ClientDisconnected, a database that is closed...
            raise StorageUnavailable(f"the database failed: {e.__class__.__name__}: {e}") from None

    def _read(self, future: Future) -> None:
        try:
            ping(self.db)
            with root_transaction(self.db) as root:
                found = [RepositoryCounts(name, repository.upstream or None,
                                          repository.stored_files(), repository.stored_bytes())
                         for name, repository in root.repositories.items()]
        except BaseException as e:  # handed to the waiting caller
            future.set_exception(e)
        else:
            future.set_result(found)
