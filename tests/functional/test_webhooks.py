"""Webhooks through the real app: managed on the settings page, each change delivered once to a
loopback receiver, signed; nothing for a change that did not commit."""
from __future__ import annotations

import re
import time

import pytest

from shop.model import webhooks
from shop.model.names import version_key
from shop.services import services_of
from tests.factories import make_wheel
from tests.functional.conftest import ADMIN, database_root, upload
from tests.conftest import basic_auth
from tests.functional.test_admin import PASSWORD, add_user, form_with, login
from tests.receiver import Receiver, wait_until

SETTINGS = "/repo/default/+settings"
RELEASE = f"http://localhost/repo/default/demo/{version_key('1.0')}/"


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def add_hook(app, url: str) -> tuple[str, str]:
    """Add a hook on the settings page: its id and the secret the page shows once."""
    form = app.get(SETTINGS).forms["add-hook"]
    form["url"] = url
    page = form.submit(status=200)
    secret = re.search(r'<code class="copy" id="hook-secret">([^<]+)</code>', page.text).group(1)
    hook_id = re.search(r"Added hook ([0-9a-f]+)\.", page.text).group(1)
    assert secret not in app.get(SETTINGS).text  # shown this once
    return hook_id, secret


def hook_state(app, hook_id: str) -> dict:
    with database_root(app) as root:
        return webhooks.get_hook(root.repositories["default"], hook_id).state()


def test_each_change_is_delivered_once_signed_with_the_hooks_secret(app, receiver):
    login(app)
    hook_id, secret = add_hook(app, receiver.url)
    wheel = make_wheel("demo", "1.0")

    upload(app, wheel)
    receiver.wait_for(1)
    app.get(f"{RELEASE}+yank").forms["confirm"].submit(status=302)
    receiver.wait_for(2)
    app.get(f"{RELEASE}+unyank").forms["confirm"].submit(status=302)
    receiver.wait_for(3)
    app.get(f"{RELEASE}+delete").forms["confirm"].submit(status=302)
    received = receiver.wait_for(4)

    # Once the queue is empty nothing more can be sent: each event came exactly once.
    wait_until(lambda: hook_state(app, hook_id)["pending"] == 0)
    assert receiver.events() == ["upload", "yank", "unyank", "delete"]
    assert all(r.signed_with(secret) for r in received)
    assert not any(r.signed_with(secret + "x") for r in received)
    assert len({r.headers["X-Localshop-Delivery"] for r in received}) == 4
    for r in received:
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["X-Localshop-Event"] == r.json["event"]
        assert r.headers["X-Localshop-Delivery"] == r.json["delivery"]
        assert (r.json["repository"], r.json["project"], r.json["version"], r.json["actor"]) == (
            "default", "demo", "1.0", "admin")
    assert (received[0].json["sha256"], received[0].json["size"]) == (wheel.sha256, len(wheel.data))
    assert received[0].json["filename"] == wheel.filename
    assert received[3].json["files"] == [{"filename": wheel.filename}]

    page = app.get(SETTINGS)
    row = re.search(rf'<tr id="hook-{hook_id}">(.*?)</tr>', page.text, re.S).group(1)
    assert receiver.url in row and "delivered" in row and "HTTP 204" in row
    assert re.search(r'class="pending">0<', row)


def test_a_refused_upload_queues_nothing(app, receiver):
    login(app)
    hook_id, _ = add_hook(app, receiver.url)
    wheel = make_wheel("demo", "1.0")
    refused = upload(app, wheel, filename="demo-2.0-py3-none-any.whl")  # not the form's version
    assert refused.status_int == 400
    with database_root(app) as root:
        assert len(root.webhooks) == 0
    assert hook_state(app, hook_id)["pending"] == 0

    upload(app, wheel)
    [only] = receiver.wait_for(1)
    wait_until(lambda: hook_state(app, hook_id)["pending"] == 0)
    assert receiver.events() == ["upload"] and only.json["filename"] == wheel.filename


def test_a_receiver_that_answers_an_error_is_retried_and_shown_on_the_page(app):
    login(app)
    with Receiver(status=503) as failing:
        hook_id, _ = add_hook(app, failing.url)
        upload(app, make_wheel("demo", "1.0"))
        failing.wait_for(1)
        wait_until(lambda: hook_state(app, hook_id)["history"])
    state = hook_state(app, hook_id)
    assert state["pending"] == 1
    assert [(o["state"], o["status"]) for o in state["history"]] == [("retrying", 503)]
    row = re.search(rf'<tr id="hook-{hook_id}">(.*?)</tr>', app.get(SETTINGS).text, re.S).group(1)
    assert "retrying" in row and "HTTP 503" in row and 'class="pending">1<' in row
    assert state["history"][0]["next_try"] in row

    # Three days later it is given up, and the page says so.
    deliverer = services_of(app.app.registry).webhooks
    deliverer.run_once(time.time() + webhooks.GIVE_UP)
    state = hook_state(app, hook_id)
    assert state["pending"] == 0 and state["history"][0]["state"] == "failed"
    assert "failed" in app.get(SETTINGS).text


def test_hooks_are_added_and_removed_on_the_settings_page_by_who_may_configure(app, receiver):
    login(app)
    form = app.get(SETTINGS).forms["add-hook"]
    form["url"] = "ftp://127.0.0.1/hook"
    refused = form.submit(status=400)
    assert "give an http:// or https:// URL" in refused.status
    assert "give an http:// or https:// URL" in refused.text
    hook_id, _ = add_hook(app, receiver.url)
    assert hook_state(app, hook_id)["url"] == receiver.url

    app.post(SETTINGS, {"action": "hook-remove", "hook": hook_id}, status=400)  # no CSRF token
    add_user(app, "ivan", role="uploader")
    ivan = basic_auth("ivan", PASSWORD)  # may upload, not configure the repository
    app.get(SETTINGS, headers=ivan, status=403)
    form_with(app.get(SETTINGS), action="hook-remove", hook=hook_id).submit(status=302)
    with database_root(app) as root:
        assert webhooks.hooks_of(root.repositories["default"]) == []
    upload(app, make_wheel("demo", "1.0"), headers=ADMIN)
    with database_root(app) as root:
        assert len(root.webhooks) == 0
    assert receiver.received == []
