"""The checks of an upload (shop/hosting/validation.py) that need no repository."""
from __future__ import annotations

import pytest

from shop.hosting.errors import UploadError
from shop.hosting.validation import FORM_OVERHEAD, check_action, check_upload_size
from tests.factories import make_sdist

from tests.unit.conftest import upload_form


def test_check_action_accepts_the_known_actions():
    for action in ("file_upload", "submit", "doc_upload"):
        assert check_action(upload_form(make_sdist(), action=action, content=None)) == action
    assert check_action(upload_form(make_sdist(), protocol_version=None, content=None)) == "file_upload"


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"action": None}, "Missing ':action'"),
    ({"action": "remove_pkg"}, "Unknown :action 'remove_pkg'"),
    ({"protocol_version": "2"}, "Unsupported protocol_version '2'"),
])
def test_check_action_refuses_what_it_does_not_know(overrides, reason):
    with pytest.raises(UploadError, match=reason):
        check_action(upload_form(make_sdist(), content=None, **overrides))


def test_a_body_too_large_for_the_limit_and_its_framing_is_413():
    check_upload_size(1000 + FORM_OVERHEAD, 1000)
    check_upload_size(None, 1000)  # a chunked body: the limit holds while it is received
    with pytest.raises(UploadError) as refused:
        check_upload_size(1001 + FORM_OVERHEAD, 1000)
    assert refused.value.status == 413
    assert refused.value.message == (
        f"Upload too large: {1001 + FORM_OVERHEAD} bytes, more than the 1000 bytes "
        "this index accepts (shop.max_upload_size)."
    )
