"""Project ownership: the first uploader owns a project; credentials upload, never manage."""
from __future__ import annotations

import pytest

from shop.access import accounts
from shop.model import repositories
from tests.conftest import basic_auth
from tests.factories import make_wheel, upload_fields
from tests.functional.conftest import database_root, passwords

PASSWORD = "password-1234"


@pytest.fixture
def team(app):
    """alice and bob are uploaders in ``default``; alice has a read+upload credential."""
    with database_root(app) as root:
        default = repositories.get_repository(root, "default")
        for name in ("alice", "bob"):
            accounts.add_user(root, name, PASSWORD, passwords=passwords(app))
            repositories.set_role(default, user=name, role="uploader")
        key, secret, _ = accounts.create_credential(root, "alice", upload=True)
    return basic_auth("alice", PASSWORD), basic_auth("bob", PASSWORD), basic_auth(key, secret)


def _upload(app, dist, headers):
    return app.post("/repo/default/", upload_fields(dist), headers=headers, expect_errors=True,
                    upload_files=[("content", dist.filename, dist.data)])


def test_only_owners_add_versions_and_a_credential_acts_for_its_owner(app, team):
    alice, bob, alices_key = team
    assert _upload(app, make_wheel("alices-lib", "1.0"), alice).status_int == 200
    # alice's credential releases her project's next version...
    assert _upload(app, make_wheel("alices-lib", "1.1"), alices_key).status_int == 200
    # ...bob, an uploader too, may not add to a project he does not own, and is told whose it is.
    refused = _upload(app, make_wheel("alices-lib", "1.2"), bob)
    assert refused.status_int == 403 and "belongs to alice" in refused.status
    versions = app.get("/simple/alices-lib/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert versions.json["versions"] == ["1.0", "1.1"]


def test_a_credential_never_manages_what_its_owner_may(app, team):
    alice, _, alices_key = team
    _upload(app, make_wheel("alices-lib", "1.0"), alice)
    # alice, logged in with her password, may yank; her credential may not.
    app.get("/repo/default/alices-lib/1/+yank", headers=alice, status=200)
    r = app.get("/repo/default/alices-lib/1/+yank", headers=alices_key, status=403)
    assert "credentials are for installing and uploading only" in r.text
