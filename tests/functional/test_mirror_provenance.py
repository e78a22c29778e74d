"""PEP 740 on the mirror side: upstream's provenance fetched once with the file, checked, served."""
from __future__ import annotations

import json
import logging

from tests.attesting import make_attestation
from tests.functional.conftest import database_root, links
from tests.functional.test_mirror import files_of, mirror, publish, upstream  # noqa: F401 (fixtures)


def provenance(dist, sha256=None) -> bytes:
    attestation = make_attestation(dist.filename, sha256 or dist.sha256)
    bundle = {"publisher": {"kind": "GitHub", "repository": "o/r", "workflow": "w.yml"},
              "attestations": [attestation]}
    return json.dumps({"version": 1, "attestation_bundles": [bundle]}).encode()


def test_a_mirrored_files_provenance_is_fetched_once_with_it_kept_and_served(mirror, upstream):
    app = mirror()
    wheel = publish(upstream, "app-one")
    upstream.index.file(wheel.filename).provenance = served = provenance(wheel)
    listed = files_of(app, "app-one")[wheel.filename]
    assert "provenance" not in listed  # nothing advertised before the file is stored here
    assert app.get("/repo/default/app-one/" + listed["url"]).body == wheel.data
    with database_root(app):
        pass  # the writer has stored the file
    stored = files_of(app, "app-one")[wheel.filename]
    assert stored["provenance"] == listed["url"] + ".provenance"
    html = app.get("/repo/default/app-one/", headers={"Accept": "text/html"}).text
    assert links(html)[wheel.filename]["data-provenance"] == stored["provenance"]
    for _ in range(2):
        r = app.get("/repo/default/app-one/" + stored["provenance"])
        assert r.body == served and r.content_type == "application/json"
    assert upstream.count(f"/files/{wheel.filename}.provenance") == 1
    with database_root(app) as root:
        file = root.repositories["default"]["app-one"]["1"][wheel.filename]
        assert file.signers == (("tester@example.org", None, False),)


def test_an_upstream_provenance_for_other_bytes_is_dropped_and_the_file_served(mirror, upstream, caplog):
    app = mirror()
    wheel = publish(upstream, "app-one")
    upstream.index.file(wheel.filename).provenance = provenance(wheel, sha256="b" * 64)
    url = "/repo/default/app-one/" + files_of(app, "app-one")[wheel.filename]["url"]
    with caplog.at_level(logging.WARNING, logger="shop.mirror.provenance"):
        assert app.get(url).body == wheel.data
        with database_root(app) as root:
            assert root.repositories["default"]["app-one"]["1"][wheel.filename].provenance is None
    assert "provenance of %s dropped" % wheel.filename in caplog.text
    assert "is for other bytes" in caplog.text
    assert "provenance" not in files_of(app, "app-one")[wheel.filename]
    app.get(url + ".provenance", status=404)


def test_a_missing_upstream_provenance_leaves_the_file_served_without(mirror, upstream):
    app = mirror()
    wheel = publish(upstream, "app-one")
    upstream.index.file(wheel.filename).provenance = provenance(wheel)
    url = "/repo/default/app-one/" + files_of(app, "app-one")[wheel.filename]["url"]
    upstream.index.file(wheel.filename).provenance = None  # gone by the time it is fetched
    assert app.get(url).body == wheel.data
    with database_root(app):
        pass
    assert "provenance" not in files_of(app, "app-one")[wheel.filename]


def test_an_html_upstreams_provenance_is_fetched_too(mirror, upstream):
    upstream.index.json_pages = False
    app = mirror()
    wheel = publish(upstream, "app-one")
    upstream.index.file(wheel.filename).provenance = served = provenance(wheel)
    url = "/repo/default/app-one/" + files_of(app, "app-one")[wheel.filename]["url"]
    assert app.get(url).body == wheel.data
    with database_root(app):
        pass
    assert app.get(url + ".provenance").body == served
