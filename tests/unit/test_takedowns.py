"""Upstream's takedowns and PEP 792 statuses kept in the tree: ``replace_listing``,
``unchanged``, ``forget``, and the status read from upstream's pages."""
from __future__ import annotations

import datetime
import hashlib
import json

import pytest
import requests
from ZODB.blob import Blob

from shop.mirror.upstream import STATUS_REASON_LIMIT, _parse, project_status
from shop.model import mirrored
from shop.model.listings import Entry, sort_entries
from shop.model.names import version_key
from shop.model.offers import Rules
from shop.model.tree import Package

UPLOADED = datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc)


def entry(filename: str, version: str = "1.0") -> tuple:
    return tuple(Entry(filename, f"https://files.example/{filename}", version_key(version), version,
                       "bdist_wheel", "ab" * 32, 3, UPLOADED, None, False, "", None))


def wheel(version: str = "1.0") -> str:
    return f"app_one-{version}-py3-none-any.whl"


@pytest.fixture
def project(repository, tm):
    """A mirrored project listing 1.0 and 2.0, with the bytes of 1.0 stored."""
    package = repository.add("app-one", Package("app-one"))
    entries = sort_entries([entry(wheel("1.0")), entry(wheel("2.0"), "2.0")])
    mirrored.replace_listing(package, entries, None, None, "t1")
    store(package, "1", wheel("1.0"))
    tm.commit()
    return package


def store(package: Package, key: str, filename: str):
    record = mirrored.record_for(package, key, filename)
    blob = Blob()
    with blob.open("w") as f:
        f.write(b"abc")
    record.store(blob, hashlib.sha256(b"abc").hexdigest(), 3)
    return record


def record(package: Package, filename: str = wheel("1.0")):
    return package["1"].file(filename)


def test_a_stored_file_gone_from_upstreams_listing_is_marked_once(project):
    serial = project.serial()
    assert mirrored.replace_listing(project, sort_entries([entry(wheel("2.0"), "2.0")]),
                                    None, None, "t2")
    first = record(project).removed_upstream
    assert first is not None and record(project).stored  # the bytes stay
    assert project.serial() == serial  # (the caller marks the project changed)

    again = mirrored.replace_listing(project, sort_entries([entry(wheel("2.0"), "2.0")]),
                                     '"e"', None, "t3")
    assert not again and record(project).removed_upstream == first  # not bumped


def test_a_file_listed_again_is_unmarked(project):
    mirrored.replace_listing(project, (), None, None, "t2")
    assert record(project).removed_upstream is not None

    assert mirrored.replace_listing(project, sort_entries([entry(wheel("1.0"))]), None, None, "t3")
    assert record(project).removed_upstream is None
    assert "removed_upstream" not in record(project).__dict__  # the class default again


def test_an_uploaded_file_is_never_marked(project):
    mine = store(project, "2", wheel("2.0"))
    mine.origin = "upload"
    mirrored.replace_listing(project, (), None, None, "t2")
    assert mine.removed_upstream is None and record(project).removed_upstream is not None


def test_a_status_change_alone_is_a_change_and_not_unchanged(project):
    entries = project.listing.entries
    assert mirrored.unchanged(project, entries)
    assert not mirrored.unchanged(project, entries, "quarantined", "malware")
    assert not mirrored.unchanged(project, entries, "archived")

    assert mirrored.replace_listing(project, entries, None, None, "t2", "quarantined", "malware")
    assert (project.listing.status, project.listing.status_reason) == ("quarantined", "malware")
    assert mirrored.unchanged(project, entries, "quarantined", "malware")
    assert not mirrored.replace_listing(project, entries, None, None, "t3", "quarantined", "malware")
    assert mirrored.replace_listing(project, entries, None, None, "t4")
    assert project.listing.status is None


def test_a_record_the_listing_disagrees_with_is_not_unchanged(project):
    """A file stored by a version of localshop that did not mark removals: the same listing
    again marks it."""
    entries = sort_entries([entry(wheel("2.0"), "2.0")])
    project.listing.entries = entries
    project.listing.__dict__.pop("_v_index", None)
    assert not mirrored.unchanged(project, entries)
    mirrored.replace_listing(project, entries, None, None, "t2")
    assert mirrored.unchanged(project, entries)


def test_the_rules_refuse_a_removed_file_unless_the_repository_keeps_them(project, repository):
    mirrored.replace_listing(project, (), None, None, "t2")
    refusal = Rules(project).file_refusal(record(project))
    assert refusal.status == 410 and "removed upstream" in refusal.reason
    repository.upstream_deletions = "keep"
    assert Rules(project).file_refusal(record(project)) is None


def test_forgetting_a_removed_file_drops_its_record(project, repository):
    mirrored.replace_listing(project, (), None, None, "t2")
    files, size = repository.stored_files(), repository.stored_bytes()
    mirrored.forget(record(project))
    assert "1" not in project and (repository.stored_files(), repository.stored_bytes()) == (
        files - 1, size - 3)


def test_forgetting_a_listed_file_leaves_it_listed(project):
    mirrored.forget(record(project))
    assert not record(project).stored and record(project).removed_upstream is None


# --- the status, as upstream's pages say it -------------------------------------------------


@pytest.mark.parametrize("status, reason, kept", [
    ("quarantined", "malware", ("quarantined", "malware")),
    ("archived", None, ("archived", "")),
    ("deprecated", "x" * 5000, ("deprecated", "x" * STATUS_REASON_LIMIT)),
    ("vanished", "no PEP names it", (None, "")),
    (None, "a reason without a status", (None, "")),
    (["quarantined"], None, (None, "")),
])
def test_a_status_is_kept_bounded_and_an_unknown_one_is_none_said(status, reason, kept):
    assert project_status(status, reason) == kept


def response(body: bytes, content_type: str) -> requests.Response:
    r = requests.Response()
    r.status_code, r._content, r.url = 200, body, "https://up.example/simple/app-one/"
    r.headers["Content-Type"] = content_type
    return r


FILE = {"filename": wheel(), "url": wheel(), "hashes": {"sha256": "ab" * 32}}


@pytest.mark.parametrize("said, kept", [
    ({"status": "quarantined", "reason": "malware"}, ("quarantined", "malware")),
    ({"status": "no-such-status"}, (None, "")),
    ("not an object", (None, "")),
])
def test_a_json_page_with_any_status_is_read(said, kept):
    data = {"meta": {"api-version": "1.4"}, "name": "app-one", "files": [FILE],
            "project-status": said}
    page, _base, status = _parse(response(json.dumps(data).encode(),
                                          "application/vnd.pypi.simple.v1+json"), "app-one")
    assert status == kept and [p.filename for p in page.packages] == [wheel()]


@pytest.mark.parametrize("tags, kept", [
    ('<meta name="pypi:project-status" content="archived">'
     '<meta name="pypi:project-status-reason" content="moved to app-two">',
     ("archived", "moved to app-two")),
    ('<meta name="pypi:project-status" content="gone-fishing">', (None, "")),
    ("", (None, "")),
])
def test_an_html_page_with_any_status_is_read(tags, kept):
    body = (f'<html><head><meta name="pypi:repository-version" content="1.4">{tags}</head>'
            f'<body><a href="../../f/{wheel()}#sha256={"ab" * 32}">{wheel()}</a></body></html>')
    page, _base, status = _parse(response(body.encode(), "text/html; charset=utf-8"), "app-one")
    assert status == kept
    assert [(p.url, p.digests) for p in page.packages] == [
        (f"https://up.example/f/{wheel()}", {"sha256": "ab" * 32})]
