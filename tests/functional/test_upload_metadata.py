"""Uploads of current core metadata (issue 17): 2.4's License-Expression and License-File, 2.5's
Import-Name and Import-Namespace, a later 2.x; a new major version, an invalid SPDX expression,
a form that differs from the wheel's METADATA and fields past their limits refused."""
from __future__ import annotations

import pytest

from shop.hosting import forms
from tests.factories import make_sdist, make_wheel, metadata_text

from tests.functional.conftest import assert_refused, upload, uploaded

LICENSED = ("License-Expression: mit or apache-2.0", "License-File: LICENSE",
            "License-File: licenses/NOTICE.txt")


def wheel(metadata_version: str, *headers: str, name: str = "demo"):
    """A wheel whose METADATA declares ``metadata_version`` and has ``headers`` too."""
    text = metadata_text(name, "1.0", metadata_version=metadata_version, headers=headers)
    return make_wheel(name, "1.0", metadata=text)


def page(app, project: str = "demo") -> str:
    """The project page's text, its white space folded."""
    return " ".join(app.get(f"/repo/default/{project}/+browse").text.split())


def info(app, project: str = "demo") -> dict:
    return app.get(f"/pypi/{project}/json").json["info"]


def test_a_2_4_wheel_keeps_its_license_expression_canonical_and_its_license_files(app):
    # The fields as twine 7 sends them: the expression as written, License-File as license_file.
    uploaded(app, wheel("2.4", *LICENSED), metadata_version="2.4",
             license_expression="mit or apache-2.0", license_file=["LICENSE", "licenses/NOTICE.txt"])
    shown = page(app)
    assert "<dt>License</dt><dd>MIT OR Apache-2.0</dd>" in shown
    assert "<dt>License files</dt><dd>LICENSE, licenses/NOTICE.txt</dd>" in shown
    data = info(app)
    assert data["license_expression"] == "MIT OR Apache-2.0"
    assert data["license_files"] == ["LICENSE", "licenses/NOTICE.txt"]


def test_a_2_5_wheel_shows_its_import_names_as_uv_sends_them(app):
    uploaded(app, wheel("2.5", "Import-Name: demo", "Import-Name: demo_extra; private",
                        "Import-Namespace: acme"),
             metadata_version="2.5", import_names=["demo", "demo_extra; private"],
             import_namespaces=["acme"])
    shown = page(app)
    assert "<dt>Import names</dt><dd>demo, demo_extra; private</dd>" in shown
    assert "<dt>Import namespaces</dt><dd>acme</dd>" in shown


def test_the_wheels_metadata_counts_when_the_form_leaves_its_fields_out(app):
    """An older client (or distutils, which always says 1.0) sends neither these nor the version."""
    uploaded(app, wheel("2.5", *LICENSED, "Import-Name: demo"), metadata_version="1.0")
    data = info(app)
    assert data["license_expression"] == "MIT OR Apache-2.0"
    assert data["license_files"] == ["LICENSE", "licenses/NOTICE.txt"]
    assert "<dt>Import names</dt><dd>demo</dd>" in page(app)


def test_a_later_2_x_with_a_field_not_known_yet_is_accepted(app):
    uploaded(app, wheel("2.9", "License-Expression: MIT", "Some-Future-Field: value"),
             metadata_version="2.9")
    assert info(app)["license_expression"] == "MIT"


def test_license_file_under_metadata_2_1_is_not_kept(app):
    """setuptools wrote License-File under 2.1, with another meaning; twine drops it too."""
    uploaded(app, wheel("2.1", "License-File: LICENSE"), license_file=["LICENSE"])
    assert info(app)["license_files"] is None
    assert "License files" not in page(app)


def test_an_sdists_license_expression_from_the_form_is_stored_canonical(app):
    uploaded(app, make_sdist("demo", "1.0"), metadata_version="2.4",
             license_expression="bsd-3-clause AND (mit OR apache-2.0)")
    assert info(app)["license_expression"] == "BSD-3-Clause AND (MIT OR Apache-2.0)"


@pytest.mark.parametrize("where", ["form", "wheel"])
def test_metadata_3_0_is_refused_naming_it_and_what_is_accepted(app, where):
    form_version = "3.0" if where == "form" else "2.4"
    r = upload(app, wheel("3.0", "License-Expression: MIT"), metadata_version=form_version)
    assert_refused(app, r, 400, "Unsupported metadata version 3.0",
                   "accepts Metadata-Version 1.x and 2.x", "3.x is a new major version")


def test_a_metadata_version_that_is_no_version_is_refused(app):
    r = upload(app, wheel("2.4"), metadata_version="two")
    assert_refused(app, r, 400, "Invalid metadata version 'two' in the form")


def test_an_invalid_license_expression_in_the_wheel_is_refused_naming_it(app):
    r = upload(app, wheel("2.4", "License-Expression: MIT OR Not-A-License"), metadata_version="2.4")
    assert_refused(app, r, 400, "Invalid License-Expression 'MIT OR Not-A-License'",
                   "in the wheel's METADATA", "Unknown license")


def test_an_invalid_license_expression_in_the_form_is_refused_naming_it(app):
    r = upload(app, make_sdist("demo", "1.0"), metadata_version="2.4",
               license_expression="MIT AND (")
    assert_refused(app, r, 400, "Invalid License-Expression 'MIT AND (' in the form")


def test_a_form_license_that_differs_from_the_wheels_is_refused(app):
    r = upload(app, wheel("2.4", "License-Expression: MIT"), metadata_version="2.4",
               license_expression="GPL-3.0-or-later")
    assert_refused(app, r, 400, "License-Expression in the form (GPL-3.0-or-later) differs "
                   "from the wheel's METADATA (MIT)")


@pytest.mark.parametrize(("header", "value", "fragment"), [
    ("License-File", "/etc/passwd", "paths must be relative"),
    ("Import-Name", "1demo", "'1demo' is not a valid identifier"),
])
def test_an_invalid_entry_in_the_wheel_is_refused(app, header, value, fragment):
    r = upload(app, wheel("2.5", f"{header}: {value}"), metadata_version="2.5")
    assert_refused(app, r, 400, f"Invalid {header} in the wheel's METADATA", fragment)


def test_a_license_expression_given_twice_in_the_wheel_is_refused(app):
    r = upload(app, wheel("2.4", "License-Expression: MIT", "License-Expression: BSD-3-Clause"))
    assert_refused(app, r, 400, "License-Expression is given 2 times in the wheel's METADATA")


# --- limits -----------------------------------------------------------------------------------

MOST = forms.FIELD_COUNTS["license_files"]
LONG_PATH = "l" * (forms.FIELD_LENGTHS["license_files"] + 1)
LONG_NAME = "n" * (forms.FIELD_LENGTHS["import_names"] + 1)
TOO_MANY = [f"licenses/L{i}" for i in range(MOST + 1)]


def test_too_many_license_files_in_the_form_are_refused(app):
    r = upload(app, wheel("2.4"), metadata_version="2.4", license_file=TOO_MANY)
    assert_refused(app, r, 400, "Too many values of 'license_files'", f"more than {MOST}")


def test_too_many_import_names_in_the_wheel_are_refused(app):
    names = [f"Import-Name: m{i}" for i in range(forms.FIELD_COUNTS["import_names"] + 1)]
    r = upload(app, wheel("2.5", *names), metadata_version="2.5")
    assert_refused(app, r, 400, "Too many values of 'import_names' in the wheel's METADATA")


@pytest.mark.parametrize(("fields", "fragment"), [
    ({"license_file": [LONG_PATH]}, "'license_files' is too long"),
    ({"import_name": [LONG_NAME]}, "'import_names' is too long"),
    ({"license_expression": "MIT OR " * 200 + "MIT"}, "'license_expression' is too long"),
    ({"metadata_version": "2." + "4" * 40}, "'metadata_version' is too long"),
])
def test_a_form_field_over_its_limit_is_refused(app, fields, fragment):
    r = upload(app, wheel("2.5"), **fields)
    assert_refused(app, r, 400, fragment)


def test_a_license_file_over_its_limit_in_the_wheel_is_refused(app):
    r = upload(app, wheel("2.4", f"License-File: {LONG_PATH}"), metadata_version="2.4")
    assert_refused(app, r, 400, "Field 'license_files' in the wheel's METADATA is too long",
                   f"more than {forms.FIELD_LENGTHS['license_files']}")
