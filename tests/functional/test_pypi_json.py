"""PyPI's JSON API: /pypi/<project>/json and /pypi/<project>/<version>/json."""
from __future__ import annotations

import re

import pytest

from tests.factories import make_sdist, make_wheel

from tests.functional.conftest import uploaded, yank

UPLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
FILE_KEYS = {"filename", "url", "digests", "size", "upload_time_iso_8601", "requires_python",
             "yanked", "yanked_reason", "packagetype"}

WHEEL_1 = make_wheel("Foo_Bar", "1.0")
SDIST_1 = make_sdist("Foo_Bar", "1.0")
SDIST_2 = make_sdist("Foo_Bar", "2.0")
SDIST_3_RC = make_sdist("Foo_Bar", "3.0rc1")


@pytest.fixture(scope="module")
def foo(shared_app):
    """Project Foo_Bar: 1.0 (wheel, sdist), 2.0 (sdist, requires Python >= 3.9), 3.0rc1."""
    uploaded(shared_app, WHEEL_1, SDIST_1, summary="Version one")
    uploaded(shared_app, SDIST_2, summary="Version two", requires_python=">=3.9")
    uploaded(shared_app, SDIST_3_RC, summary="Candidate")
    return shared_app


def test_project_json_describes_the_latest_final_release(foo):
    data = foo.get("/pypi/foo-bar/json").json
    info = data["info"]
    assert (info["name"], info["version"], info["summary"]) == ("Foo_Bar", "2.0", "Version two")
    assert info["requires_python"] == ">=3.9"
    assert info["yanked"] is False
    assert [f["filename"] for f in data["urls"]] == [SDIST_2.filename]


def test_releases_map_each_version_to_its_files(foo):
    releases = foo.get("/pypi/foo-bar/json").json["releases"]
    assert {v: sorted(f["filename"] for f in files) for v, files in releases.items()} == {
        "1.0": sorted([WHEEL_1.filename, SDIST_1.filename]),
        "2.0": [SDIST_2.filename],
        "3.0rc1": [SDIST_3_RC.filename],
    }


def test_each_file_has_what_tools_read(foo):
    releases = foo.get("/pypi/foo-bar/json").json["releases"]
    files = {f["filename"]: f for files in releases.values() for f in files}
    for dist in (WHEEL_1, SDIST_1, SDIST_2, SDIST_3_RC):
        entry = files[dist.filename]
        assert FILE_KEYS <= set(entry)
        assert entry["digests"] == {"md5": dist.md5, "sha256": dist.sha256,
                                    "blake2b_256": dist.blake2_256}
        assert entry["size"] == len(dist.data)
        assert UPLOAD_TIME.match(entry["upload_time_iso_8601"])
        assert entry["yanked"] is False and entry["yanked_reason"] is None
        assert entry["packagetype"] == dist.filetype
    assert files[SDIST_2.filename]["requires_python"] == ">=3.9"
    assert files[SDIST_1.filename]["requires_python"] is None


def test_file_urls_are_absolute_and_download_the_bytes(foo):
    for entry in foo.get("/pypi/foo-bar/json").json["releases"]["1.0"]:
        assert entry["url"].startswith("http://localhost/")
        dist = WHEEL_1 if entry["filename"] == WHEEL_1.filename else SDIST_1
        assert foo.get(entry["url"]).body == dist.data


@pytest.mark.parametrize("version", ["1", "2", "3rc1"])
def test_release_json_describes_that_release(foo, version):
    data = foo.get(f"/pypi/foo-bar/{version}/json").json
    expected = {"1": "1.0", "2": "2.0", "3rc1": "3.0rc1"}[version]
    assert data["info"]["version"] == expected
    assert {f["filename"] for f in data["urls"]} == {
        f["filename"] for f in data["releases"][expected]}


def test_release_json_answers_for_the_version_as_listed(foo):
    assert foo.get("/pypi/foo-bar/1.0/json").json["info"]["version"] == "1.0"


def test_a_non_normalized_project_name_redirects_to_the_normalized_one(foo):
    r = foo.get("/pypi/Foo_Bar/json", status=301)
    assert r.location.startswith("http://localhost/pypi/foo-bar/json")
    assert r.follow().json["info"]["name"] == "Foo_Bar"


@pytest.mark.parametrize("path", ["/pypi/nothing/json", "/pypi/foo-bar/9/json"])
def test_unknown_projects_and_versions_are_404(foo, path):
    foo.get(path, status=404)


def test_json_content_type(foo):
    assert foo.get("/pypi/foo-bar/json").headers["Content-Type"].startswith("application/json")


def test_yanked_files_carry_their_reason_and_latest_skips_yanked_releases(app):
    uploaded(app, make_sdist("demo", "1.0"), make_sdist("demo", "2.0"))
    yank(app, "demo", "2", "demo-2.0.tar.gz", "broken")
    data = app.get("/pypi/demo/json").json
    assert data["info"]["version"] == "1.0"
    (entry,) = data["releases"]["2.0"]
    assert (entry["yanked"], entry["yanked_reason"]) == (True, "broken")
    assert app.get("/pypi/demo/2/json").json["info"]["yanked"] is True
