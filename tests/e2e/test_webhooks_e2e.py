"""Webhooks end to end: hooks managed with the real ``localshop`` command, a real server
delivering twine's uploads to a loopback receiver that is down, then back, also across a
restart of the server; two processes on one ZEO database sending each delivery once."""
from __future__ import annotations

import json
import re

import pytest

from tests.e2e.clients import twine_upload
from tests.e2e.server import LocalshopServer
from tests.e2e.zeoserver import zeo_server
from tests.e2e.test_cli import localshop, shop  # noqa: F401 (shop: a fixture, a server not started)
from tests.factories import make_wheel
from tests.receiver import Receiver, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver():
    """A receiver that is down until the test starts it."""
    down = Receiver()
    yield down
    down.stop()


def add_hook(server: LocalshopServer, url: str, *options: str) -> tuple[str, str]:
    """``repository hook add default URL``: the id and the secret it prints."""
    out = localshop(server, "repository", "hook", "add", "default", url, *options).stdout
    hook_id = re.search(r"^Added hook ([0-9a-f]+) to repository default", out, re.M).group(1)
    secret = re.search(r"^Secret .*: (\S+)$", out, re.M).group(1)
    return hook_id, secret


def hooks(server: LocalshopServer) -> list[dict]:
    """``repository hook list default --json`` (it reads beside the running server)."""
    return json.loads(localshop(server, "repository", "hook", "list", "default", "--json").stdout)


def upload(server: LocalshopServer, dist, env) -> None:
    twine_upload([dist.write(server.base_dir)], "--repository-url", server.url + "/repo/default/",
                 "-u", "admin", "-p", server.admin_password, env=env)


def test_a_receiver_that_is_down_gets_the_upload_once_it_is_back(shop, receiver, env):
    hook_id, secret = add_hook(shop, receiver.url)
    assert len(secret) >= 32
    shop.start()
    dist = make_wheel("hooked", "1.0")
    upload(shop, dist, env)

    [state] = wait_until(lambda: [h for h in hooks(shop) if h["history"]], timeout=90)
    assert state["id"] == hook_id and state["pending"] == 1
    assert state["history"][0]["state"] == "retrying" and state["history"][0]["status"] is None
    assert secret not in json.dumps(hooks(shop))  # the secret was shown once, at add

    receiver.start()
    [received] = receiver.wait_for(1, timeout=90)
    wait_until(lambda: hooks(shop)[0]["pending"] == 0, timeout=90)
    assert len(receiver.received) == 1  # the queue is empty: nothing more will come
    assert received.signed_with(secret)
    assert (received.json["event"], received.json["filename"], received.json["sha256"]) == (
        "upload", dist.filename, dist.sha256)
    assert hooks(shop)[0]["history"][0]["state"] == "delivered"


def test_a_delivery_queued_before_a_restart_is_delivered_once_after_it(shop, receiver, env):
    secret = "chosen-secret-of-the-receiver"
    hook_id, printed = add_hook(shop, receiver.url, "--secret", secret)
    assert printed == secret
    shop.start()
    dist = make_wheel("restarted", "1.0")
    upload(shop, dist, env)
    shop.stop()  # the receiver still down: the delivery waits in the database

    shop.start()
    receiver.start()
    [received] = receiver.wait_for(1, timeout=120)
    wait_until(lambda: hooks(shop)[0]["pending"] == 0, timeout=90)
    assert len(receiver.received) == 1
    assert received.signed_with(secret) and received.json["filename"] == dist.filename
    assert received.headers["X-Localshop-Hook"] == hook_id

    shop.stop()
    removed = localshop(shop, "repository", "hook", "remove", "default", hook_id).stdout
    assert removed == f"Removed hook {hook_id} ({receiver.url}) from repository default\n"
    assert hooks(shop) == []


def test_hook_commands_refuse_bad_input_saying_why(shop):
    refused = localshop(shop, "repository", "hook", "add", "default", "ftp://127.0.0.1/x",
                        expect=1)
    assert "give an http:// or https:// URL" in refused.stderr
    refused = localshop(shop, "repository", "hook", "add", "default", "http://127.0.0.1/x",
                        "--secret", "short", expect=1)
    assert "16 to 200" in refused.stderr
    refused = localshop(shop, "repository", "hook", "remove", "default", "nope", expect=1)
    assert "No hook 'nope' in repository default." in refused.stderr
    refused = localshop(shop, "repository", "hook", "list", "nowhere", expect=1)
    assert "No repository 'nowhere'." in refused.stderr
    assert hooks(shop) == []


def test_processes_sharing_a_zeo_database_send_each_delivery_once(tmp_path, env):
    # A slow receiver: while one process waits for its answer, the other looks at the queue.
    with zeo_server(tmp_path) as (address, _), Receiver(delay=2) as receiver:
        servers = [LocalshopServer(tmp_path / f"p{i}", admin_password="admin-of-both", settings={
            "zodbconn.uri": f"zeo://{address}?blob_dir={tmp_path / f'cache{i}'}"
                            "&shared_blob_dir=false",
            "shop.secret": "one-secret-for-every-process"}) for i in range(2)]
        try:
            for server in servers:
                server.start()
            _, secret = add_hook(servers[0], receiver.url)  # beside the running servers
            dists = [make_wheel("shared", f"1.{n}") for n in range(4)]
            for n, dist in enumerate(dists):
                upload(servers[n % 2], dist, env)  # each process commits, each polls
            receiver.wait_for(len(dists), timeout=90)
            wait_until(lambda: hooks(servers[1])[0]["pending"] == 0, timeout=90)
        finally:
            for server in servers:
                server.stop()
    assert len(receiver.received) == len(dists)
    assert sorted(r.json["filename"] for r in receiver.received) == [d.filename for d in dists]
    assert all(r.signed_with(secret) for r in receiver.received)
