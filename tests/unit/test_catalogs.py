"""Reading an import directory's catalog (shop/operations/catalogs.py): an export manifest
and devpi's dataindex.json, their limits, and paths that would lead outside the directory."""
from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.operations.catalogs import (DATAINDEX, MANIFEST, MAX_CATALOG, CatalogError, Recorded,
                                      read_catalog)

SHA = "ab" * 32
UTC = datetime.timezone.utc


def manifest(tmp_path, files, **project) -> None:
    document = {"format": "localshop-export", "version": 1, "repository": "default",
                "projects": [{"name": "Demo", "owners": ["bob"], "files": files, **project}]}
    (tmp_path / MANIFEST).write_text(json.dumps(document))


def test_a_manifest_gives_each_files_record_and_the_projects_owners(tmp_path):
    manifest(tmp_path, [{"path": "demo/demo-1.0.tar.gz", "sha256": SHA.upper(), "uploader": "bob",
                         "upload_time": "2020-05-01T12:00:00.5+00:00", "yanked": True,
                         "yanked_reason": "broken"}])
    catalog = read_catalog(tmp_path)
    assert catalog.kind == "localshop export"
    assert catalog.files == {"demo/demo-1.0.tar.gz": Recorded(
        SHA, datetime.datetime(2020, 5, 1, 12, 0, 0, 500000, tzinfo=UTC), "bob", True, "broken")}
    assert catalog.owners == {"demo": ["bob"]} and catalog.names == {"demo": "Demo"}


def test_a_version_2_manifest_gives_the_projects_status_and_the_files_provenance(tmp_path):
    manifest(tmp_path, [{"path": "demo/demo-1.0.tar.gz", "sha256": SHA,
                         "provenance_sha256": "CD" * 32, "provenance_size": 1234}],
             status="quarantined", status_reason="malware, see advisory")
    document = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**document, "version": 2}))
    catalog = read_catalog(tmp_path)
    assert catalog.statuses == {"demo": ("quarantined", "malware, see advisory")}
    recorded = catalog.files["demo/demo-1.0.tar.gz"]
    assert (recorded.provenance_sha256, recorded.provenance_size) == ("cd" * 32, 1234)


def test_a_version_1_manifest_has_every_project_active_and_no_provenance(tmp_path):
    manifest(tmp_path, [{"path": "demo/demo-1.0.tar.gz", "sha256": SHA}])
    catalog = read_catalog(tmp_path)
    assert catalog.statuses == {"demo": ("active", "")}
    assert catalog.files["demo/demo-1.0.tar.gz"].provenance_sha256 is None


@pytest.mark.parametrize("project, message", [
    ({"status": "gone"}, r"projects\[0\].status 'gone' is none of active, archived"),
    ({"status": 1}, r"projects\[0\].status is not a string"),
    ({"status_reason": "x" * 501}, r"projects\[0\].status_reason is longer than 500"),
])
def test_a_malformed_project_status_is_refused_naming_where(tmp_path, project, message):
    manifest(tmp_path, [], **project)
    with pytest.raises(CatalogError, match=message):
        read_catalog(tmp_path)


def test_a_directory_without_a_catalog_is_plain_files(tmp_path):
    assert read_catalog(tmp_path).kind == "files"


@pytest.mark.parametrize("path", ["../demo-1.0.tar.gz", "/etc/demo-1.0.tar.gz",
                                  "demo/../../demo-1.0.tar.gz", "demo\\..\\demo-1.0.tar.gz"])
def test_a_manifest_naming_a_path_outside_the_directory_is_refused(tmp_path, path):
    manifest(tmp_path, [{"path": path, "sha256": SHA}])
    with pytest.raises(CatalogError, match="outside|no path"):
        read_catalog(tmp_path)


def test_a_symbolic_link_leading_outside_is_refused(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "demo").symlink_to(tmp_path / "outside")
    manifest(tmp_path / "export", [{"path": "demo/demo-1.0.tar.gz", "sha256": SHA}])
    with pytest.raises(CatalogError, match=r"leads outside .*\(a symbolic link\)"):
        read_catalog(tmp_path / "export")


@pytest.mark.parametrize("entry, message", [
    ({"path": "demo/demo 1.0.tar.gz"}, "Invalid filename"),
    ({"path": "demo/demo-1.0.tar.gz", "sha256": "xyz"}, r"sha256 is not a sha256"),
    ({"path": "demo/demo-1.0.tar.gz", "upload_time": "yesterday"}, "not an ISO 8601 time"),
    ({"path": "demo/demo-1.0.tar.gz", "yanked": "no"}, "yanked is not true or false"),
    ({"path": "demo/demo-1.0.tar.gz", "yanked_reason": "x" * 501}, "longer than 500"),
    ({"path": 7}, "path is not a path"),
    ({"path": "demo/demo-1.0.tar.gz", "provenance_sha256": "ab"}, "provenance_sha256 is not a sha256"),
    ({"path": "demo/demo-1.0.tar.gz", "provenance_size": -1}, "provenance_size is not a size"),
    ({"path": "demo/demo-1.0.tar.gz", "provenance_size": "12"}, "provenance_size is not a whole"),
])
def test_a_malformed_file_entry_is_refused_naming_where(tmp_path, entry, message):
    manifest(tmp_path, [entry])
    with pytest.raises(CatalogError, match=message) as raised:
        read_catalog(tmp_path)
    assert "projects[0].files[0]" in str(raised.value)


@pytest.mark.parametrize("text, message", [
    ("{not json", "is not valid JSON"),
    ('{"format": "something-else", "version": 1}', "not a localshop export manifest"),
    ('{"format": "localshop-export", "version": 3, "projects": []}', "version 1 or 2 .*version 3"),
    ('{"format": "localshop-export", "version": 1, "projects": {}}', "projects is not a list"),
    ("[]", "the manifest is not an object"),
])
def test_a_malformed_manifest_is_refused_with_the_reason(tmp_path, text, message):
    (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(CatalogError, match=message):
        read_catalog(tmp_path)


@pytest.mark.parametrize("name", [MANIFEST, DATAINDEX])
def test_a_catalog_over_the_limit_is_refused_unread(tmp_path, name):
    with open(tmp_path / name, "wb") as f:
        f.truncate(MAX_CATALOG + 1)  # sparse: nothing is written, and nothing must be read
    with pytest.raises(CatalogError, match=f"too large: {MAX_CATALOG + 1} bytes, more than"):
        read_catalog(tmp_path)


def dataindex(tmp_path, files) -> None:
    document = {"dumpversion": "2", "users": {}, "indexes": {
        "alice/dev": {"indexconfig": {"type": "stage"}, "projects": {}, "files": files}}}
    (tmp_path / DATAINDEX).write_text(json.dumps(document))


def releasefile(relpath: str, **extra) -> dict:
    entry = {"type": "releasefile", "relpath": relpath, "projectname": "demo", "version": "1.0",
             "entrymapping": {"hashes": {"sha256": SHA}, "hash_spec": f"sha256={SHA}",
                              "last_modified": "Tue, 01 Dec 2026 19:21:51 GMT"},
             "log": [{"what": "upload", "who": "alice", "when": [2021, 3, 4, 5, 6, 7],
                      "dst": "alice/dev"}]}
    entry.update(extra)
    return entry


def test_devpis_dataindex_gives_release_files_their_upload_times_and_uploaders(tmp_path):
    dataindex(tmp_path, [
        releasefile("alice/dev/demo/1.0/demo-1.0.tar.gz"),
        releasefile("alice/dev/demo/1.1/demo-1.1.tar.gz", log=[]),  # last_modified then
        {"type": "doczip", "relpath": "alice/dev/demo/1.0/demo-1.0.doc.zip"},
    ])
    catalog = read_catalog(tmp_path)
    assert catalog.kind == "devpi export"
    assert catalog.files == {
        "alice/dev/demo/1.0/demo-1.0.tar.gz":
            Recorded(SHA, datetime.datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC), "alice"),
        "alice/dev/demo/1.1/demo-1.1.tar.gz":
            Recorded(SHA, datetime.datetime(2026, 12, 1, 19, 21, 51, tzinfo=UTC)),
    }
    assert catalog.ignored == {"alice/dev/demo/1.0/demo-1.0.doc.zip"}


@pytest.mark.parametrize("entry, message", [
    (releasefile("../../etc/demo-1.0.tar.gz"), "is outside"),
    (releasefile("a/demo-1.0.tar.gz", log=[{"what": "upload", "when": "today"}]), "is not a list"),
    (releasefile("a/demo-1.0.tar.gz", log=[{"what": "upload", "when": [10**30, 1, 1]}]),
     "is not a time"),
    (releasefile("a/demo-1.0.tar.gz", entrymapping={"hashes": {"sha256": "0"}}), "not a sha256"),
    (releasefile("a/demo-1.0.tar.gz", entrymapping=[]), "entrymapping is not an object"),
])
def test_a_malformed_dataindex_is_refused_naming_where(tmp_path, entry, message):
    dataindex(tmp_path, [entry])
    with pytest.raises(CatalogError, match=message) as raised:
        read_catalog(tmp_path)
    assert "indexes['alice/dev'].files[0]" in str(raised.value)


def test_a_dataindex_without_indexes_is_refused(tmp_path):
    (tmp_path / DATAINDEX).write_text('{"users": {}}')
    with pytest.raises(CatalogError, match="indexes is not an object"):
        read_catalog(tmp_path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                       children, max_size=4),
    max_leaves=25)
PATHS = st.sampled_from(["a/demo-1.0.tar.gz", "../x.whl", "/x.whl", "", "demo-1.0.tar.gz"])
ENTRY = st.fixed_dictionaries({}, optional={
    "path": PATHS | JSON, "relpath": PATHS | JSON, "type": st.just("releasefile") | JSON,
    "sha256": st.just(SHA) | JSON, "upload_time": st.just("2020-01-01T00:00:00") | JSON,
    "uploader": JSON, "yanked": JSON, "log": JSON, "entrymapping": JSON,
    "provenance_sha256": st.just(SHA) | JSON, "provenance_size": JSON})
MANIFESTS = st.fixed_dictionaries({"format": st.just("localshop-export"),
                                   "version": st.sampled_from([1, 2]),
                                   "projects": st.lists(st.fixed_dictionaries(
                                       {"name": st.just("demo") | JSON, "files": st.lists(ENTRY)},
                                       optional={"owners": JSON, "status": JSON,
                                                 "status_reason": JSON}), max_size=3) | JSON})
DATAINDEXES = st.fixed_dictionaries({"indexes": st.dictionaries(
    st.text(max_size=8), st.fixed_dictionaries({"files": st.lists(ENTRY, max_size=3) | JSON}),
    max_size=2) | JSON})


@given(document=MANIFESTS | DATAINDEXES | JSON, name=st.sampled_from([MANIFEST, DATAINDEX]))
def test_any_json_document_is_a_catalog_or_refused_with_a_catalog_error(tmp_path, document, name):
    (tmp_path / name).write_text(json.dumps(document))
    try:
        catalog = read_catalog(tmp_path)
    except CatalogError:
        return
    finally:
        (tmp_path / name).unlink()
    for path in catalog.files:  # whatever was accepted stays inside the directory
        assert not path.startswith(("/", "../")) and path != ".."
