"""Approval of new upstream projects end to end: real pip and uv are refused a project that
awaits approval until ``localshop project approve`` serves it; an admin approves another on
``/repo/default/+pending`` in a real Chromium."""
from __future__ import annotations

import json
import time

import pytest
import requests

from tests.e2e.browser import chromium, log_in
from tests.e2e.clients import LOCALSHOP, installed_module, make_venv, modern_pip_install, run, uv_install
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel
from tests.upstream import FakeIndex, TimedUpstreamServer

pytestmark = pytest.mark.e2e


def localshop(server: LocalshopServer, *args: str, expect: int = 0):
    return run([LOCALSHOP, "-c", server.ini, *args], env=server.process_env(), expect=expect)


def pending(server: LocalshopServer, name: str, timeout: float = 30.0) -> dict:
    """``project pending --json`` (beside the running server), once ``name`` is listed: the
    server's writer records the request just after refusing it."""
    deadline = time.monotonic() + timeout
    while True:
        out = localshop(server, "project", "pending", "default", "--json").stdout
        found = {e["name"]: e for e in map(json.loads, out.splitlines())}
        if name in found or time.monotonic() > deadline:
            return found.get(name)
        time.sleep(0.2)


@pytest.fixture
def shop(tmp_path):
    """A server mirroring a loopback upstream of ``app-one`` and ``web-two``, approving new
    upstream projects (set on the command line before it starts)."""
    index = FakeIndex()
    index.add("app-one", make_wheel("app-one", "1.0"))
    index.add("web-two", make_wheel("web-two", "2.0"))
    with TimedUpstreamServer(index) as upstream:
        server = LocalshopServer(tmp_path / "localshop", settings={"shop.upstream": upstream.url})
        localshop(server, "repository", "set", "default", "--approve-new-projects", "true")
        server.start()
        try:
            yield server
        finally:
            server.stop()


def test_pip_and_uv_cannot_install_a_project_awaiting_approval_until_it_is_approved(
        shop, tmp_path, env, uv_cache):
    index_url = shop.url + "/repo/default/"
    python = make_venv(tmp_path / "venv")
    refused = modern_pip_install(python, index_url, "app-one", env=env, expect=None)
    assert refused.returncode != 0 and "app-one" in refused.output
    refused = uv_install(python, index_url, "app-one", env=env, cache_dir=uv_cache, expect=None)
    assert refused.returncode != 0
    request = pending(shop, "app-one")
    assert request is not None and request["first_by"] == "anonymous", request
    assert request["first_from"] == "127.0.0.1" and request["latest_version"] == "1.0"

    shop.stop()  # a FileStorage is the running server's alone
    approved = localshop(shop, "project", "approve", "default", "app-one")
    assert "Approved app-one in repository default" in approved.stdout
    shop.start()

    modern_pip_install(python, index_url, "app-one", env=env)
    assert installed_module(python, "app_one", env) == "1.0 wheel"
    with_uv = make_venv(tmp_path / "uv-venv")
    uv_install(with_uv, index_url, "app-one", env=env, cache_dir=uv_cache)
    assert installed_module(with_uv, "app_one", env) == "1.0 wheel"
    entries = [json.loads(line) for line in localshop(shop, "audit", "--json").stdout.splitlines()]
    assert [(e["project"], e["detail"]["action"]) for e in entries
            if e["kind"] == "approval"] == [("app-one", "approved")]


def test_an_admin_approves_a_project_on_the_pending_page(shop):
    project_url = shop.url + "/repo/default/web-two/"
    answer = requests.get(project_url, timeout=10)
    assert answer.status_code == 404 and "awaiting approval" in answer.text
    assert pending(shop, "web-two") is not None
    with chromium() as browser:
        page = browser.new_context().new_page()
        log_in(page, shop.url, "admin", shop.admin_password)
        page.goto(shop.url + "/repo/default/+settings")
        assert page.is_checked("#approve_new_projects")
        page.click("#pending-link")
        row = page.locator("#pending-web-two")
        assert "2.0 (1 files)" in row.inner_text() and "127.0.0.1" in row.inner_text()
        row.locator("form.approve button").click()
        page.wait_for_load_state()
        assert "Approved web-two" in page.content()
        assert page.locator("#pending-web-two").count() == 0
    served = requests.get(project_url, headers={"Accept": "application/vnd.pypi.simple.v1+json"},
                          timeout=10)
    assert served.status_code == 200
    assert [f["filename"] for f in served.json()["files"]] == ["web_two-2.0-py3-none-any.whl"]
