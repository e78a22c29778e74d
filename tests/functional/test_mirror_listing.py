"""The mirror's data model: one listing record per project, records only for stored bytes,
first look-ups answered before the writer commits, databases of the older model migrated.

A real upstream on loopback, a real FileStorage in tmp_path (``tests.functional.test_mirror``'s
fixtures); the storage's commit lock is held with its own ``tpc_begin`` where a test needs the
writer to wait.
"""
from __future__ import annotations

import threading

import requests
from ZODB.blob import Blob
from ZODB.Connection import TransactionMetaData

from shop.model.names import version_key
from shop.model.tree import Package, Release, ReleaseFile
from shop.services import services_of
from shop.storage import database
from tests.functional.test_mirror import (  # noqa: F401 (fixtures)
    ALWAYS_RECHECK, HTML, JSON, file_url, files_of, mirror, page, publish, upstream,
)
from tests.storecheck import assert_app_store_consistent, opened, settled
from tests.upstream import Fault


def test_a_mirrored_project_is_one_listing_record_and_records_only_for_stored_bytes(mirror, upstream):
    wheels = [publish(upstream, "app-one", f"1.{i}") for i in range(5)]
    app = mirror()
    listed = files_of(app, "app-one")
    assert sorted(listed) == sorted(w.filename for w in wheels)

    with opened(app) as root:
        package = root.repositories["default"]["app-one"]
        assert len(package.listing.entries) == 5  # one record holds what upstream said
        assert len(package) == 0  # and no release or file record exists yet

    assert app.get(file_url(app, "app-one", wheels[2].filename)).body == wheels[2].data
    with opened(app) as root:
        package = root.repositories["default"]["app-one"]
        assert [list(release.keys()) for release in package.values()] == [[wheels[2].filename]]
        assert package.records().__next__().blob is not None
    assert files_of(app, "app-one") == listed  # the page did not change
    assert_app_store_consistent(app)


def test_a_changed_listing_is_replaced_whole_and_keeps_stored_bytes(mirror, upstream):
    old = publish(upstream, "app-one", "1.0")
    app = mirror(**ALWAYS_RECHECK)
    url = file_url(app, "app-one", old.filename)
    app.get(url)
    with opened(app) as root:
        listing_oid = root.repositories["default"]["app-one"].listing._p_oid

    upstream.index.projects["app-one"].clear()  # upstream drops 1.0 and publishes 2.0
    new = publish(upstream, "app-one", "2.0", yanked="broken")
    names = files_of(app, "app-one")
    assert names[new.filename]["yanked"] == "broken"
    assert old.filename not in names  # removed upstream: no longer offered (its bytes stay)

    with opened(app) as root:
        package = root.repositories["default"]["app-one"]
        assert package.listing._p_oid == listing_oid  # the same record, replaced whole
        assert [e[0] for e in package.listing.entries] == [new.filename]
        assert [f.filename for f in package.records()] == [old.filename]
        assert package.records().__next__().removed_upstream is not None
    assert "removed upstream" in app.get(url, status=410).text
    assert upstream.count("/files/" + old.filename) == 1


def test_a_first_look_up_is_answered_before_its_commit(mirror, upstream):
    wheel = publish(upstream, "app-one")
    app = mirror()
    db = database(app.app.registry)
    before = db.lastTransaction()
    held = TransactionMetaData()
    db.storage.tpc_begin(held)  # the storage's commit lock: no writer commits meanwhile
    try:
        assert list(files_of(app, "app-one")) == [wheel.filename]
        html = page(app, "app-one", headers=HTML).text
        assert wheel.filename in html
        assert db.lastTransaction() == before  # answered, nothing committed yet
        assert services_of(app.app.registry).writer.busy()
    finally:
        db.storage.tpc_abort(held)
    settled(app)
    assert db.lastTransaction() != before
    with opened(app) as root:
        assert "app-one" in root.repositories["default"]
    assert upstream.count("/simple/app-one/") == 1  # the view answered; nothing asked twice


def test_a_file_asked_for_while_its_listing_is_being_stored_waits_for_it(mirror, upstream):
    wheel = publish(upstream, "app-one")
    app = mirror()
    db = database(app.app.registry)
    held = TransactionMetaData()
    db.storage.tpc_begin(held)
    released = threading.Timer(0.5, db.storage.tpc_abort, (held,))
    try:
        url = file_url(app, "app-one", wheel.filename)  # the page, answered from memory
        released.start()
        assert app.get(url).body == wheel.data  # waited for the writer, then served
    finally:
        released.join()
    assert_app_store_consistent(app)


def _old_model_project(root, upstream, stored_wheel, listed_wheel) -> None:
    """The layout the model before listings wrote: a record for every mirrored file, the
    bytes of one of them stored, upstream's current validators on the package (a
    conditional request would be answered 304: nothing would be migrated)."""
    repository = root.repositories["default"]
    package = repository.add("app-one", Package("app-one"))
    answer = requests.get(upstream.url + "app-one/", headers=JSON, timeout=5)
    package.upstream_etag = answer.headers["ETag"]
    for wheel, blob in ((stored_wheel, True), (listed_wheel, False)):
        release = package.add(version_key(wheel.version), Release(wheel.version))
        record = ReleaseFile(wheel.filename, packagetype="bdist_wheel", size=len(wheel.data),
                             sha256=wheel.sha256)
        record.origin = "mirror"
        record.upstream_url = upstream.url.replace("/simple/", "/files/") + wheel.filename
        release.add(wheel.filename, record)
        if blob:
            bytes_blob = Blob()
            with bytes_blob.open("w") as f:
                f.write(wheel.data)
            record.store(bytes_blob, wheel.sha256, len(wheel.data))


def test_a_database_of_the_older_model_serves_and_is_migrated_at_the_next_look_up(
        mirror, upstream):
    stored_wheel, listed_wheel = publish(upstream, "app-one", "1.0"), publish(upstream, "app-one", "2.0")
    app = mirror()
    with opened(app) as root:
        _old_model_project(root, upstream, stored_wheel, listed_wheel)

    names = files_of(app, "app-one")  # this process never checked it: asked upstream, in full
    assert sorted(names) == sorted([stored_wheel.filename, listed_wheel.filename])
    with opened(app) as root:
        package = root.repositories["default"]["app-one"]
        assert len(package.listing.entries) == 2
        # The record that held no bytes went (the listing has it); the stored one stayed.
        assert [f.filename for f in package.records()] == [stored_wheel.filename]
        assert (root.repositories["default"].stored_files(), ) == (1, )
    assert app.get(file_url(app, "app-one", stored_wheel.filename)).body == stored_wheel.data
    assert upstream.count("/files/" + stored_wheel.filename) == 0  # served from the old blob
    assert app.get(file_url(app, "app-one", listed_wheel.filename)).body == listed_wheel.data
    assert_app_store_consistent(app)


def test_the_older_model_serves_its_records_while_upstream_is_down(mirror, upstream):
    stored_wheel, listed_wheel = publish(upstream, "app-one", "1.0"), publish(upstream, "app-one", "2.0")
    app = mirror(**{"shop.upstream.timeout": "0.5 0.5"})
    with opened(app) as root:
        _old_model_project(root, upstream, stored_wheel, listed_wheel)
    upstream.faults["/simple/app-one/"] = Fault("error")

    names = files_of(app, "app-one")
    assert sorted(names) == sorted([stored_wheel.filename, listed_wheel.filename])
    assert app.get(file_url(app, "app-one", stored_wheel.filename)).body == stored_wheel.data
    with opened(app) as root:
        assert root.repositories["default"]["app-one"].listing is None  # nothing migrated yet


def test_a_wheels_dependencies_are_looked_up_before_a_client_asks(mirror, upstream):
    app_wheel = publish(upstream, "app-one", requires_dist=["dep-one>=1", "dep-extra; extra == 'x'"])
    dep = publish(upstream, "dep-one")
    publish(upstream, "dep-extra")
    app = mirror()

    assert app.get(file_url(app, "app-one", app_wheel.filename)).body == app_wheel.data
    settled(app)
    assert upstream.count("/simple/dep-one/") == 1  # asked by the mirror, nobody else yet
    assert upstream.count("/simple/dep-extra/") == 0  # an extra's requirement: left alone
    with opened(app) as root:
        assert "dep-one" in root.repositories["default"]

    assert list(files_of(app, "dep-one")) == [dep.filename]  # the client's turn: answered
    assert upstream.count("/simple/dep-one/") == 1  # from what the mirror fetched


def test_prefetching_can_be_turned_off(mirror, upstream):
    app_wheel = publish(upstream, "app-one", requires_dist=["dep-one"])
    publish(upstream, "dep-one")
    app = mirror(**{"shop.mirror.prefetch": "false"})
    app.get(file_url(app, "app-one", app_wheel.filename))
    settled(app)
    assert upstream.count("/simple/dep-one/") == 0


def test_clients_asking_for_the_same_new_project_at_once_make_one_upstream_request(mirror, upstream):
    wheel = publish(upstream, "app-one")
    upstream.faults["/simple/app-one/"] = Fault("late", seconds=0.5)  # a distant upstream
    app = mirror()
    answers: list = []

    def ask() -> None:
        answers.append(list(files_of(app, "app-one")))

    clients = [threading.Thread(target=ask) for _ in range(4)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    assert answers == [[wheel.filename]] * 4
    assert upstream.count("/simple/app-one/") == 1  # the others waited for the first's answer
