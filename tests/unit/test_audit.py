"""The audit log (shop/model/audit.py): written at commit, filtered and paged, expired."""
from __future__ import annotations

import time

import pytest

from shop.model import audit, events, repositories
from shop.operations.retention import AUDIT_BATCH, expire_audit
from tests.unit.conftest import other_connection

DAY = 86400


def entry(when: float, kind: str = events.UPLOAD, user: str = "alice", repository: str = "team",
          project: str = "demo", **detail: str) -> audit.Entry:
    return audit.Entry(when, kind, user, "10.0.0.1", repository=repository, project=project,
                       detail=tuple(detail.items()))


def committed(db):
    """The audit log as another connection sees it: only what was committed."""
    return audit.log_of(other_connection(db).root()["localshop"])


def test_a_change_is_in_the_log_once_its_transaction_commits(db, root, tm):
    events.act(tm, events.Actor("alice", "10.0.0.7"))
    repositories.add_repository(root, "team")
    assert len(committed(db)) == 0
    tm.commit()
    (found,) = committed(db).since()
    assert (found.kind, found.user, found.address, found.repository) == (
        events.REPOSITORY, "alice", "10.0.0.7", "team")
    assert dict(found.detail)["action"] == "created"


def test_a_rolled_back_change_leaves_no_entry(db, root, tm):
    repositories.add_repository(root, "team")
    tm.abort()
    tm.commit()
    assert len(committed(db)) == 0 and len(audit.log_of(root)) == 0


def test_an_old_database_gets_an_empty_log_at_start_up(conn, root, tm):
    from shop.model.bootstrap import bootstrap
    del root.audit
    tm.commit()
    assert audit.log_of(root) is None
    again, _ = bootstrap(conn.root(), None)
    assert len(audit.log_of(again)) == 0


def _fill(log, count: int, start: float = 1_700_000_000.0) -> None:
    for n in range(count):
        log.add(entry(start + n, kind=(events.YANK if n % 3 == 0 else events.UPLOAD),
                      user=("bob" if n % 2 else "alice"), project=f"Proj_{n % 5}"))


def test_pages_go_newest_first_and_back(root):
    log = audit.log_of(root)
    _fill(log, 23)
    first = audit.page(log, {}, size=10)
    times = [e.time for _, e in first.entries]
    assert times == sorted(times, reverse=True) and len(times) == 10 and first.newer is None
    second = audit.page(log, {}, before=first.older, size=10)
    third = audit.page(log, {}, before=second.older, size=10)
    assert len(third.entries) == 3 and third.older is None
    everything = [k for p in (first, second, third) for k, _ in p.entries]
    assert everything == sorted(log.entries.keys(), reverse=True)
    back = audit.page(log, {}, after=second.newer, size=10)
    assert back.entries == first.entries and back.newer is None


def test_filters_combine_and_normalize_the_project(root):
    log = audit.log_of(root)
    _fill(log, 60)
    found = audit.page(log, {"user": "alice", "kind": events.YANK, "project": "proj-0"}, size=100)
    expected = [e for e in log.since() if e.user == "alice" and e.kind == events.YANK
                and e.project == "Proj_0"]
    assert [e for _, e in found.entries] == sorted(expected, key=lambda e: -e.time)
    assert len(expected) == 2
    assert audit.page(log, {"user": "nobody"}).entries == []
    assert audit.page(log, {"repository": "other"}).entries == []


def test_filtered_pages_resume_where_the_last_ended(root):
    log = audit.log_of(root)
    _fill(log, 90)
    keys, cursor = [], None
    while True:
        found = audit.page(log, {"user": "bob", "kind": events.YANK}, before=cursor, size=4)
        keys += [k for k, _ in found.entries]
        if found.older is None:
            break
        cursor = found.older
    assert keys == sorted(k for k, e in log.entries.items() if e.user == "bob" and e.kind == events.YANK)[::-1]


def test_a_page_does_bounded_work_and_says_how_far_it_looked(root):
    log = audit.log_of(root)
    _fill(log, 200)  # alice's yanks and bob's uploads interleave: a long leapfrog
    found = audit.page(log, {"user": "alice", "kind": events.UPLOAD}, size=50, max_steps=30)
    assert found.searched_to is not None and found.older is not None
    rest = audit.page(log, {"user": "alice", "kind": events.UPLOAD}, before=found.older, size=50)
    assert all(k < found.older for k, _ in rest.entries)


def test_an_entry_is_found_by_the_account_it_is_about(root):
    log = audit.log_of(root)
    log.add(audit.Entry(2.0, events.PASSWORD, "admin", "local", detail=(("user", "carol"),)))
    assert [e.time for _, e in audit.page(log, {"user": "carol"}).entries] == [2.0]


def test_retention_drops_what_is_older_than_the_days_in_batches(db, root, tm):
    log = audit.log_of(root)
    now = time.time()
    for n in range(AUDIT_BATCH + 5):
        log.add(entry(now - 400 * DAY + n))
    log.add(entry(now - 10 * DAY, user="kept", project="other"))
    tm.commit()
    assert expire_audit(db, 365, now=now) == AUDIT_BATCH + 5
    tm.abort()
    assert [e.user for e in audit.log_of(root).since()] == ["kept"]
    assert len(audit.log_of(root)) == 1
    # The indexes went with the entries: nothing is left under alice, or project demo.
    assert set(audit.log_of(root).indexes) == {("user", "kept"), ("repository", "team"),
                                               ("project", "other"), ("kind", events.UPLOAD)}
    assert expire_audit(db, 365, now=now) == 0


@pytest.mark.parametrize("days", [1, 30])
def test_retention_keeps_what_is_younger(db, root, tm, days):
    now = time.time()
    audit.log_of(root).add(entry(now - days * DAY + 60))
    tm.commit()
    assert expire_audit(db, days, now=now) == 0


def test_concurrent_writers_of_the_log_do_not_conflict(db, root, tm):
    repositories.add_repository(root, "seed")  # the kind's index exists: both add to it
    tm.commit()
    first, second = other_connection(db), other_connection(db)
    try:
        for conn, name in ((first, "alpha"), (second, "beta")):
            conn.transaction_manager.begin()
            events.act(conn.transaction_manager, events.Actor(name, "10.0.0.1"))
            repositories.add_repository(conn.root()["localshop"], name)
        first.transaction_manager.commit()
        second.transaction_manager.commit()  # resolved by the BTrees: nothing to retry
    finally:
        first.close()
        second.close()
    assert sorted(e.user for e in committed(db).since()) == ["alpha", "beta", "unknown"]


def test_cursors_and_moments_past_what_a_key_holds_find_nothing_rather_than_fail(root):
    log = audit.log_of(root)
    _fill(log, 3)
    assert len(audit.page(log, {}, before=10**30).entries) == 3
    assert audit.page(log, {}, after=10**30).entries == []
    assert list(log.since(32503680000.0)) == []  # the year 3000
    assert len(list(log.since(-1.0))) == 3


def test_an_entry_is_found_from_the_time_it_is_shown_with(root):
    """``--since`` with an entry's shown time finds it: 1764624883.7487526 is shown as
    .748753 (datetime rounds it up) while ``round(t * 1e6)`` gives .748752."""
    from shop.scripts.audit import parse_since
    log = audit.log_of(root)
    for moment in (1_700_000_000.0, 1764624883.702199, 1764624883.7487526):  # oldest first
        log.add(entry(moment, user=str(moment)))
        newest = log.since(parse_since(entry(moment).as_dict()["time"]))
        assert [e.user for e in newest] == [str(moment)]
