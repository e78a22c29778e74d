"""A real nginx for the tests: a configuration of its own in a test directory, started in
the foreground, waited for until it answers, stopped afterwards."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import requests

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# Everything nginx writes stays in the test's directory; ``blocks`` go inside ``http``.
CONF = """\
daemon off;
worker_processes 1;
user root;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
{blocks}
}}
"""


def start_nginx(root: Path, port: int, blocks: str) -> tuple[subprocess.Popen, str]:
    """nginx with ``blocks`` (``server``, ``upstream``) listening on ``port``; its URL."""
    root.mkdir()
    (root / "nginx.conf").write_text(CONF.format(root=root, blocks=blocks))
    process = subprocess.Popen([NGINX, "-c", str(root / "nginx.conf"), "-p", str(root)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    try:
        while True:
            try:
                requests.get(url + "/simple/", timeout=5)
                return process, url
            except (requests.ConnectionError, requests.Timeout):
                assert process.poll() is None and time.monotonic() < deadline, (
                    (root / "error.log").read_text() if (root / "error.log").exists()
                    else "nginx died")
                time.sleep(0.1)
    except BaseException:
        stop_nginx(process)  # never left running by a test that failed to start it
        raise


def stop_nginx(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(10)
