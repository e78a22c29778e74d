"""The audit log end to end: a real twine upload to a real server, a failed login, and the
command line's changes, listed by ``localshop audit --json`` beside the running server and
shown on ``/+audit`` in a real Chromium."""
from __future__ import annotations

import getpass
import json
import time

import pytest
import requests

from tests.e2e.browser import chromium, log_in
from tests.e2e.clients import LOCALSHOP, run, twine_upload
from tests.e2e.server import LocalshopServer
from tests.e2e.test_page_widths import SCREENSHOTS
from tests.factories import make_wheel

pytestmark = pytest.mark.e2e

CLI_USER = f"{getpass.getuser()} (command line)"


def localshop(server: LocalshopServer, *args: str, input: str | None = None, expect: int = 0):
    return run([LOCALSHOP, "-c", server.ini, *args], env=server.process_env(), input=input,
               expect=expect)


def audit_entries(server: LocalshopServer, *args: str) -> list[dict]:
    """``localshop audit --json``: one object per line."""
    out = localshop(server, "audit", "--json", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def wait_for_kind(server: LocalshopServer, kind: str, timeout: float = 30.0) -> list[dict]:
    """The entries, once one of ``kind`` is committed (failed logins are written just after
    their request, by the server's writer)."""
    deadline = time.monotonic() + timeout
    while True:
        found = audit_entries(server)
        if any(e["kind"] == kind for e in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A server that saw a twine upload and a failed login, and, while stopped, a user added
    on the command line; running again."""
    server = LocalshopServer(tmp_path_factory.mktemp("audit"))
    env = server.process_env()
    server.start()
    try:
        dist = make_wheel("audited", "1.0")
        twine_upload([dist.write(server.base_dir)], "--repository-url", server.url + "/repo/default/",
                     "-u", "admin", "-p", server.admin_password, env=env)
        refused = requests.get(server.url + "/simple/", auth=("admin", "not-the-password"), timeout=10)
        assert refused.status_code == 401
        wait_for_kind(server, "login-failed")
        server.stop()
        localshop(server, "user", "add", "carol", "--password-stdin", input="carol-secret\n")
        server.start()
        yield server
    finally:
        server.stop()


def test_the_command_line_lists_every_change_with_who_and_from_where(shop):
    found = audit_entries(shop)
    assert [(e["kind"], e["user"], e["address"]) for e in found] == [
        ("upload", "admin", "127.0.0.1"),
        ("login-failed", "admin", "127.0.0.1"),
        ("user", CLI_USER, "local"),
    ]
    upload, failed, added = found
    assert (upload["repository"], upload["project"], upload["version"], upload["filename"]) == (
        "default", "audited", "1.0", "audited-1.0-py3-none-any.whl")
    assert failed["detail"] == {"how": "basic"}
    assert added["detail"] == {"user": "carol", "action": "created", "admin": "False"}
    assert found[0]["time"].endswith("Z") and found == sorted(found, key=lambda e: e["time"])


def test_since_and_the_plain_lines(shop):
    found = audit_entries(shop)
    assert audit_entries(shop, "--since", found[-1]["time"]) == found[-1:]
    assert audit_entries(shop, "--since", "2999-01-01") == []
    lines = localshop(shop, "audit").stdout.splitlines()
    assert len(lines) == 3 and "  upload  admin  127.0.0.1  default/audited 1.0 " in lines[0]
    assert lines[2].endswith('user="carol" action="created" admin="False"')


def test_a_bad_date_says_what_is_expected(shop):
    refused = localshop(shop, "audit", "--since", "yesterday", expect=2)
    assert "argument --since: expected an ISO date or date and time in UTC" in refused.stderr
    assert "'yesterday'" in refused.stderr


def test_the_audit_page_in_a_browser(shop):
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        log_in(page, shop.url, "admin", shop.admin_password)
        page.click("nav >> text=Audit log")
        page.wait_for_load_state()
        assert page.url == shop.url + "/+audit"
        kinds = [c.strip() for c in page.locator("tr.audit-entry td:nth-child(4)").all_inner_texts()]
        assert kinds == ["user", "login-failed", "upload"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "audit-1280.png"), full_page=True)
        page.select_option("#f-kind", "upload")
        with page.expect_navigation():
            page.click("#audit-filter button[type=submit]")
        rows = page.locator("tr.audit-entry").all_inner_texts()
        assert len(rows) == 1 and "audited" in rows[0] and "127.0.0.1" in rows[0]
        page.screenshot(path=str(SCREENSHOTS / "audit-filtered-1280.png"), full_page=True)
