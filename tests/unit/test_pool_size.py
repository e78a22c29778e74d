"""The database's connection pools sized for waitress's threads and the mirror's own work."""
from __future__ import annotations

import logging

from shop.mirror.storing import STORING_AT_ONCE
from shop.storage import BACKGROUND_CONNECTIONS, database
from shop.wsgi import WAITRESS_THREADS, server_threads

INI = """\
[app:main]
use = egg:localshop

[server:main]
use = egg:waitress#main
{threads}
"""


def write_ini(tmp_path, threads: str = "") -> dict:
    path = tmp_path / "shop.ini"
    path.write_text(INI.format(threads=threads))
    return {"__file__": str(path), "here": str(tmp_path)}


def test_threads_are_read_from_the_ini_server_section(tmp_path):
    assert server_threads(write_ini(tmp_path, "threads = 12")) == 12


def test_threads_default_to_waitress_own_without_the_key_or_an_ini(tmp_path):
    assert server_threads(write_ini(tmp_path)) == WAITRESS_THREADS == 4
    assert server_threads({}) == WAITRESS_THREADS


def test_the_pool_leaves_room_for_the_mirror_storing_slots():
    assert BACKGROUND_CONNECTIONS > STORING_AT_ONCE


def test_pool_is_threads_plus_background_and_logged_once(make_app, caplog):
    with caplog.at_level(logging.INFO, logger="shop.storage"):
        app = make_app()
    assert database(app.app.registry).getPoolSize() == 4 + BACKGROUND_CONNECTIONS
    chosen = [r for r in caplog.records if r.getMessage().startswith("Connection pool size")]
    assert len(chosen) == 1


def test_a_pool_size_in_the_uri_is_the_users_choice(make_app, tmp_path):
    uri = (f"file://{tmp_path}/var/Data.fs?blobstorage_dir={tmp_path}/var/blobs"
           "&connection_pool_size=3")
    app = make_app(**{"zodbconn.uri": uri})
    assert database(app.app.registry).getPoolSize() == 3
