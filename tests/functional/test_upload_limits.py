"""Uploads past a length limit (issue 11): over-long names, versions, filenames and fields, too
many values of one field; each a 400 whose reason names the field and the limit, nothing kept."""
from __future__ import annotations

import pytest

from shop.hosting import forms, receiving
from shop.model import names
from tests.factories import distutils_register_body, make_wheel
from tests.functional.conftest import ADMIN, assert_refused, upload

pytestmark = pytest.mark.fault

# Each field: a value one past its limit, and what the reason phrase says.
LONG = {
    "name": ("d" * (names.MAX_NAME_LENGTH + 1), "more than 200"),
    "version": ("1." + "0" * names.MAX_VERSION_LENGTH, "more than 100"),
    "summary": ("s" * 513, "'summary' is too long"),
    "author": ("a" * (forms.FIELD_LENGTH + 1), "'author' is too long"),
    "license": ("l" * (64 * 1024 + 1), "'license' is too long"),
    "pyversion": ("p" * 129, "'pyversion' is too long"),
    ":action": ("x" * 129, "':action' is too long"),
    "sha256_digest": ("0" * 129, "'sha256_digest' is too long"),
}


@pytest.mark.parametrize("field", LONG, ids=list(LONG))
def test_a_field_over_its_limit_is_400_naming_it(app, field):
    value, fragment = LONG[field]
    r = upload(app, make_wheel("demo", "1.0"), **{field: value})
    assert_refused(app, r, 400, fragment)


def test_a_project_name_of_4000_characters_is_400(app):
    name = "d" * 4000
    r = upload(app, make_wheel(name, "1.0"))
    assert_refused(app, r, 400, "project name", "4000 characters, more than 200")


def test_a_filename_over_255_characters_is_400(app):
    dist = make_wheel("demo", "1.0")
    long_name = "demo-1.0-" + "py3." * 62 + "py3-none-any.whl"
    r = upload(app, dist, filename=long_name)
    assert_refused(app, r, 400, "filename", "more than 255")


def test_too_many_values_of_a_multiple_use_field_is_400(app):
    dist = make_wheel("demo", "1.0")
    classifiers = [f"Topic :: T{i}" for i in range(forms.MAX_VALUES + 1)]
    r = upload(app, dist, classifiers=classifiers)
    assert_refused(app, r, 400, "Too many values of 'classifiers'", "more than 1000")


def test_a_multiple_use_value_over_its_limit_is_400(app):
    r = upload(app, make_wheel("demo", "1.0"), requires_dist=["x" * (forms.FIELD_LENGTH + 1)])
    assert_refused(app, r, 400, "'requires_dist' is too long")


def test_metadata_over_its_total_is_400_though_each_field_is_within_its_limit(app):
    """Each of 600 classifiers within 4,096 characters, 2.4 MB together: one release record."""
    classifiers = ["Topic :: " + "x" * 4000 + str(i) for i in range(600)]
    r = upload(app, make_wheel("demo", "1.0"), classifiers=classifiers)
    assert_refused(app, r, 400, "Metadata too large", f"more than {forms.METADATA_LENGTH}")


def test_a_form_of_too_many_fields_is_400(app):
    extra = [str(i) for i in range(receiving.MAX_PARTS)]
    r = upload(app, make_wheel("demo", "1.0"), unknown_field=extra)
    assert_refused(app, r, 400, "Too many form fields: more than 20000")


def test_a_bare_newline_form_of_too_many_fields_is_400(app):
    body, content_type = distutils_register_body("demo", "1.0")
    boundary = content_type.split("boundary=", 1)[1]
    extra = f'\n--{boundary}\nContent-Disposition: form-data; name="x"\n\nv'.encode()
    body = extra * (receiving.MAX_PARTS + 1) + body
    r = app.request("/simple/", method="POST", body=body, headers=ADMIN, expect_errors=True,
                    content_type=content_type)
    assert_refused(app, r, 400, "Too many form fields: more than 20000")
