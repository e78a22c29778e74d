"""What the mirror takes from upstream is bounded (shop/mirror/upstream.py, downloads.py): a
page that decodes past PAGE_LIMIT, a file longer than listed, a file of unlisted size over
shop.max_upload_size; each refused as it arrives, nothing stored."""
from __future__ import annotations

import pytest

from shop.mirror.upstream import PAGE_LIMIT
from tests.functional.test_mirror import (  # noqa: F401 (fixtures)
    ALWAYS_RECHECK, FAST, HTML, JSON, assert_no_temp_files_left, file_url, get_not_delivered, mirror,
    page, publish, upstream,
)
from tests.storecheck import app_db, assert_app_store_consistent, stored
from tests.upstream import FakeIndex, Fault, TimedUpstreamServer

pytestmark = pytest.mark.fault
BOMB = Fault("bomb", size=PAGE_LIMIT + 1)


def test_a_page_that_decodes_past_the_limit_is_502_naming_it(mirror, upstream):
    publish(upstream, "app-one")
    # Patient: the 502 must come from the bound, not from a slow read on a busy machine.
    app = mirror(**{"shop.upstream.timeout": "10 10"})
    upstream.faults["/simple/app-one/"] = BOMB
    response = page(app, "app-one", status=502)
    assert f"over {PAGE_LIMIT} bytes" in response.text and f"over {PAGE_LIMIT}" in response.status
    assert app.get("/repo/default/", headers=JSON).json["projects"] == []
    assert_app_store_consistent(app)


def test_a_page_that_decodes_past_the_limit_leaves_the_stale_page(mirror, upstream):
    wheel = publish(upstream, "app-one")
    app = mirror(**FAST, **ALWAYS_RECHECK)
    fresh = page(app, "app-one", headers=HTML).body
    upstream.faults["/simple/app-one/"] = BOMB
    before = app_db(app).lastTransaction()
    assert page(app, "app-one", headers=HTML).body == fresh
    assert wheel.filename in fresh.decode()
    assert app_db(app).lastTransaction() == before


def test_a_file_longer_than_listed_is_refused_early_and_not_stored(mirror, upstream):
    wheel = publish(upstream, "app-one", padding=300 * 1024)
    app = mirror()
    url = file_url(app, "app-one", wheel.filename)
    extra = 64 << 20
    upstream.faults["/files/" + wheel.filename] = Fault("longer", size=extra, times=1)
    outcome = get_not_delivered(app, url)
    assert "more than the" in outcome and f"{len(wheel.data)} bytes" in outcome, outcome
    assert upstream.body_sent("/files/" + wheel.filename) < extra // 2  # it stopped reading
    assert stored(app, wheel.filename).blob_sha256 is None
    assert_no_temp_files_left(app)
    assert_app_store_consistent(app)


@pytest.mark.parametrize("fault", [None, Fault("unsized")])
def test_a_file_of_unlisted_size_over_the_upload_cap_is_refused(mirror, fault):
    with TimedUpstreamServer(FakeIndex(json_pages=False)) as up:  # HTML: no sizes listed
        wheel = publish(up, "app-one", padding=300 * 1024)
        app = mirror(up, **{"shop.max_upload_size": str(len(wheel.data) - 1)})
        url = file_url(app, "app-one", wheel.filename)
        if fault is not None:  # no Content-Length either: read to the close
            up.faults["/files/" + wheel.filename] = fault
        outcome = get_not_delivered(app, url)
        assert f"larger than {len(wheel.data) - 1} bytes (shop.max_upload_size)" in outcome, outcome
        assert stored(app, wheel.filename).blob_sha256 is None
        assert_no_temp_files_left(app)
        assert_app_store_consistent(app)
