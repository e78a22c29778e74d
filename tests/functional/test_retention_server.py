"""Retention in the running application: download times noted per download and written in a
batch, the periodic clean-up evicting the least recently downloaded mirrored files (fetched
again on demand), and the settings page's retention fields."""
from __future__ import annotations

import time

import pytest

from shop.operations.retention import Periodic
from shop.services import services_of
from shop.settings import SettingsError, read_settings
from tests.functional.test_mirror import file_url, mirror, publish, upstream  # noqa: F401 (fixtures)
from tests.storecheck import app_db, opened
from tests.trees import add_file


def tick_now(app):
    """One round of the app's periodic retention thread, the clean-up due."""
    services = services_of(app.app.registry)
    periodic = Periodic(services, interval=3600)
    periodic._next_cleanup = time.monotonic()
    return periodic.tick(services)


def test_downloads_are_noted_in_memory_and_only_the_periodic_round_writes_them(mirror, upstream):
    wheel = publish(upstream, "app-one", padding=1000)
    app = mirror()
    url = file_url(app, "app-one", wheel.filename)
    app.get(url)
    with opened(app):  # stored
        pass
    times = services_of(app.app.registry).download_times
    serial = app_db(app).lastTransaction()
    for _ in range(5):
        assert app.get(url).body == wheel.data
    assert app_db(app).lastTransaction() == serial and times.pending() == 1
    tick_now(app)
    with opened(app) as root:
        assert root.repositories["default"]["app-one"]["1"][wheel.filename].last_downloaded


def test_the_periodic_cleanup_evicts_the_least_recently_downloaded_and_they_come_back(
        mirror, upstream):
    wheels = [publish(upstream, f"app{i}", padding=10_000) for i in range(3)]
    app = mirror()
    urls = [file_url(app, f"app{i}", w.filename) for i, w in enumerate(wheels)]
    for url in (urls[0], urls[1], urls[2], urls[0]):  # app1 is now the least recently downloaded
        app.get(url)
        with opened(app):
            pass
        time.sleep(0.01)
    with opened(app) as root:
        repository = root.repositories["default"]
        repository.mirror_cache_size = sum(len(w.data) for w in wheels) - 1
        add_file(repository, "ours", "1.0", size=100_000)  # hosted: never counted, never evicted
    done = tick_now(app)
    assert [d.key.project for d in done] == ["app1"]
    with opened(app) as root:
        repository = root.repositories["default"]
        assert repository["app1"]["1"][wheels[1].filename].blob is None
        assert repository["ours"]["1"].values()[0].blob is not None
    assert upstream.count("/files/" + wheels[1].filename) == 1
    assert app.get(urls[1]).body == wheels[1].data  # fetched again on demand
    assert upstream.count("/files/" + wheels[1].filename) == 2


@pytest.mark.parametrize("value", ["soon", "-5", "1.5"])
def test_a_malformed_cleanup_interval_stops_start_up_naming_the_key(value):
    with pytest.raises(SettingsError, match=f"shop.cleanup_interval = '{value}'"):
        read_settings({"shop.cleanup_interval": value, "shop.secret": "x"})


def test_the_cleanup_interval_defaults_to_an_hour_and_zero_turns_it_off():
    assert read_settings({"shop.secret": "x"}).cleanup_interval == 3600
    assert read_settings({"shop.secret": "x", "shop.cleanup_interval": "0"}).cleanup_interval == 0


def test_the_settings_page_sets_retention_and_refuses_malformed_limits_saying_why(app):
    from tests.functional.test_admin import error, flash, login

    login(app)
    form = app.get("/repo/default/+settings").forms["repository-settings"]
    form["mirror_cache_size"] = "lots"
    response = form.submit(status=400)
    assert "Invalid mirror cache size 'lots'" in error(response)
    form = response.forms["repository-settings"]
    form["keep_dev_releases"], form["mirror_cache_size"] = "1.5", "20G"
    assert "Invalid keep dev releases '1.5'" in error(form.submit(status=400))
    form["keep_dev_releases"] = "3"
    page = form.submit(status=302).follow()
    assert flash(page) == ["Saved the settings."]
    form = page.forms["repository-settings"]
    assert (form["keep_dev_releases"].value, form["mirror_cache_size"].value) == ("3", "20G")
    with opened(app) as root:
        repository = root.repositories["default"]
        assert (repository.keep_dev_releases, repository.mirror_cache_size) == (3, 20 * 1024**3)
    form["keep_dev_releases"], form["mirror_cache_size"] = "0", ""
    form.submit(status=302)
    with opened(app) as root:
        repository = root.repositories["default"]
        assert (repository.keep_dev_releases, repository.mirror_cache_size) == (None, None)
