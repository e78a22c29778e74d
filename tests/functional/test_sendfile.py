"""shop.sendfile: the front-end web server sends blob files itself."""
from __future__ import annotations

import os
from urllib.parse import unquote

import pytest

from shop.settings import SettingsError, read_settings
from tests.conftest import app_settings
from tests.factories import make_wheel, upload_fields


def _uploaded(app, admin):
    dist = make_wheel("demo", "1.0")
    app.post("/repo/default/", upload_fields(dist), headers=admin,
             upload_files=[("content", dist.filename, dist.data)])
    return dist


def test_x_accel_redirect_names_the_blob_under_the_internal_prefix(make_app, admin, tmp_path):
    app = make_app(**{"shop.sendfile": "x-accel-redirect /+blobs/"})
    dist = _uploaded(app, admin)
    r = app.get(f"/simple/demo/1/{dist.filename}")
    assert r.body == b""
    location = r.headers["X-Accel-Redirect"]
    assert location.startswith("/+blobs/")
    path = os.path.join(tmp_path / "var" / "blobs", unquote(location[len("/+blobs/"):]))
    with open(path, "rb") as f:
        assert f.read() == dist.data
    assert r.headers["ETag"] == f'"{dist.sha256}"'
    assert "immutable" in r.headers["Cache-Control"]


def test_x_sendfile_names_the_blob_by_its_path(make_app, admin):
    app = make_app(**{"shop.sendfile": "x-sendfile"})
    dist = _uploaded(app, admin)
    r = app.get(f"/simple/demo/1/{dist.filename}.metadata")
    with open(r.headers["X-Sendfile"], "rb") as f:
        assert f.read().startswith(b"Metadata-Version")


@pytest.mark.parametrize("value", ["x-accel-redirect", "x-accel-redirect no-slash", "nginx", "x-sendfile /x"])
def test_a_malformed_sendfile_setting_stops_start_up_naming_the_key(tmp_path, value):
    with pytest.raises(SettingsError, match="shop.sendfile"):
        read_settings(app_settings(tmp_path, **{"shop.sendfile": value}), environ={})
