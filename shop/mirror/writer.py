"""The mirror's one writer per process: what it learnt and fetched, committed in few transactions.

Upstream listings, verified files and core metadata are handed to the writer as jobs; its
thread applies everything that has accumulated in one transaction (group commit), so the
storage's commit lock is taken once for many of them and no request waits for it. A job that
fails is dropped from the batch (its future says why) and the others are applied again;
conflicts retry the whole batch. Until a job's future is resolved nothing of it is stored,
and a crash loses at most jobs not yet committed: cache entries fetched again next time.
"""
from __future__ import annotations

import logging
import threading
import weakref
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import transaction
from ZODB.POSException import ConflictError

from shop.model.root import Root, app_root

log = logging.getLogger(__name__)

ATTEMPTS = 5  # conflicting commits of one batch before its jobs fail
MAX_BATCH = 256  # jobs in one transaction at most
IDLE_CHECK = 60.0  # seconds between looks, while idle, whether the database is still there


class WriterBusy(Exception):
    """The database stayed busy (conflicts) for a batch; the message says what was dropped."""


@dataclass(eq=False)
class Job:
    apply: Callable[[Root], Any]  # runs in the writer's transaction, maybe more than once
    key: Hashable  # what it writes (a project), for ``Writer.wait_for``
    future: Future = field(default_factory=Future)
    then: Callable[[Any], Any] | None = None  # turns apply's result into the future's,
    # right after the commit, in the writer's connection (a blob's committed file name)


class Writer:
    """One thread per process committing the mirror's jobs in batches."""

    def __init__(self, db) -> None:
        self._db = weakref.ref(db)  # the thread ends with the database (tests make many)
        self._cond = threading.Condition()
        self._queue: list[Job] = []
        self._running: list[Job] = []
        self._expected: dict[Hashable, int] = {}  # keys of jobs announced, not submitted yet
        self._thread: threading.Thread | None = None

    def submit(self, apply: Callable[[Root], Any], *, key: Hashable = None,
               then: Callable[[Any], Any] | None = None, expected: bool = False) -> Future:
        """Queue ``apply(root)``; the future has its result (through ``then``, if given)
        once committed, or its error. ``expected``: the job ``expect`` announced."""
        job = Job(apply, key, then=then)
        with self._cond:
            if expected and self._expected.get(key, 0) > 1:
                self._expected[key] -= 1
            elif expected:
                self._expected.pop(key, None)
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="mirror-writer")
                self._thread.start()
            self._cond.notify_all()
        return job.future

    def expect(self, key: Hashable) -> None:
        """A job for ``key`` is on its way (``submit`` follows): ``pending`` and
        ``wait_for`` count it from now."""
        with self._cond:
            self._expected[key] = self._expected.get(key, 0) + 1

    def wait_for(self, key: Hashable, timeout: float) -> bool:
        """Wait until no job for ``key`` is queued or being written; False on time-out."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._has(key), timeout)

    def _has(self, key: Hashable) -> bool:
        return key in self._expected or any(job.key == key for job in self._queue + self._running)

    def busy(self) -> bool:
        with self._cond:
            return bool(self._queue or self._running or self._expected)

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._queue, IDLE_CHECK):
                    if self._db() is None:
                        self._thread = None
                        return
                    continue
                self._running, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                self._write(self._running)
            except Exception as e:  # never leave a waiting client without an answer
                log.exception("mirror writer: a batch failed")
                for job in self._running:
                    if not job.future.done():
                        job.future.set_exception(e)
            finally:
                with self._cond:
                    self._running = []
                    self._cond.notify_all()

    def _write(self, jobs: list[Job]) -> None:
        """Apply ``jobs`` in one transaction and commit; retry conflicts, drop failed jobs."""
        attempts = 0
        while jobs:
            results, failed = self._attempt(jobs)
            if failed is not None:  # aborted: the others again, at once
                jobs = [job for job in jobs if job is not failed]
                continue
            if results is not None:
                for job in jobs:
                    outcome = results[id(job)]
                    if isinstance(outcome, BaseException):
                        job.future.set_exception(outcome)
                    else:
                        job.future.set_result(outcome)
                return
            attempts += 1
            if attempts >= ATTEMPTS:
                error = WriterBusy(f"the database stayed busy: {len(jobs)} mirror writes dropped"
                                   " (they are fetched again when asked)")
                for job in jobs:
                    job.future.set_exception(error)
                return

    def _attempt(self, jobs: list[Job]) -> tuple[dict | None, Job | None]:
        """One transaction: (results by job id, None) once committed, (None, job) when that
        job failed, (None, None) after a conflict."""
        db = self._db()
        if db is None:
            raise WriterBusy("the database was closed: mirror writes dropped")
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            tm.begin()
            root = app_root(conn)
            results = {}
            for job in jobs:
                try:
                    results[id(job)] = job.apply(root)
                except ConflictError:
                    raise
                except Exception as e:
                    tm.abort()
                    job.future.set_exception(e)
                    return None, job
            tm.get().note(f"localshop mirror: {len(jobs)} writes")
            tm.commit()
            for job in jobs:
                if job.then is not None:
                    results[id(job)] = _then(job, results[id(job)])
            return results, None
        except ConflictError:
            tm.abort()
            log.info("mirror writer: conflict committing %d writes; again", len(jobs))
            return None, None
        except BaseException:  # a commit that failed otherwise (a full disk): nothing of it stays
            tm.abort()
            raise
        finally:
            conn.close()


def _then(job: Job, result):
    """``job.then(result)``, or the error it raised (the job's write is committed)."""
    try:
        return job.then(result)
    except Exception as e:
        return e
