"""Pages are rendered once per change: every change shows at once, with a new ETag."""
from __future__ import annotations

from shop.model import repositories
from tests.factories import make_wheel, upload_fields
from tests.functional.conftest import database_root
from tests.upstream import FakeIndex, UpstreamServer

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


def _upload(app, admin, dist):
    app.post("/repo/default/", upload_fields(dist), headers=admin,
             upload_files=[("content", dist.filename, dist.data)])


def _page(app, project="demo"):
    r = app.get(f"/repo/default/{project}/", headers=JSON)
    return r.headers["ETag"], [f["filename"] for f in r.json["files"]]


def test_upload_yank_and_delete_each_change_the_page_and_its_etag(app, admin):
    first, second = make_wheel("demo", "1.0"), make_wheel("demo", "2.0")
    _upload(app, admin, first)
    etag1, files = _page(app)
    assert files == [first.filename]
    assert _page(app)[0] == etag1  # unchanged: the same rendering

    _upload(app, admin, second)
    etag2, files = _page(app)
    assert etag2 != etag1 and files == [first.filename, second.filename]

    with database_root(app) as root:
        repositories.yank(repositories.find_release(root.repositories["default"], "demo", "2.0"), "bad")
    etag3, _ = _page(app)
    assert etag3 != etag2
    assert app.get("/repo/default/demo/", headers=JSON).json["files"][1]["yanked"] == "bad"

    with database_root(app) as root:
        repositories.delete(repositories.find_release(root.repositories["default"], "demo", "2.0"))
    etag4, files = _page(app)
    assert etag4 != etag3 and files == [first.filename]
    assert etag4 == etag1  # the ETag is the content's: the same page as before 2.0 was uploaded
    # The root page follows the project list.
    root_etag = app.get("/repo/default/", headers=JSON).headers["ETag"]
    _upload(app, admin, make_wheel("other", "1.0"))
    assert app.get("/repo/default/", headers=JSON).headers["ETag"] != root_etag


def test_a_mirror_refresh_that_learns_a_version_changes_the_page_and_its_etag(make_app):
    index = FakeIndex()
    index.add("mirrored", make_wheel("mirrored", "1.0"))
    with UpstreamServer(index) as upstream:
        app = make_app(**{"shop.upstream": upstream.url, "shop.mirror.index_ttl": "0"})
        etag1, files1 = _page(app, "mirrored")
        assert _page(app, "mirrored")[0] == etag1  # re-checked, unchanged: same page
        index.add("mirrored", make_wheel("mirrored", "2.0"))
        etag2, files2 = _page(app, "mirrored")
    assert etag2 != etag1 and len(files2) == len(files1) + 1
