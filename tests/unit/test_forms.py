"""Reading an upload form (shop/hosting/forms.py) from the fields and the file received."""
from __future__ import annotations

from webob.multidict import MultiDict

from shop.hosting.forms import UploadForm
from shop.hosting.receiving import ReceivedFile


def test_digests_are_compared_case_insensitively_after_parsing():
    params = MultiDict({"sha256_digest": " ABCDEF ", "name": " demo "})
    form = UploadForm.from_fields(params, None)
    assert form.digests == {"sha256": "abcdef"} and form.name == "demo"


def test_from_fields_reads_plural_metadata_fields_and_the_file():
    received = ReceivedFile("/nonexistent/upload-x.part", "demo-1.0.tar.gz")
    params = MultiDict([(":action", "file_upload"), ("classifiers", "A"), ("classifiers", "B"),
                        ("summary", "S"), ("keywords", ""), ("content", "not the file")])
    form = UploadForm.from_fields(params, received)
    assert form.metadata == {"classifiers": ["A", "B"], "summary": "S"}
    assert (form.action, form.filename) == ("file_upload", "demo-1.0.tar.gz")
    assert form.content is received


def test_a_content_field_is_not_a_file():
    form = UploadForm.from_fields(MultiDict({"content": "not a file"}), None)
    assert (form.content, form.filename) == (None, None)


def test_license_file_and_import_name_are_read_under_every_name_clients_send():
    params = MultiDict([("license_file", "LICENSE"), ("license_files", "NOTICE"),
                        ("import_name", "a"), ("import_names", "b"), ("import_namespace", "c")])
    form = UploadForm.from_fields(params, None)
    assert form.metadata == {"license_files": ["NOTICE", "LICENSE"], "import_names": ["b", "a"],
                             "import_namespaces": ["c"]}
