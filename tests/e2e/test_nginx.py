"""Behind a real nginx: X-Accel-Redirect hands blob files to nginx, pip installs through it."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
import requests

from tests.e2e.server import LocalshopServer, free_port
from tests.factories import make_wheel, upload_fields

pytestmark = pytest.mark.e2e

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """\
daemon off;
worker_processes 1;
user root;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
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
    }}
}}
"""


@pytest.fixture
def behind_nginx(tmp_path):
    if not os.path.exists(NGINX):
        pytest.skip("nginx is not installed (make test installs it when run as root)")
    shop = LocalshopServer(tmp_path / "shop", settings={
        "shop.sendfile": "x-accel-redirect /+blobs/",
        "shop.default.anonymous_read": "true",
    })
    shop.start()
    root = tmp_path / "nginx"
    root.mkdir()
    port = free_port()
    (root / "nginx.conf").write_text(CONF.format(
        root=root, port=port, upstream_port=shop.port, blobs=shop.var_dir / "blobs",
    ))
    process = subprocess.Popen([NGINX, "-c", str(root / "nginx.conf"), "-p", str(root)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            requests.get(url + "/simple/", timeout=1)
            break
        except requests.ConnectionError:
            assert process.poll() is None and time.monotonic() < deadline, (
                (root / "error.log").read_text() if (root / "error.log").exists() else "nginx died")
            time.sleep(0.1)
    yield shop, url
    process.terminate()
    process.wait(10)
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
