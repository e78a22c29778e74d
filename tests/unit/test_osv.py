"""OSV entries read as blocks (shop.model.osv), and applied idempotently (shop.model.blocking)."""
from __future__ import annotations

import json

import pytest

from shop.model import blocking, events, osv
from shop.model.blocks import BlockError
from tests.osv_entries import MALICIOUS, NPM_ONLY, REQUESTS, SEVERAL, VERSIONS_ONLY, withdrawn


def read(*entries) -> list[osv.Advisory]:
    data = json.dumps(entries[0] if len(entries) == 1 else list(entries)).encode()
    return osv.read(data, "advisories.json")


def test_an_ecosystem_range_blocks_its_interval_and_listed_versions_inside_it_add_nothing():
    (advisory,) = read(REQUESTS)
    assert advisory.specs == ("requests<2.31.0,>=2.3.0",)  # the GIT range is not PyPI's versions
    assert advisory.reason == "PYSEC-2023-74: Unintended leak of Proxy-Authorization header in requests"
    assert advisory.source == "osv:PYSEC-2023-74" and not advisory.skipped


def test_a_malicious_package_affecting_every_version_is_blocked_as_a_whole_project():
    (advisory,) = read(MALICIOUS)
    assert advisory.specs == ("reqeusts-toolbelt",)  # normalized; no version blocks beside it
    assert advisory.reason == "MAL-2024-2841: Malicious code in reqeusts-toolbelt (PyPI)"


def test_several_intervals_make_several_blocks_and_other_ecosystems_are_ignored():
    (advisory,) = read(SEVERAL)
    assert advisory.specs == ("demo-lib<1.2", "demo-lib<=2.1.3,>=2.0", "demo-lib==3.0rc1")


def test_versions_alone_block_each_version():
    (advisory,) = read(VERSIONS_ONLY)
    assert advisory.specs == ("pinned-lib==1.0.1", "pinned-lib==1.0.2")


def test_unsorted_events_are_read_in_version_order():
    entry = dict(SEVERAL, affected=[{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [
        {"type": "ECOSYSTEM", "events": [{"fixed": "3.0"}, {"introduced": "2.5"}]}]}])
    assert read(entry)[0].specs == ("x<3.0,>=2.5",)


def test_withdrawn_and_non_pypi_entries_are_skipped_saying_why():
    gone, npm = read(withdrawn(REQUESTS), NPM_ONLY)
    assert gone.specs == () and gone.skipped == "withdrawn 2024-07-01T00:00:00Z"
    assert npm.specs == () and npm.skipped == "names no PyPI package"


def test_invalid_names_and_versions_are_left_out_with_a_note():
    entry = {"id": "PYSEC-X", "summary": "s", "affected": [
        {"package": {"ecosystem": "PyPI", "name": "not a name!"}, "versions": ["1.0"]},
        {"package": {"ecosystem": "PyPI", "name": "ok"}, "versions": ["1.0", "not-a-version!"]}]}
    (advisory,) = read(entry)
    assert advisory.specs == ("ok==1.0",)
    assert "invalid PyPI name 'not a name!'" in advisory.notes[0]
    assert "ok: invalid version 'not-a-version!'" in advisory.notes[1]


def test_the_reason_falls_back_to_the_details_and_is_cut_to_the_limit():
    entry = dict(VERSIONS_ONLY, summary="", details="First line.\nSecond line.")
    assert read(entry)[0].reason == "PYSEC-2024-1: First line."
    assert len(read(dict(VERSIONS_ONLY, summary="x" * 2000))[0].reason) == 500


@pytest.mark.parametrize("data, said", [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b'"a string"', "not an OSV entry"),
    (b'{"summary": "no id"}', "its id '' is missing"),
    (b'{"id": "X-1", "affected": {"package": 1}}', "affected must be a list"),
    (b'{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "ranges": [3]}]}',
     "each of affected[].ranges must be an object"),
    (b'{"id": "X-1", "summary": 5}', "summary must be a string"),
])
def test_malformed_files_are_refused_naming_the_file(data, said):
    with pytest.raises(osv.OSVError) as e:
        osv.read(data, "bad.json")
    assert str(e.value).startswith("bad.json") and said in str(e.value)


def test_an_entry_of_a_list_is_named_by_its_place():
    with pytest.raises(osv.OSVError, match=r"list.json \(entry 2\): not an OSV entry"):
        osv.read(json.dumps([REQUESTS, 7]).encode(), "list.json")


def test_a_file_over_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(osv, "MAX_FILE_BYTES", 100)
    with pytest.raises(osv.OSVError, match="more than the 100"):
        osv.read(json.dumps(REQUESTS).encode(), "big.json")


# --- applied to a block list --------------------------------------------------------------

def blocks_of(root) -> dict[str, str]:
    return {b.spec: b.source for b in root.blocklist}


def test_importing_twice_changes_and_records_nothing_the_second_time(root):
    first = blocking.import_advisories(root, read(REQUESTS, MALICIOUS, SEVERAL, NPM_ONLY))
    assert len(first.added) == 5 and first.skipped == [("GHSA-aaaa-bbbb-cccc", "names no PyPI package")]
    recorded = len(events.recorded(root))
    serial = root.blocklist.serial()
    again = blocking.import_advisories(root, read(REQUESTS, MALICIOUS, SEVERAL, NPM_ONLY))
    assert (again.added, again.changed, again.removed, len(again.unchanged)) == ([], [], [], 5)
    assert len(events.recorded(root)) == recorded and root.blocklist.serial() == serial


def test_a_withdrawn_advisory_loses_the_blocks_its_import_made_and_no_others(root):
    blocking.import_advisories(root, read(REQUESTS))
    blocking.add_block(root, "requests==2.0", "by hand")
    report = blocking.import_advisories(root, read(withdrawn(REQUESTS)))
    assert report.removed == ["requests<2.31.0,>=2.3.0"]
    assert blocks_of(root) == {"requests==2.0": ""}
    kinds = [(e.kind, e.detail["action"], e.detail["spec"]) for e in events.recorded(root)]
    assert kinds[-1] == (events.BLOCK, "removed", "requests<2.31.0,>=2.3.0")


def test_an_advisory_whose_range_changed_replaces_its_blocks(root):
    blocking.import_advisories(root, read(VERSIONS_ONLY))
    changed = dict(VERSIONS_ONLY, versions=None, affected=[{"package": {"ecosystem": "PyPI", "name": "pinned-lib"},
                                                            "versions": ["1.0.2", "1.0.3"]}])
    report = blocking.import_advisories(root, read(changed))
    assert report.removed == ["pinned-lib==1.0.1"] and report.added == ["pinned-lib==1.0.3"]
    assert report.unchanged == ["pinned-lib==1.0.2"]


def test_an_alias_of_an_imported_advisory_leaves_the_first_block_alone(root):
    alias = dict(REQUESTS, id="GHSA-j8r2-6x86-q33q", summary="Same, by another name")
    blocking.import_advisories(root, read(REQUESTS, alias))
    again = blocking.import_advisories(root, read(REQUESTS, alias))
    assert blocks_of(root) == {"requests<2.31.0,>=2.3.0": "osv:PYSEC-2023-74"}
    assert again.unchanged == ["requests<2.31.0,>=2.3.0"] * 2 and again.added == []


def test_a_block_of_a_repository_that_does_not_exist_is_refused(root):
    with pytest.raises(BlockError, match="No repository 'nope'"):
        blocking.add_block(root, "evil", "bad", "nope")
    block, changed = blocking.add_block(root, "evil", "bad", "default")
    assert changed and block.repository == "default"
    assert blocking.add_block(root, "evil", "bad", "default")[1] is False
