"""Approval of new upstream projects (shop.model.approval) on DemoStorage: pending requests,
approving, denying, and what the audit log is told."""
from __future__ import annotations

import datetime

import pytest

from shop.model import approval, events, offers, repositories
from shop.model.mirrored import replace_listing
from shop.model.tree import Package

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
ENTRY = ("demo-1.0-py3-none-any.whl", "https://up.example/demo-1.0-py3-none-any.whl", "1",
         "1.0", "bdist_wheel", "ab" * 32, 10, T0, None, False, "", None)


@pytest.fixture
def approving(repository, tm):
    """The default repository, approving new projects, as the command line sets it."""
    events.act(tm, events.Actor("admin", "10.0.0.1"))
    repositories.configure(repository, upstream="https://up.example/simple/",
                           approve_new_projects=True)
    return repository


def mirrored(repository, name: str = "demo", display: str = "Demo") -> Package:
    """A project the mirror stores (``_store_listing``): held for approval first."""
    assert approval.hold(repository, name, display)
    package = repository.add(name, Package(display))
    replace_listing(package, (ENTRY,), None, None, "token")
    return package


def test_a_project_the_mirror_stores_awaits_approval_until_approved(approving):
    package = mirrored(approving)
    assert offers.awaiting_approval(package)
    request = approval.approve(approving, "Demo")
    assert request.display == "Demo" and not offers.awaiting_approval(package)
    assert "demo" not in approving.pending_projects and approval.pending_count(approving) == 0


def test_who_asked_first_and_last_and_how_often(approving):
    mirrored(approving)
    approval.request_approval(approving, "demo", "Demo", "anonymous", "10.0.0.5", when=T0)
    later = T0 + datetime.timedelta(hours=1)
    approval.request_approval(approving, "demo", "Demo", "alice", "10.0.0.6", times=3, when=later)
    (shown,) = approval.pending(approving)
    r = shown.request
    assert (r.first_by, r.first_from, r.first_at) == ("anonymous", "10.0.0.5", T0)
    assert (r.last_by, r.last_from, r.last_at, r.times) == ("alice", "10.0.0.6", later, 4)
    assert (shown.latest, shown.files) == ("1.0", 1)


def test_a_request_arriving_after_the_approval_does_not_put_it_back(approving):
    mirrored(approving)
    approval.approve(approving, "demo")
    assert approval.request_approval(approving, "demo", "Demo", "anonymous", "::1") is None
    assert approval.pending(approving) == []


def test_projects_stored_before_approvals_began_are_never_pending(repository):
    before = repository.add("old", Package("old"))
    repositories.configure(repository, upstream="https://up.example/simple/",
                           approve_new_projects=True)
    assert not offers.awaiting_approval(before)
    assert approval.request_approval(repository, "old", "old", "anonymous", "::1") is None


def test_a_hosted_project_never_awaits_approval_and_leaves_the_list(approving):
    package = mirrored(approving)
    package.hosted = True  # uploaded here since
    assert not offers.awaiting_approval(package) and approval.pending(approving) == []
    approving.pending_projects.pop("demo")
    with pytest.raises(approval.ApprovalError, match="hosted projects never await approval"):
        approval.approve(approving, "demo")


def test_approving_a_name_nobody_asked_for_says_how_it_works(approving):
    with pytest.raises(approval.ApprovalError, match="Nobody has asked for nothing-here"):
        approval.approve(approving, "nothing-here")
    approving.add("served", Package("served"))
    with pytest.raises(approval.ApprovalError, match="served already"):
        approval.approve(approving, "served")
    with pytest.raises(approval.ApprovalError, match="Invalid"):
        approval.approve(approving, "not a name!")


def test_approving_a_request_whose_listing_is_not_stored_yet_stores_it_approved(approving):
    approval.request_approval(approving, "early", "Early", "anonymous", "::1")
    approval.approve(approving, "early")
    assert approving["early"].name == "Early" and not offers.awaiting_approval(approving["early"])


def test_deny_blocks_it_here_takes_it_out_and_records_both(approving, root):
    package = mirrored(approving)
    approval.request_approval(approving, "demo", "Demo", "anonymous", "10.0.0.5")
    with pytest.raises(approval.ApprovalError, match="Give a reason"):
        approval.deny(approving, "demo", "  ")
    block = approval.deny(approving, "demo", "not  vetted")
    assert (block.spec, block.repository, block.reason, block.by, block.source) == (
        "demo", "default", "not vetted", "admin", "denied")
    assert approval.pending(approving) == [] and not offers.awaiting_approval(package)
    file = package.files()[0]
    assert offers.Rules(package).file_refusal(file).status == 403
    assert approval.request_approval(approving, "demo", "Demo", "anonymous", "::1") is None
    block_event, denied = [e for e in events.recorded(root) if e.kind in (events.BLOCK, events.APPROVAL)]
    assert block_event.detail == {"action": "added", "spec": "demo", "reason": "not vetted",
                                  "source": "denied"}
    assert (denied.project, denied.detail["action"], denied.detail["asked"]) == ("Demo", "denied", "1")
    assert denied.detail["first_asked_by"] == "anonymous 10.0.0.5"


def test_a_denied_name_not_stored_yet_is_blocked_not_awaiting(approving):
    approval.request_approval(approving, "early", "early", "anonymous", "::1")
    approval.deny(approving, "early", "typosquat")
    assert approval.hold(approving, "early", "early")  # stored, as a blocked project
    assert "early" not in approving.pending_projects
    transient = Package("early")
    transient.__name__, transient.__parent__ = "early", approving
    assert not offers.awaiting_approval(transient)


def test_an_approval_is_recorded_with_who_asked(approving, root):
    mirrored(approving)
    approval.request_approval(approving, "demo", "Demo", "bob", "10.0.0.9")
    approval.approve(approving, "demo")
    (event,) = [e for e in events.recorded(root) if e.kind == events.APPROVAL]
    assert (event.repository, event.project, event.actor.user) == ("default", "Demo", "admin")
    assert event.detail == {"action": "approved", "asked": "1", "first_asked_by": "bob 10.0.0.9"}


def test_past_the_limit_new_requests_are_neither_kept_nor_stored(approving, monkeypatch, caplog):
    monkeypatch.setattr(approval, "LIMIT", 2)
    mirrored(approving, "one")
    approval.request_approval(approving, "two", "two", "anonymous", "::1")
    assert not approval.hold(approving, "three", "three")
    assert approval.request_approval(approving, "four", "four", "anonymous", "::1") is None
    assert "2 projects await approval already; four is not recorded" in caplog.text
    assert approval.request_approval(approving, "two", "two", "alice", "::1").times == 2
    approval.approve(approving, "one")
    assert approval.hold(approving, "three", "three")


def test_the_most_recently_asked_come_first(approving):
    for i, name in enumerate(("a", "b", "c")):
        approval.request_approval(approving, name, name, "anonymous", "::1",
                                  when=T0 + datetime.timedelta(minutes=(i * 2) % 3))
    assert [p.name for p in approval.pending(approving)] == ["b", "c", "a"]
    assert [p.name for p in approval.pending(approving, limit=1)] == ["b"]


def test_a_repository_that_stops_approving_takes_no_new_requests(approving):
    repositories.configure(approving, approve_new_projects=False)
    assert approval.hold(approving, "new", "new") and "new" not in approving.pending_projects
    assert approval.request_approval(approving, "new", "new", "anonymous", "::1") is None
