"""Behind a real nginx: X-Accel-Redirect hands blob files to nginx, pip installs through it."""
from __future__ import annotations

import os

import pytest
import requests

from tests.e2e.nginx import NGINX, start_nginx, stop_nginx
from tests.e2e.server import LocalshopServer, free_port
from tests.factories import make_wheel, upload_fields

pytestmark = pytest.mark.e2e

SERVER = """\
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 1g;
        location / {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_set_header Host $http_host;
        }}
        location /+blobs/ {{
            internal;
            alias {blobs}/;
        }}
    }}"""


@pytest.fixture
def behind_nginx(tmp_path):
    if not os.path.exists(NGINX):
        pytest.skip("nginx is not installed (make test installs it when run as root)")
    shop = LocalshopServer(tmp_path / "shop", settings={
        "shop.sendfile": "x-accel-redirect /+blobs/",
        "shop.default.anonymous_read": "true",
    })
    shop.start()
    port = free_port()
    process, url = start_nginx(tmp_path / "nginx", port, SERVER.format(
        port=port, upstream_port=shop.port, blobs=shop.var_dir / "blobs"))
    yield shop, url
    stop_nginx(process)
    shop.stop()


def test_nginx_sends_the_blob_that_localshop_names(behind_nginx):
    shop, url = behind_nginx
    dist = make_wheel("fronted", "1.0", padding=2 * 1024 * 1024)
    r = requests.post(url + "/repo/default/", data=upload_fields(dist),
                      files={"content": (dist.filename, dist.data)},
                      auth=("admin", shop.admin_password), timeout=60)
    assert r.status_code == 200, r.text
    r = requests.get(f"{url}/simple/fronted/1/{dist.filename}", timeout=60)
    assert r.status_code == 200
    assert r.content == dist.data
    assert "X-Accel-Redirect" not in r.headers  # nginx consumed it
    # localshop itself answered with the header only: the bytes came from nginx.
    direct = requests.get(f"{shop.url}/simple/fronted/1/{dist.filename}", timeout=60)
    assert direct.content == b"" and direct.headers["X-Accel-Redirect"].startswith("/+blobs/")
    # The internal location is not reachable from outside.
    assert requests.get(url + direct.headers["X-Accel-Redirect"], timeout=10).status_code == 404
