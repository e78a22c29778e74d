"""Webhooks in the model and the deliverer: what is queued, signed, claimed and retried."""
from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ZODB.POSException import ConflictError

from shop.model import events, repositories, webhooks
from shop.model.bootstrap import bootstrap
from shop.model.root import app_root
from shop.operations.webhooks import Deliverer, Job, post
from tests.factories import make_wheel
from tests.receiver import Receiver
from tests.unit.conftest import other_connection, publish_as, upload_form

SECRET = "a-secret-of-sixteen+"


@pytest.fixture
def hook(repository, tm):
    hook = repositories.add_webhook(repository, "http://127.0.0.1:9/hook", SECRET)
    tm.commit()
    return hook


def queued(root) -> list[webhooks.Delivery]:
    return list(root.webhooks.values())


def test_the_back_off_doubles_from_ten_seconds_up_to_an_hour():
    assert [webhooks.backoff(n) for n in range(1, 11)] == [
        10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
    assert webhooks.backoff(500) == webhooks.MAX_RETRY == 3600


def test_an_upload_is_queued_for_each_hook_with_a_body_its_secret_signs(root, repository, tm, hook):
    events.act(tm, events.Actor("alice", "10.0.0.7"))
    dist = make_wheel("demo", "1.0")
    publish_as(repository, upload_form(dist))
    assert queued(root) == []  # queued just before the commit, in the same transaction
    tm.commit()

    [delivery] = queued(root)
    body = json.loads(delivery.body)
    assert body == {"event": "upload", "delivery": delivery.__name__, "hook": hook.__name__,
                    "time": body["time"], "repository": "default", "project": "demo",
                    "version": "1.0", "filename": dist.filename, "actor": "alice",
                    "sha256": dist.sha256, "size": len(dist.data),
                    "files": [{"filename": dist.filename, "sha256": dist.sha256,
                               "size": len(dist.data), "packagetype": "bdist_wheel"}]}
    assert body["time"].endswith("Z") and "10.0.0.7" not in delivery.body.decode()
    signed = webhooks.signature(SECRET, delivery.body)
    assert signed.startswith("sha256=") and len(signed) == 7 + 64
    assert signed != webhooks.signature(SECRET + "x", delivery.body)
    assert hook.pending() == 1


def test_a_transaction_rolled_back_queues_nothing_and_a_retried_one_queues_once(
        root, repository, tm, hook):
    dist = make_wheel("demo", "1.0")
    publish_as(repository, upload_form(dist))
    tm.abort()  # refused, or lost a conflict: pyramid_retry runs the request again
    assert queued(root) == [] and hook.pending() == 0
    publish_as(repository, upload_form(dist))
    tm.commit()
    assert [d.kind for d in queued(root)] == ["upload"] and hook.pending() == 1


def test_yank_unyank_delete_are_queued_and_other_changes_are_not(root, repository, tm, hook):
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    tm.commit()
    release = repositories.find_release(repository, "demo", "1.0")
    repositories.yank(release, "broken")
    repositories.yank(release, yanked=False)
    repositories.configure(repository, title="Another title")  # not a hooked kind
    repositories.delete(release)
    tm.commit()
    bodies = [json.loads(d.body) for d in queued(root)]
    assert [b["event"] for b in bodies] == ["upload", "yank", "unyank", "delete"]
    assert bodies[1]["reason"] == "broken"
    assert bodies[3]["files"] == [{"filename": "demo-1.0-py3-none-any.whl"}]


def test_two_processes_claiming_one_delivery_one_wins(db, root, repository, tm, hook):
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    tm.commit()
    first, second = other_connection(db), other_connection(db)
    now = queued(root)[0].created
    mine = webhooks.due(app_root(first).webhooks, now, 4)
    theirs = webhooks.due(app_root(second).webhooks, now, 4)
    webhooks.claim(mine[0], "first", now)
    webhooks.claim(theirs[0], "second", now)
    first.transaction_manager.commit()
    with pytest.raises(ConflictError):
        second.transaction_manager.commit()
    second.transaction_manager.abort()
    assert webhooks.due(app_root(second).webhooks, now, 4) == []  # claimed for CLAIM seconds
    assert webhooks.due(app_root(second).webhooks, now + webhooks.CLAIM, 4) != []
    first.close(), second.close()


def test_a_claim_left_by_a_process_that_stopped_ends_and_the_delivery_is_sent(db, root, repository,
                                                                              tm, hook):
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    tm.commit()
    [delivery] = queued(root)
    now = delivery.created
    webhooks.claim(delivery, "a process that died", now)  # claimed, never recorded
    tm.commit()
    with Receiver() as receiver:
        hook.url = receiver.url
        tm.commit()
        deliverer = Deliverer(db)  # not started: its rounds are run here
        assert deliverer.run_once(now + 1) == []
        [sent] = deliverer.run_once(now + webhooks.CLAIM)
    assert sent.ok and receiver.events() == ["upload"]
    tm.begin()
    assert queued(root) == [] and hook.pending() == 0
    assert [(o.state, o.attempts) for o in hook.history] == [("delivered", 2)]


def test_failed_attempts_back_off_then_give_up_after_three_days(db, root, repository, tm, hook):
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    tm.commit()
    created = queued(root)[0].created
    deliverer = Deliverer(db)  # nothing listens at port 9: every attempt fails
    [sent] = deliverer.run_once(created)
    assert sent.status is None and "could not connect" in sent.error
    assert "Connection refused" in sent.error and len(sent.error) < 200
    tm.begin()
    assert queued(root)[0].next_try == pytest.approx(created + 10, abs=1)
    deliverer.run_once(created + webhooks.GIVE_UP)
    tm.begin()
    assert queued(root) == [] and hook.pending() == 0
    assert [o.state for o in hook.history] == ["failed", "retrying"]


def test_hooks_are_bounded_and_their_urls_checked(repository):
    for bad in ("ftp://host/", "http:///path", "http://user:pw@host/", "http://host/a b",
                "http://host:port/", "https://host/" + "x" * webhooks.MAX_URL_LENGTH):
        with pytest.raises(repositories.RepositoryError):
            repositories.add_webhook(repository, bad)
    with pytest.raises(repositories.RepositoryError, match="16 to 200"):
        repositories.add_webhook(repository, "https://host/", "short")
    for n in range(webhooks.MAX_HOOKS):
        repositories.add_webhook(repository, f"https://host/{n}")
    with pytest.raises(repositories.RepositoryError, match="remove one first"):
        repositories.add_webhook(repository, "https://host/one-more")


def test_removing_a_hook_drops_its_deliveries(root, repository, tm, hook):
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    tm.commit()
    repositories.remove_webhook(root, repository, hook.__name__)
    tm.commit()
    assert queued(root) == [] and webhooks.hooks_of(repository) == []


def test_a_project_status_change_is_delivered_with_its_status(root, repository, tm, hook):
    # Nothing records project-status yet (PEP 792 statuses come later): the kind is ready.
    events.record(repository, events.PROJECT_STATUS, repository="default", project="demo",
                  status="archived")
    tm.commit()
    [delivery] = queued(root)
    assert json.loads(delivery.body)["status"] == "archived"
    assert delivery.kind == "project-status"


@given(st.text(max_size=80) | st.from_regex(r"\Ahttps?://[^/]{0,30}(/.{0,30})?\Z"))
def test_a_url_is_accepted_only_as_http_or_https_with_a_host_and_no_user(url):
    try:
        checked = webhooks.check_url(url)
    except webhooks.WebhookError as e:
        assert str(e)
        return
    parts = urlsplit(checked)
    assert parts.scheme in ("http", "https") and parts.hostname and "@" not in parts.netloc
    assert len(checked) <= webhooks.MAX_URL_LENGTH and not any(c.isspace() for c in checked)


def test_a_database_made_before_webhooks_gets_its_queue_at_start(conn, root, tm):
    del root.webhooks  # as roots were stored before webhooks
    tm.commit()
    assert root.webhooks is None
    bootstrap(conn.root(), None)
    tm.commit()
    assert isinstance(root.webhooks, webhooks.Deliveries) and len(root.webhooks) == 0


def test_once_a_receiver_answers_again_its_other_waiting_deliveries_are_due_at_once(
        db, root, repository, tm, hook):
    receiver = Receiver()  # down until started
    hook.url = receiver.url
    deliverer = Deliverer(db)
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    tm.commit()
    t0 = queued(root)[0].created
    assert len(deliverer.run_once(t0)) == 1  # failed: tried again at t0 + 10
    publish_as(repository, upload_form(make_wheel("demo", "2.0")))
    tm.commit()
    assert len(deliverer.run_once(t0 + 5)) == 1  # failed: tried again at t0 + 15
    with receiver:
        assert [s.ok for s in deliverer.run_once(t0 + 10)] == [True]  # the first, back
        assert [s.ok for s in deliverer.run_once(t0 + 10)] == [True]  # the second, not at t0 + 15
    assert [r.json["version"] for r in receiver.received] == ["1.0", "2.0"]


def test_a_hook_queues_at_most_max_pending_and_counts_what_it_dropped(root, repository, tm, hook):
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    tm.commit()
    release = repositories.find_release(repository, "demo", "1.0")
    for n in range(webhooks.MAX_PENDING):  # the upload's, and as many yanks and unyanks
        repositories.yank(release, yanked=n % 2 == 1)
    tm.commit()
    assert (hook.pending(), hook.dropped()) == (webhooks.MAX_PENDING, 1)
    assert len(root.webhooks) == webhooks.MAX_PENDING


def trickling_receiver() -> tuple[str, threading.Event]:
    """A receiver that answers a byte every 0.2 s for ever (each within any read timeout)."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        try:
            for byte in iter(lambda: b"HTTP/1.1 200 OK\r\nX-Slow: yes\r\n", None):
                for i in range(len(byte)):
                    if done.wait(0.2):
                        return
                    connection.sendall(byte[i:i + 1])
        except OSError:  # cut off by the sender: what the test wants
            pass
        finally:
            connection.close()
            listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/hook", done


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline():
    url, done = trickling_receiver()
    job = Job("d1", "h1", events.UPLOAD, url, "s" * 32, b"{}")
    try:
        sent = post(job, deadline=1.5)
    finally:
        done.set()
    assert (sent.status, sent.error) == (None, "no whole answer within 1.5 s")
