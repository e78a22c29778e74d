"""Requests for projects awaiting approval (shop.mirror.asking): written by the writer at most
once a minute per project, the requests in between counted with the next write."""
from __future__ import annotations

from concurrent.futures import Future

from shop.mirror import asking


class Writer:
    """The writer's ``submit``, keeping the jobs."""

    def __init__(self) -> None:
        self.jobs = []

    def submit(self, apply, *, key=None):
        self.jobs.append((key, apply.keywords))
        future = Future()
        future.set_result(True)
        return future


def test_a_projects_requests_are_written_once_a_minute_and_all_counted():
    now = [100.0]
    writer = Writer()
    noted = asking.Asking(writer, clock=lambda: now[0])
    for _ in range(5):
        noted.note("default", "demo", "Demo", "anonymous", "10.0.0.5")
    noted.note("default", "other", "other", "bob", "10.0.0.6")
    now[0] += asking.INTERVAL
    noted.note("default", "demo", "Demo", "alice", "10.0.0.7")
    written = [(key, job["times"], job["user"]) for key, job in writer.jobs]
    assert written == [(("approval", "default", "demo"), 1, "anonymous"),
                       (("approval", "default", "other"), 1, "bob"),
                       (("approval", "default", "demo"), 5, "alice")]


def test_a_flood_of_names_is_forgotten_not_kept(monkeypatch):
    monkeypatch.setattr(asking, "REMEMBERED", 10)
    now = [0.0]
    noted = asking.Asking(Writer(), clock=lambda: now[0])
    for i in range(25):
        now[0] += 1
        noted.note("default", f"name-{i}", f"name-{i}", "anonymous", "::1")
    assert len(noted._noted) <= 10
