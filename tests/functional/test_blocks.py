"""The block list through the app: the admin page (/+blocks) adds, lists, filters and removes
blocks and imports OSV files; a block then refuses at HTTP, replayed pages included."""
from __future__ import annotations

import json

import pytest

from shop.services import services_of
from tests.factories import make_wheel
from tests.functional.conftest import ANONYMOUS_READ, JSON, database_root, uploaded
from tests.functional.test_admin import add_user, error, flash, login
from tests.osv_entries import MALICIOUS, REQUESTS, withdrawn
from tests.storecheck import settled

PIP = {"Accept": JSON, "Accept-Encoding": "gzip, deflate"}


@pytest.fixture
def app(make_app):
    app = make_app(**ANONYMOUS_READ)
    login(app)
    return app


def add_block(app, spec: str, reason: str, repository: str = "", status: int = 302):
    form = app.get("/+blocks").forms["add-block"]
    form["spec"], form["reason"], form["repository"] = spec, reason, repository
    return form.submit(status=status)


def remove_block(app, spec: str, repository: str = ""):
    row = app.get("/+blocks")
    link = next(a for a in row.html.select("#blocks a") if f"remove={spec}" in a["href"].replace("%3C", "<")
                .replace("%3D", "=") and f"repository={repository}" in a["href"])
    confirm = app.get(link["href"])
    assert "Remove the block of" in confirm.text
    return confirm.forms["confirm"].submit(status=302)


def rows(app, query: str = "") -> list[list[str]]:
    page = app.get("/+blocks" + query)
    return [[td.get_text(" ", strip=True) for td in tr.select("td")[:4]]
            for tr in page.html.select("#blocks tr.block")]


def block_entries(app) -> list[tuple[str, str, str]]:
    settled(app)
    with database_root(app) as root:
        return [(e.project, dict(e.detail)["action"], dict(e.detail)["spec"])
                for e in root.audit.since() if e.kind == "block"]


def test_a_blocked_upload_leaves_the_pages_and_its_url_refuses_with_the_reason(app):
    good, bad = make_wheel("demo", "1.0"), make_wheel("demo", "2.0")
    uploaded(app, good, bad)
    url = f"/repo/default/demo/2/{bad.filename}"
    app.get(url, status=200)
    assert add_block(app, "demo==2.0", "broken build, use 1.0").follow().status_int == 200

    files = app.get("/repo/default/demo/", headers={"Accept": JSON}).json["files"]
    assert [f["filename"] for f in files] == [good.filename]
    html = app.get("/repo/default/demo/").text
    assert good.filename in html and bad.filename not in html
    refused = app.get(url, status=403)
    assert "broken build, use 1.0" in refused.text and "demo==2.0" in refused.status
    assert block_entries(app) == [("demo", "added", "demo==2.0")]

    remove_block(app, "demo==2.0")
    assert app.get(url, status=200).body == bad.data
    assert block_entries(app)[-1] == ("demo", "removed", "demo==2.0")


def test_a_replayed_anonymous_page_does_not_outlive_the_block(app):
    uploaded(app, make_wheel("demo", "1.0"), make_wheel("demo", "2.0"))
    anonymous = type(app)(app.app)  # no session cookie: its pages are replayed
    replay = services_of(app.app.registry).replay
    for _ in range(2):
        first = anonymous.get("/repo/default/demo/", headers=PIP).json
    hits = replay.hits
    assert anonymous.get("/repo/default/demo/", headers=PIP).json == first
    assert replay.hits == hits + 1 and len(first["files"]) == 2

    add_block(app, "demo>=2", "withdrawn by its author")
    files = anonymous.get("/repo/default/demo/", headers=PIP).json["files"]
    assert [f["filename"] for f in files] == ["demo-1.0-py3-none-any.whl"]
    add_block(app, "demo", "compromised")
    page = anonymous.get("/repo/default/demo/", headers=PIP).json
    assert page["files"] == []
    assert page["project-status"] == {"status": "quarantined", "reason": "blocked: compromised"}


def test_the_page_lists_filters_and_refuses_in_the_form_never_a_500(app):
    add_block(app, "requests==2.99.0", "typosquat upload")
    add_block(app, "foo<1.2", "old and broken", repository="default")
    assert rows(app) == [["foo<1.2", "default", "old and broken", "by hand"],
                         ["requests==2.99.0", "all", "typosquat upload", "by hand"]]
    assert rows(app, "?project=Requests") == [["requests==2.99.0", "all", "typosquat upload", "by hand"]]
    assert rows(app, "?project=nothing") == []
    for spec, reason, said in [("foo[x]", "r", "no extras"), ("", "r", "Invalid block"),
                               ("ok", "", "Give a reason"), ("bad name!", "r", "Invalid block")]:
        page = add_block(app, spec, reason, status=400)
        assert said in error(page) and said in page.status
    form = app.get("/+blocks").forms["add-block"]
    form["spec"], form["reason"] = "x", "y"
    form["repository"].force_value("nope")
    page = form.submit(status=400)
    assert "No repository 'nope'" in error(page) and page.forms["add-block"]["spec"].value == "x"
    gone = app.post("/+blocks?action=remove&spec=missing&repository=",
                    {"csrf_token": form["csrf_token"].value}, status=400)
    assert "No block missing for every repository" in error(gone)
    assert len(rows(app)) == 2


def test_the_osv_upload_blocks_what_it_names_and_again_changes_nothing(app):
    def upload(entry, name="advisory.json", status=302):
        form = app.get("/+blocks").forms["import-osv"]
        form["osv"] = (name, json.dumps(entry).encode())
        return form.submit(status=status)

    done = upload([REQUESTS, MALICIOUS]).follow()
    assert flash(done) == ["Imported advisory.json: 2 advisories: 2 blocks added, 0 changed, "
                           "0 removed, 0 unchanged, 0 advisories skipped."]
    assert rows(app) == [["reqeusts-toolbelt", "all", "MAL-2024-2841: Malicious code in "
                          "reqeusts-toolbelt (PyPI)", "osv:MAL-2024-2841"],
                         ["requests<2.31.0,>=2.3.0", "all", "PYSEC-2023-74: Unintended leak of "
                          "Proxy-Authorization header in requests", "osv:PYSEC-2023-74"]]
    assert "0 blocks added, 0 changed, 0 removed, 2 unchanged" in flash(upload([REQUESTS, MALICIOUS]).follow())[0]
    assert len(block_entries(app)) == 2
    later = flash(upload(withdrawn(MALICIOUS)).follow())[0]
    assert "1 removed" in later and "skipped MAL-2024-2841: withdrawn" in later
    assert "skipped X-1: names no PyPI package" in flash(upload({"id": "X-1"}).follow())[0]
    page = upload([REQUESTS, None], name="broken.json", status=400)
    assert error(page) == "broken.json (entry 2): not an OSV entry (a JSON object with an id)."
    form = app.get("/+blocks").forms["import-osv"]
    form["osv"] = ("bad.json", b"{nope")
    assert error(form.submit(status=400)).startswith("bad.json: not JSON")
    assert [r[0] for r in rows(app)] == ["requests<2.31.0,>=2.3.0"]


def test_only_admins_see_and_change_blocks(app):
    add_user(app, "bob")
    other = type(app)(app.app)
    login(other, "bob", "password-1234")
    assert "+blocks" not in other.get("/").text
    other.get("/+blocks", status=403)
    csrf = other.get("/").html.select_one("input[name=csrf_token]")["value"]  # bob's own
    other.post("/+blocks", {"action": "add", "spec": "x", "reason": "y", "csrf_token": csrf},
               status=403)
    assert 'href="http://localhost/+blocks"' in app.get("/").text
    app.post("/+blocks", {"action": "add", "spec": "x", "reason": "y"}, status=400)  # no CSRF token
    assert rows(app) == []
