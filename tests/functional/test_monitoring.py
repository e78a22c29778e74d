"""``/+metrics`` and ``/+health`` on the real app: Prometheus's text format parsed as Prometheus
does, counters that move with the requests made, who may read them, and the health report."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import make_wheel
from tests.functional.conftest import ADMIN, ANONYMOUS_READ, JSON, upload
from tests.functional.test_mirror import mirror, upstream  # noqa: F401 (fixtures)

OUTSIDE = {"REMOTE_ADDR": "192.0.2.7"}  # an address on no network of the defaults
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture
def hosted(make_app):
    return make_app(**ANONYMOUS_READ, **{"shop.argon2_profile": "cheapest"})


def scrape(app, **environ) -> dict:
    """{(sample name, labels but the process): value} of one scrape, as an admin from outside."""
    response = app.get("/+metrics", headers=ADMIN, extra_environ=environ or OUTSIDE)
    assert response.content_type == "text/plain"
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "process"))
            found[sample.name, labels] = sample.value
    return found


def moved(before: dict, after: dict) -> dict:
    """The samples whose value changed between two scrapes, and by how much."""
    return {key: value - before.get(key, 0) for key, value in after.items()
            if value != before.get(key, 0)}


def test_counters_move_as_pages_files_uploads_and_admin_pages_are_asked_for(hosted):
    before = scrape(hosted)
    wheel = make_wheel("scraped", "1.0")
    assert upload(hosted, wheel).status_int == 200
    files = hosted.get("/simple/scraped/", headers={"Accept": JSON}).json["files"]
    hosted.get("/simple/scraped/", headers={"Accept": JSON})  # answered by the replay
    hosted.get(f"/simple/scraped/{files[0]['url']}")
    hosted.get("/+repositories", headers=ADMIN)
    change = moved(before, scrape(hosted))
    requests = {labels: n for (name, labels), n in change.items() if name == "localshop_requests_total"}
    assert requests == {
        (("kind", "upload"), ("status", "200")): 1, (("kind", "page"), ("status", "200")): 2,
        (("kind", "file"), ("status", "200")): 1, (("kind", "admin"), ("status", "200")): 1,
        (("kind", "other"), ("status", "200")): 1}  # the first scrape
    assert change["localshop_request_duration_seconds_count", (("kind", "page"),)] == 2
    assert change["localshop_replay_total", (("outcome", "hit"),)] == 1
    assert change["localshop_page_cache_total", (("outcome", "miss"),)] == 1
    assert change["localshop_uploads_total", (("repository", "default"),)] == 1
    assert change["localshop_uploaded_bytes_total", (("repository", "default"),)] == len(wheel.data)
    download = (("cache", "hit"), ("origin", "hosted"), ("repository", "default"))
    assert change["localshop_downloads_total", download] == 1
    # Read from the database at scrape time.
    assert change["localshop_repository_files", (("repository", "default"),)] == 1
    assert change["localshop_repository_bytes", (("repository", "default"),)] == len(wheel.data)


def test_every_counted_sample_names_the_process_that_counted_it(hosted):
    hosted.get("/simple/")
    response = hosted.get("/+metrics", extra_environ=LOOPBACK)
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    requests = families["localshop_requests"].samples
    assert requests and all(":" in s.labels["process"] for s in requests)
    assert families["localshop_info"].samples[0].labels["version"]
    assert families["localshop_storage_answers"].samples[0].value == 1


def test_metrics_are_refused_to_an_anonymous_client_outside_the_networks_saying_why(hosted):
    response = hosted.get("/+metrics", extra_environ=OUTSIDE, status=403)
    assert "shop.metrics.networks" in response.status and "192.0.2.7" in response.text
    hosted.get("/+metrics", extra_environ=LOOPBACK, status=200)  # the default: loopback
    hosted.get("/+metrics", headers=ADMIN, extra_environ=OUTSIDE, status=200)


def test_an_admins_session_may_read_the_metrics_and_another_users_password_may_not(hosted):
    from tests.conftest import basic_auth
    from tests.functional.test_admin import PASSWORD, add_user, login

    add_user(hosted, "reader")
    response = hosted.get("/+metrics", headers=basic_auth("reader", PASSWORD),
                          extra_environ=OUTSIDE, status=403)
    assert "for admins" in response.status
    login(hosted)  # the admin's session cookie, as a browser has it
    hosted.get("/+metrics", extra_environ=OUTSIDE, status=200)


def test_the_metrics_networks_setting_lets_its_networks_in_and_loopback_no_longer(make_app):
    app = make_app(**{"shop.metrics.networks": "192.0.2.0/24"})
    app.get("/+metrics", extra_environ=OUTSIDE, status=200)
    app.get("/+metrics", extra_environ=LOOPBACK, status=403)


def test_health_says_the_storage_answers_the_disk_and_the_version(hosted):
    response = hosted.get("/+health", extra_environ=OUTSIDE)  # anyone may ask
    report = response.json
    assert response.headers["Cache-Control"] == "no-store"
    assert report["ok"] is True and report["storage"] == {"ok": True, "error": None}
    assert report["version"] and ":" in report["process"]
    assert report["disk"]["free_bytes"] > 0 and report["disk"]["low"] is False
    assert report["upstreams"] == {"per_process": True, "origins": {}}
    # The repositories' names (private ones' too) only for admins and shop.metrics.networks.
    assert "repositories" not in report
    watched = hosted.get("/+health", extra_environ=LOOPBACK).json
    assert watched["repositories"] == {"default": {"upstream": None, "upstream_state": None}}


def test_health_flags_a_low_disk_below_the_setting(make_app):
    report = make_app(**{"shop.health.low_disk": str(1024**6)}).get("/+health").json
    assert report["disk"]["low"] is True and report["disk"]["low_below_bytes"] == 1024**6


def test_health_shows_a_stopped_upstream_failing_since_with_its_last_error(mirror, upstream):
    # Credentials in the upstream's URL never show: the origin is named, and errors lose them.
    with_credentials = upstream.url.replace("http://", "http://mirror-user:s3cret-token@")
    app = mirror(**{"shop.upstream.timeout": "0.5 0.5", "shop.upstream": with_credentials},
                 **ANONYMOUS_READ)
    origin = upstream.url.rsplit("/simple/", 1)[0]
    upstream.index.add("known", make_wheel("known", "1.0"))
    app.get("/repo/default/known/", headers={"Accept": JSON})
    state = app.get("/+health", extra_environ=LOOPBACK).json["repositories"]["default"]
    assert state["upstream"] == origin and state["upstream_state"]["state"] == "ok"
    upstream.stop()
    refused = app.get("/repo/default/unknown/", headers={"Accept": JSON}, status=502)
    assert "s3cret-token" not in refused.text and "cannot reach upstream" in refused.status
    report = app.get("/+health", extra_environ=LOOPBACK).json
    assert report["ok"] is True  # the database answers: upstream's trouble is reported, not 503
    failing = report["repositories"]["default"]["upstream_state"]
    assert failing["state"] == "failing" and failing["since"].endswith("Z")
    assert failing["last_ok"] <= failing["since"]
    assert "cannot reach upstream http://127.0.0.1:" in failing["last_error"]
    assert "unknown" not in failing["last_error"]  # URLs cut to their origin: no project names
    assert report["upstreams"]["origins"][origin] == failing
    text = app.get("/+health").text
    assert "s3cret-token" not in text and "mirror-user" not in text
