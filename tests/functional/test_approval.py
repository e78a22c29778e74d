"""Approval of new upstream projects through the app: a real upstream on loopback, a real
FileStorage; the command line run against the app's own database (as beside ZEO)."""
from __future__ import annotations

import re

import pytest

from shop.model import audit, events, repositories
from shop.scripts import cli
from shop.services import services_of
from tests.factories import make_wheel
from tests.functional.test_admin import error, flash, form_with, login
from tests.functional import test_mirror
from tests.functional.test_mirror import HTML, JSON, publish, upload
from tests.storecheck import opened, settled

upstream, mirror = test_mirror.upstream, test_mirror.mirror  # the fixtures: a loopback upstream

AWAITING = "is awaiting approval"
ADDRESS = {"REMOTE_ADDR": "10.0.0.5"}


def approving(app) -> None:
    with opened(app) as root:
        events.act_on(root, events.Actor("admin", "10.0.0.1"))
        repositories.configure(root.repositories["default"], approve_new_projects=True)


def localshop(app, *args: str) -> str:
    """``localshop -c INI ...`` against the app's database."""
    settled(app)
    return cli.run_command(cli.parser().parse_args(["-c", "-", *args]), services_of(app.app.registry))


def requests_of(app) -> dict:
    settled(app)
    with opened(app) as root:
        pending = root.repositories["default"].pending_projects
        fields = ("display", "first_at", "first_by", "first_from", "last_at", "last_by",
                  "last_from", "times")
        return {name: {f: getattr(r, f) for f in fields} for name, r in (pending or {}).items()}


def listed_file(app, project: str) -> str:
    """The URL of the first file of the stored listing (its page is not served)."""
    settled(app)
    with opened(app) as root:
        entry = root.repositories["default"][project].listing.entries[0]
    return f"/repo/default/{project}/{entry[2]}/{entry[0]}"


def refused(app, path: str, headers=None) -> str:
    response = app.get(path, headers=headers or {}, status=404, extra_environ=ADDRESS)
    assert AWAITING in response.status and AWAITING in response.text
    return response.text


def served_names(app) -> list[str]:
    return [p["name"] for p in app.get("/repo/default/", headers=JSON).json["projects"]]


def audit_entries(app, kind: str) -> list[audit.Entry]:
    settled(app)
    with opened(app) as root:
        return [e for e in audit.log_of(root).since() if e.kind == kind]


@pytest.fixture
def app(mirror, upstream):
    publish(upstream, "app-one")
    app = mirror()
    approving(app)
    return app


def test_a_new_project_is_refused_on_every_url_and_who_asked_is_recorded(app):
    text = refused(app, "/repo/default/app-one/", HTML)
    assert "/repo/default/+pending" in text
    refused(app, "/repo/default/app-one/", JSON)
    refused(app, "/simple/app-one/", JSON)
    refused(app, "/pypi/app-one/json")
    refused(app, listed_file(app, "app-one"))
    refused(app, listed_file(app, "app-one") + ".metadata")
    refused(app, "/pypi/app-one/1.0/json")
    assert "app-one" not in served_names(app)
    request = requests_of(app)["app-one"]
    assert (request["first_by"], request["first_from"], request["display"]) == (
        "anonymous", "10.0.0.5", "app-one")
    assert request["times"] == 1  # the others within the minute: counted with the next write
    assert request["first_at"] == request["last_at"]


def test_requests_a_minute_apart_are_counted_with_the_last_asker(app, admin):
    clock = [1000.0]
    services_of(app.app.registry).asking.clock = lambda: clock[0]
    for _ in range(3):
        refused(app, "/simple/app-one/", JSON)
    clock[0] += 60
    app.get("/simple/app-one/", headers={**JSON, **admin}, status=404,
            extra_environ={"REMOTE_ADDR": "10.0.0.9"})
    request = requests_of(app)["app-one"]
    assert (request["times"], request["last_by"], request["last_from"]) == (4, "admin", "10.0.0.9")
    assert request["first_by"] == "anonymous"


def test_a_name_upstream_does_not_know_is_not_recorded(app):
    app.get("/simple/no-such-project/", headers=JSON, status=404)
    assert requests_of(app) == {}


def test_approved_on_the_command_line_it_is_served_at_once_and_audited(app, upstream):
    wheel = upstream.index.file(make_wheel("app-one", "1.0").filename)
    refused(app, "/simple/app-one/", JSON)
    assert "app-one  asked 1x" in localshop(app, "project", "pending", "default")
    assert "Approved app-one in repository default" in localshop(
        app, "project", "approve", "default", "app-one")
    files = app.get("/simple/app-one/", headers=JSON).json["files"]
    assert [f["filename"] for f in files] == [wheel.filename]
    assert app.get(f"/simple/app-one/{files[0]['url']}").body == wheel.data
    assert "app-one" in served_names(app) and requests_of(app) == {}
    (entry,) = audit_entries(app, events.APPROVAL)
    assert entry.project == "app-one" and entry.user.endswith("(command line)")
    assert dict(entry.detail)["action"] == "approved"


def test_denied_it_is_blocked_and_both_are_audited(app):
    refused(app, "/simple/app-one/", JSON)
    url = listed_file(app, "app-one")
    with pytest.raises(SystemExit):  # --reason is required
        cli.parser().parse_args(["-c", "-", "project", "deny", "default", "app-one"])
    localshop(app, "project", "deny", "default", "app-one", "--reason", "not vetted")
    blocked = app.get(url, status=403)
    assert "blocked" in blocked.text and "not vetted" in blocked.text
    page = app.get("/simple/app-one/", headers=JSON).json
    assert page["files"] == [] and page["project-status"]["status"] == "quarantined"
    app.get("/simple/app-one/", headers=JSON)
    assert requests_of(app) == {}  # not asked for again: it is blocked, not pending
    (block,) = audit_entries(app, events.BLOCK)
    assert dict(block.detail) == {"action": "added", "spec": "app-one", "reason": "not vetted",
                                  "source": "denied"}
    assert dict(audit_entries(app, events.APPROVAL)[0].detail)["action"] == "denied"


def test_projects_served_before_the_setting_stay_approved(mirror, upstream):
    publish(upstream, "old-one")
    publish(upstream, "new-one")
    app = mirror()
    app.get("/simple/old-one/", headers=JSON)
    settled(app)
    approving(app)
    assert app.get("/simple/old-one/", headers=JSON).json["files"]
    refused(app, "/simple/new-one/", JSON)
    assert served_names(app) == ["old-one"]


def test_a_hosted_project_is_never_subject_to_approval(app, admin):
    dist = make_wheel("ours", "1.0")
    upload(app, admin, dist)
    assert app.get("/simple/ours/", headers=JSON).json["files"][0]["filename"] == dist.filename
    ours = make_wheel("app-one", "2.0")
    upload(app, admin, ours)  # hosted now, hiding upstream's
    assert [f["filename"] for f in app.get("/simple/app-one/", headers=JSON).json["files"]] == [
        ours.filename]
    assert requests_of(app) == {}


def test_the_pending_page_lists_approves_and_denies(app, upstream):
    publish(upstream, "two-two", "2.0")
    refused(app, "/simple/app-one/", JSON)
    refused(app, "/simple/two-two/", JSON)
    login(app)
    settings = app.get("/repo/default/+settings")
    assert settings.forms["repository-settings"]["approve_new_projects"].checked
    page = settings.click(href=r"/\+pending$")
    rows = re.findall(r'<tr id="pending-([^"]+)"', page.text)
    assert sorted(rows) == ["app-one", "two-two"] and "10.0.0.5" in page.text
    assert "1.0 (1 files)" in page.text and "2.0 (1 files)" in page.text
    denied = form_with(page, action="deny", project="two-two").submit(status=400)
    assert "Give a reason" in error(denied)
    done = form_with(page, action="approve", project="app-one").submit().follow()
    assert "Approved app-one" in " ".join(flash(done))
    form = form_with(done, action="deny", project="two-two")
    form["reason"] = "a typosquat"
    after = form.submit().follow()
    assert "none-pending" in after.text
    app.reset()  # anonymous again
    assert app.get("/simple/app-one/", headers=JSON).json["files"]
    app.get(listed_file(app, "two-two"), status=403)
    assert [e.user for e in audit_entries(app, events.APPROVAL)] == ["admin", "admin"]


def test_the_settings_page_turns_it_on_and_the_pending_page_needs_the_right_to_manage(mirror):
    app = mirror()
    app.get("/repo/default/+pending", status=302)  # anonymous: to the login page
    login(app)
    form = app.get("/repo/default/+settings").forms["repository-settings"]
    form["approve_new_projects"].checked = True
    form.submit().follow()
    with opened(app) as root:
        assert root.repositories["default"].approve_new_projects
    assert "Nothing awaits approval" in app.get("/repo/default/+pending").text
    app.post("/repo/default/+pending", {"action": "approve", "project": "x"}, status=400)


def test_an_anonymous_replayed_page_does_not_outlive_an_approval(app):
    refused(app, "/simple/app-one/", JSON)
    settled(app)
    replay = services_of(app.app.registry).replay
    for _ in range(2):
        assert served_names(app) == []
    hits = replay.hits
    assert served_names(app) == [] and replay.hits == hits + 1  # replayed
    localshop(app, "project", "approve", "default", "app-one")
    assert served_names(app) == ["app-one"]
    assert app.get("/simple/app-one/", headers=JSON).json["files"]


def test_turned_off_the_pending_projects_are_served_and_listed(app):
    refused(app, "/simple/app-one/", JSON)
    assert served_names(app) == []
    with opened(app) as root:
        repositories.configure(root.repositories["default"], approve_new_projects=False)
    assert served_names(app) == ["app-one"]
    assert app.get("/simple/app-one/", headers=JSON).json["files"]
