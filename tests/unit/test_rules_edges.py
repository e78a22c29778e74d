"""The edges of the supply-chain rules a review found: pre-releases below a range's end,
OSV aliases read in any order, approvals and blocks together, upload times learnt late."""
from __future__ import annotations

import datetime
import json

import pytest
from ZODB.blob import Blob

from shop.hosting.attestations import AttestationRefused, check_provenance, check_upload
from shop.mirror.lookup import Answer, pending_view
from shop.model import approval, blocking, events, mirrored, osv, repositories, status
from shop.model.blocks import Block
from shop.model.listings import UpstreamListing
from shop.model.names import version_key
from shop.model.offers import Rules, awaiting_approval, latest_release
from shop.model.tree import Package, Release, ReleaseFile

from tests.unit.test_approval import approving  # noqa: F401 (a fixture)

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)


def entry(version: str, uploaded=T0) -> tuple:
    return (f"demo-{version}-py3-none-any.whl", f"https://up.example/demo-{version}.whl",
            version_key(version), version, "bdist_wheel", "ab" * 32, 10, uploaded, None, False, "", None)


def block(specifier: str) -> Block:
    return Block("foo", specifier, "", "r", T0)


@pytest.mark.parametrize("version, blocked", [
    ("1.9", True), ("2.0rc1", True), ("2.0.dev1", True), ("2.0a1.post1", True),
    ("2.0", False), ("2.0.post1", False), ("3.0", False),
])
def test_a_range_end_blocks_the_pre_releases_before_it(version, blocked):
    assert block("<2.0").matches(version) is blocked


def test_last_affected_and_lower_bounds_are_plain_order_too():
    within = block("<=1.2,>=1.0")
    assert [within.matches(v) for v in ("0.9", "1.0rc1", "1.0", "1.2", "1.2.post1")] == \
        [False, False, True, True, False]
    assert block("==2.99.0").matches("2.99") and not block("==2.99.0").matches("2.99.0rc1")
    assert block("<=1.0").matches("1.0+internal") and not block(">1.0").matches("1.0+internal")
    assert block("<2.0").matches("1.9+internal") and not block("<2.0").matches("2.0+internal")


def test_pinned_versions_are_found_by_version_as_equality_compares_them(repository, root):
    package = repository.add("foo", Package("foo"))
    for spec in ("foo==1.0", "foo==2.0rc1", "foo==3.*", "foo<0.5", "foo<1.1"):
        blocking.add_block(root, spec, "bad")
    rules = Rules(package)
    found = {v: (rules.blocked(v).spec if rules.blocked(v) else None)
             for v in ("1.0", "1.0.0", "1.0+local", "1.0.post1", "2.0rc1", "2.0", "3.1", "0.4", "x")}
    assert found == {"1.0": "foo==1.0", "1.0.0": "foo==1.0", "1.0+local": "foo==1.0",
                     "1.0.post1": "foo<1.1", "2.0rc1": "foo==2.0rc1", "2.0": None,
                     "3.1": "foo==3.*", "0.4": "foo<0.5", "x": None}  # the first added
    for version in found:
        one_by_one = next((b for b in rules.blocks if b.matches(version)), None)
        assert (one_by_one.spec if one_by_one else None) == found[version], version


def advisory(osv_id: str, *, versions=(), events_=None, withdrawn=False) -> dict:
    affected = {"package": {"ecosystem": "PyPI", "name": "foo"}, "versions": list(versions)}
    if events_ is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events_}]
    data = {"id": osv_id, "modified": "2026-01-01T00:00:00Z", "summary": "bad",
            "affected": [affected]}
    if withdrawn:
        data["withdrawn"] = "2026-02-01T00:00:00Z"
    return data


def read(*entries) -> list:
    return [a for e in entries for a in osv.read(json.dumps(e).encode(), "test.json")]


def test_a_second_introduced_keeps_the_interval_open_from_the_first():
    events_ = [{"introduced": "1.0"}, {"introduced": "2.0"}, {"fixed": "3.0"}]
    (found,) = read(advisory("GHSA-1", events_=events_))
    assert found.specs == ("foo<3.0,>=1.0",)


def test_an_alias_read_first_keeps_the_block_its_withdrawn_twin_made(root):
    blocking.import_advisories(root, read(advisory("PYSEC-1", versions=["1.0"])))
    both = read(advisory("GHSA-2", versions=["1.0"]), advisory("PYSEC-1", withdrawn=True))
    blocking.import_advisories(root, both)
    assert [b.spec for b in root.blocklist] == ["foo==1.0"]  # still blocked, never a gap
    again = blocking.import_advisories(root, both)
    assert [b.spec for b in root.blocklist] == ["foo==1.0"] and not again.removed


def test_a_project_blocked_as_it_is_stored_still_awaits_approval_once_unblocked(approving, root):
    blocking.add_block(root, "evil", "MAL-2026-1")
    assert approval.hold(approving, "evil", "evil")
    package = approving.add("evil", Package("evil"))
    blocking.remove_block(root, "evil")
    assert awaiting_approval(package)


def test_turning_approvals_off_approves_what_waits_and_says_so(approving, root):
    assert approval.hold(approving, "demo", "demo")
    package = approving.add("demo", Package("demo"))
    assert awaiting_approval(package)
    repositories.configure(approving, approve_new_projects=False)
    assert not awaiting_approval(package)  # served while approvals are off
    approved = [e for e in events.recorded(root) if e.kind == events.APPROVAL]
    assert [(e.project, e.detail["action"]) for e in approved] == [("demo", "approved")]
    assert "turned off" in approved[0].detail["reason"]
    repositories.configure(approving, approve_new_projects=True)
    assert not awaiting_approval(package) and approval.pending_count(approving) == 0
    assert approval.hold(approving, "other", "other")  # a new one waits again
    assert awaiting_approval(approving.add("other", Package("other")))


def test_turning_approvals_on_again_gates_nothing_stored_meanwhile(approving):
    repositories.configure(approving, approve_new_projects=False)
    served = approving.add("served", Package("served"))  # stored while approvals were off
    repositories.configure(approving, approve_new_projects=True)
    assert not awaiting_approval(served)


def test_an_upload_time_upstream_says_later_reaches_the_stored_record(repository):
    package = repository.add("demo", Package("demo"))
    mirrored.replace_listing(package, (entry("1.0", None),), None, None, "t1")
    record = mirrored.record_for(package, "1", "demo-1.0-py3-none-any.whl")
    blob = Blob()
    with blob.open("w") as f:
        f.write(b"wheel")
    record.store(blob, "ab" * 32, 5)  # its bytes stored: the record stays
    assert record.upload_time is None
    mirrored.replace_listing(package, (entry("1.0"),), None, None, "t2")
    assert record.upload_time == T0


def test_a_pending_view_of_a_hosted_project_keeps_its_status(repository):
    package = repository.add("demo", Package("demo"))
    package.add("1", Release("1")).add("demo-1-py3-none-any.whl", ReleaseFile(
        "demo-1-py3-none-any.whl", packagetype="bdist_wheel", size=1, sha256="ab" * 32))
    package.hosted = True
    status.set_status(package, "quarantined", "bad")
    answer = Answer(UpstreamListing((entry("2.0"),), token="x"), "demo")
    view = pending_view(repository, "demo", answer, package)
    assert (Rules(view).status, Rules(view).status_reason) == ("quarantined", "bad")


def test_no_release_offered_means_no_latest_release(repository, root):
    package = repository.add("demo", Package("demo"))
    mirrored.replace_listing(package, (entry("1.0"), entry("2.0")), None, None, "t1")
    assert latest_release(package).version == "2.0"
    blocking.add_block(root, "demo", "MAL-1")
    assert latest_release(package) is None


@pytest.mark.parametrize("check", [
    lambda data: check_upload(data, "demo-1.0-py3-none-any.whl", "0" * 64),
    lambda data: check_provenance(data.encode(), "demo-1.0-py3-none-any.whl", "0" * 64),
])
def test_deeply_nested_json_is_refused_not_a_crash(check):
    with pytest.raises(AttestationRefused):
        check("[" * 20000 + "]" * 20000)
