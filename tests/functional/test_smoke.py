from tests.factories import make_wheel, upload_fields


def test_upload_then_page(app, admin):
    dist = make_wheel("Foo_Bar", "1.0")
    r = app.post("/repo/default/", upload_fields(dist), upload_files=[("content", dist.filename, dist.data)], headers=admin)
    assert r.status_int == 200, r.text
    r = app.get("/simple/foo-bar/")
    assert dist.filename in r.text
    r = app.get("/simple/foo-bar/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    print(r.json)
    f = r.json["files"][0]
    r = app.get("/simple/foo-bar/" + f["url"])
    assert r.body == dist.data
    r = app.get("/simple/foo-bar/" + f["url"] + ".metadata")
    print(r.headers)
    r = app.get("/pypi/foo-bar/json")
    print(r.json)
