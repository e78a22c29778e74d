"""Events recorded per transaction: by whom, once, gone when the transaction is rolled back."""
from __future__ import annotations

import pytest

from shop.access import accounts
from shop.access.passwords import Passwords
from shop.model import events, repositories


@pytest.fixture
def passwords():
    return Passwords("CHEAPEST")


def test_a_change_is_recorded_with_who_made_it(root, tm):
    events.act(tm, events.Actor("alice", "10.0.0.7"))
    repository = repositories.add_repository(root, "team")
    repositories.configure(repository, anonymous_read=True, title="Team")
    (created, changed) = events.recorded(root)
    assert (created.kind, created.repository, created.actor) == (
        events.REPOSITORY, "team", events.Actor("alice", "10.0.0.7"))
    assert changed.detail == {"action": "settings", "anonymous_read": "True", "title": "Team"}


def test_the_actor_is_asked_when_the_first_event_is_recorded(root, tm):
    asked = []
    events.act(tm, lambda: asked.append(1) or events.Actor("bob", "::1"))
    assert not asked
    repositories.add_repository(root, "team")
    assert events.recorded(root)[0].actor.user == "bob" and asked == [1]


def test_nothing_changed_records_nothing(root):
    repository = repositories.get_repository(root, "default")
    repositories.configure(repository, anonymous_read=repository.anonymous_read)
    repositories.set_role(repository, user="nobody-here", role="none")
    assert events.recorded(root) == []


def test_a_rolled_back_transaction_takes_its_events_with_it(root, tm, passwords):
    accounts.add_user(root, "carol", "a-long-password", passwords=passwords)
    assert [e.kind for e in events.recorded(root)] == [events.USER]
    tm.abort()
    assert events.recorded(root) == []
    tm.commit()  # a new transaction: nothing carried over
    assert events.recorded(root) == []


def test_an_upstreams_credentials_are_never_in_an_event_but_their_change_is(root):
    repository = repositories.add_repository(root, "team", upstream="https://bob:s3cret@mirror.test/simple/")
    repositories.configure(repository, upstream="https://bob:other-s3cret@mirror.test/simple/")
    repositories.configure(repository, upstream="https://mirror.test/simple/")
    created, rotated, dropped = events.recorded(root)
    assert "s3cret" not in repr(events.recorded(root)) and "bob" not in repr(events.recorded(root))
    assert created.detail["upstream"].startswith("https://mirror.test/simple/ (with credentials #")
    assert rotated.detail["upstream"] != created.detail["upstream"]  # the change is recorded
    assert dropped.detail["upstream"] == "https://mirror.test/simple/"
