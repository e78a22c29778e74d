"""PEP 792 project status at the HTTP level: set on the project page or the command line,
carried by the simple pages (JSON and HTML), and what each status does to uploads and files."""
from __future__ import annotations

import json

import pytest

from shop.model import status
from shop.model.blocks import BlockError
from tests.factories import make_wheel
from tests.functional.conftest import JSON, database_root, upload, uploaded
from tests.functional.test_admin import login
from tests.storecheck import opened, settled

PIP = {"Accept": JSON, "Accept-Encoding": "gzip"}
WHEEL = "demo-1.0-py3-none-any.whl"


def set_status(app, value: str, reason: str = "") -> None:
    with opened(app) as root:
        status.set_status(root.repositories["default"]["demo"], value, reason)


def pages(app) -> tuple[dict, str]:
    return (app.get("/simple/demo/", headers={"Accept": JSON}).json,
            app.get("/simple/demo/", headers={"Accept": "text/html"}).text)


def test_an_active_project_says_nothing(app):
    uploaded(app, make_wheel("demo", "1.0"))
    page, html = pages(app)
    assert "project-status" not in page and "pypi:project-status" not in html


@pytest.mark.parametrize("value", ["archived", "deprecated"])
def test_archived_and_deprecated_projects_say_so_and_offer_their_files(app, value):
    uploaded(app, make_wheel("demo", "1.0"))
    set_status(app, value, "use demo2 <instead> & more")
    page, html = pages(app)
    assert page["project-status"] == {"status": value, "reason": "use demo2 <instead> & more"}
    assert page["meta"]["api-version"] == "1.4"
    assert f'<meta name="pypi:project-status" content="{value}">' in html
    assert '<meta name="pypi:project-status-reason" content="use demo2 &lt;instead&gt; &amp; more">' in html
    assert [f["filename"] for f in page["files"]] == [WHEEL]
    app.get(f"/simple/demo/1/{WHEEL}", status=200)


def test_an_archived_project_refuses_uploads_and_says_why(app):
    uploaded(app, make_wheel("demo", "1.0"))
    set_status(app, "archived", "moved to demo2")
    refused = upload(app, make_wheel("demo", "2.0"))
    assert refused.status_int == 400
    assert "is archived (moved to demo2)" in refused.status and "no new uploads" in refused.text
    with database_root(app) as root:
        assert list(root.repositories["default"]["demo"].keys()) == ["1"]  # nothing left behind
    set_status(app, "active")
    uploaded(app, make_wheel("demo", "2.0"))


def test_a_quarantined_project_offers_no_files(app):
    uploaded(app, make_wheel("demo", "1.0"))
    set_status(app, "quarantined", "malware found")
    page, html = pages(app)
    assert page["files"] == [] and page["versions"] == []
    assert page["project-status"] == {"status": "quarantined", "reason": "malware found"}
    assert WHEEL not in html
    refused = app.get(f"/simple/demo/1/{WHEEL}", status=404)
    assert "quarantined: malware found" in refused.status
    app.get(f"/simple/demo/1/{WHEEL}.metadata", status=404)
    assert upload(app, make_wheel("demo", "2.0")).status_int == 400
    set_status(app, "active")
    assert [f["filename"] for f in pages(app)[0]["files"]] == [WHEEL]


def test_a_replayed_page_does_not_outlive_a_status_change(app):
    uploaded(app, make_wheel("demo", "1.0"))
    for _ in range(2):  # kept, then replayed
        assert len(app.get("/simple/demo/", headers=PIP).json["files"]) == 1
    set_status(app, "quarantined")
    assert app.get("/simple/demo/", headers=PIP).json["files"] == []


def test_the_status_is_set_on_the_project_page_and_audited(app):
    uploaded(app, make_wheel("demo", "1.0"))
    login(app)
    form = app.get("/repo/default/demo/+browse").forms["status"]
    form["status"], form["reason"] = "deprecated", "superseded by demo2"
    shown = form.submit().follow()
    assert "demo is deprecated (superseded by demo2)." in shown.text
    assert "superseded by demo2" in shown.html.find(id="project-status-reason").text
    assert pages(app)[0]["project-status"]["status"] == "deprecated"
    settled(app)  # the audit entry is written just after the change, by the writer
    audit = app.get("/+audit").text
    assert "project-status" in audit and "superseded by demo2" in audit


def test_bad_statuses_and_mirrored_projects_are_refused(app):
    uploaded(app, make_wheel("demo", "1.0"))
    with pytest.raises(status.StatusError, match="Invalid project status"):
        set_status(app, "gone")
    login(app)
    form = app.get("/repo/default/demo/+browse").forms["status"]
    token = form["csrf_token"].value
    refused = app.post("/repo/default/demo/+status", {"status": "gone", "csrf_token": token},
                       status=400)
    assert "Invalid project status 'gone'" in refused.status


def test_a_blocked_version_cannot_be_uploaded(app):
    with opened(app) as root:
        root.blocklist.add("demo==2.0", "compromised key")
        with pytest.raises(BlockError):
            root.blocklist.add("demo[extra]==2.0", "no")
    uploaded(app, make_wheel("demo", "1.0"))
    refused = upload(app, make_wheel("demo", "2.0"))
    assert refused.status_int == 403 and "blocked (demo==2.0): compromised key" in refused.status
    assert json.loads(app.get("/simple/demo/", headers={"Accept": JSON}).body)["versions"] == ["1.0"]
