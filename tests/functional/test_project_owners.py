"""Co-owners: an owner adds an uploader as owner (page form or command line)."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from shop.access import accounts
from shop.model import repositories
from shop.hosting.forms import UploadForm
from shop.hosting.publishing import publish
from shop.hosting.receiving import receive_stream
from shop.storage import open_database, root_transaction, temporary_directory
from tests.conftest import basic_auth
from tests.factories import make_wheel, upload_fields
from tests.functional.conftest import database_root, passwords

PASSWORD = "password-1234"
BIN = Path(sys.executable).parent


def _upload(app, dist, headers):
    return app.post("/repo/default/", upload_fields(dist), headers=headers, expect_errors=True,
                    upload_files=[("content", dist.filename, dist.data)])


def test_an_owner_adds_a_co_owner_who_may_then_release(app):
    with database_root(app) as root:
        default = root.repositories["default"]
        for name in ("alice", "bob"):
            accounts.add_user(root, name, PASSWORD, passwords=passwords(app))
            repositories.set_role(default, user=name, role="uploader")
    alice, bob = basic_auth("alice", PASSWORD), basic_auth("bob", PASSWORD)
    assert _upload(app, make_wheel("shared-lib", "1.0"), alice).status_int == 200
    assert _upload(app, make_wheel("shared-lib", "1.1"), bob).status_int == 403

    page = app.get("/repo/default/shared-lib/+browse", headers=alice)
    form = page.forms["owners"]
    form["user"] = "bob"
    form.submit("action", value="add", headers=alice, status=302)
    assert _upload(app, make_wheel("shared-lib", "1.1"), bob).status_int == 200
    # Not a user: refused with the reason, nothing changed.
    form["user"] = "nobody"
    r = form.submit("action", value="add", headers=alice, status=400)
    assert "No user 'nobody'" in r.text
    with database_root(app) as root:
        assert set(root.repositories["default"]["shared-lib"].owners) == {"alice", "bob"}
    # bob is not an owner-manager of other projects, and may not change these owners without CSRF.
    app.post("/repo/default/shared-lib/+owners", {"user": "bob", "action": "remove"},
             headers=bob, status=400)


def test_the_command_line_shows_adds_and_removes_owners(tmp_path):
    ini = tmp_path / "shop.ini"
    ini.write_text(
        "[app:main]\nuse = egg:localshop\n"
        f"zodbconn.uri = file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs\n"
        "shop.upstream = none\nshop.secret = s\n"
    )

    def localshop(*args, stdin=""):
        return subprocess.run([str(BIN / "localshop"), "-c", str(ini), *args], input=stdin,
                              capture_output=True, text=True)

    assert localshop("user", "add", "carol", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    dist = make_wheel("tool", "1.0")
    db = open_database(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    with root_transaction(db) as root:
        received = receive_stream(io.BytesIO(dist.data), dist.filename, temporary_directory(db), 10**6)
        publish(root.repositories["default"], UploadForm(
            action="file_upload", protocol_version="1", name="tool", version="1.0",
            filetype="bdist_wheel", pyversion="py3", filename=dist.filename,
            content=received, digests={"sha256": dist.sha256},
        ), "admin", may_release=lambda package: True)  # a new project: nobody else's
    db.close()

    added = localshop("project", "owners", "default", "tool", "--add", "carol")
    assert added.returncode == 0 and added.stdout.strip() == "Owners of tool: admin, carol"
    removed = localshop("project", "owners", "default", "tool", "--remove", "admin")
    assert removed.stdout.strip() == "Owners of tool: carol"
    refused = localshop("project", "owners", "default", "tool", "--add", "nobody")
    assert refused.returncode == 1 and "No user 'nobody'" in refused.stderr
