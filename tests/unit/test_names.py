"""Project names, versions and distribution filenames (shop/model/names.py)."""
from __future__ import annotations

import pytest
from packaging.version import Version

from shop.model import names


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("Foo_Bar", "foo-bar"),
        ("foo.bar", "foo-bar"),
        ("FOO--BAR", "foo-bar"),
        ("foo._-bar", "foo-bar"),
        ("Django", "django"),
        ("a", "a"),
    ],
)
def test_normalize_lowercases_and_folds_runs_of_separators(name, normalized):
    assert names.normalize(name) == normalized


@pytest.mark.parametrize("name", ["a", "A1", "foo-bar", "Foo_Bar", "foo.bar", "1password", "x-1.0_b"])
def test_valid_names_are_accepted_unchanged(name):
    assert names.is_valid_name(name)
    assert names.valid_name(name) == name


@pytest.mark.parametrize(
    "name", ["-foo", "foo-", "_foo", "foo.", "foo bar", "foo/bar", "föö", "foo\x00", "foo!", ".."]
)
def test_invalid_names_are_refused_with_a_reason(name):
    assert not names.is_valid_name(name)
    with pytest.raises(names.InvalidName, match="Invalid project name"):
        names.valid_name(name)


def test_an_empty_name_is_reported_as_missing():
    with pytest.raises(names.InvalidName, match="Missing project name"):
        names.valid_name("")


def test_version_keys_are_canonical_so_1_0_and_1_0_0_are_the_same_release():
    assert names.version_key("1.0") == names.version_key("1.0.0") == names.version_key("1") == "1"
    assert names.version_key("1.0RC1") == "1rc1"
    assert names.version_key("1.0") != names.version_key("1.0.1")


def test_an_invalid_version_is_refused_with_a_reason():
    with pytest.raises(names.InvalidName, match="not a PEP 440 version"):
        names.version_key("not a version")


def test_versions_sort_by_pep_440_not_as_strings():
    versions = ["1.10", "1.9", "1.0rc1", "1.0", "2.0.dev1"]
    assert sorted(versions, key=names.sort_key) == ["1.0rc1", "1.0", "1.9", "1.10", "2.0.dev1"]


def test_unparseable_versions_sort_before_every_valid_one():
    assert sorted(["1.0", "nonsense"], key=names.sort_key) == ["nonsense", "1.0"]


def test_a_wheel_filename_gives_project_version_and_type():
    dist = names.parse_filename("Foo_Bar-1.0-py3-none-any.whl")
    assert (dist.project, dist.version, dist.packagetype) == ("foo-bar", Version("1.0"), "bdist_wheel")


@pytest.mark.parametrize(
    "filename", ["Foo_Bar-1.0.tar.gz", "foo_bar-1.0.tar.gz", "foo-bar-1.0.tar.gz", "Foo.Bar-1.0.zip"]
)
def test_legacy_sdist_filenames_are_parsed_by_their_last_hyphen(filename):
    dist = names.parse_filename(filename)
    assert (dist.project, dist.version, dist.packagetype) == ("foo-bar", Version("1.0"), "sdist")


@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("demo.whl", "Invalid wheel filename"),
        ("demo-1.0-py3-none.whl", "Invalid wheel filename"),
        ("demo-notaversion-py3-none-any.whl", "Invalid wheel filename"),
        ("demo.tar.gz", "Invalid sdist filename"),
        ("demo-1.0.exe", "a distribution is a wheel"),
        ("demo-1.0.tar.bz2", "a distribution is a wheel"),
        ("demo-1.0.egg", "a distribution is a wheel"),
    ],
)
def test_filenames_that_are_not_distributions_are_refused(filename, reason):
    with pytest.raises(names.InvalidName, match=reason):
        names.parse_filename(filename)


@pytest.mark.parametrize(
    "filename",
    ["../demo-1.0.tar.gz", "a/demo-1.0.tar.gz", "a\\demo-1.0.tar.gz", "/demo-1.0.tar.gz", "..", ".",
     ".demo-1.0.tar.gz"],
)
def test_filenames_with_a_path_are_refused(filename):
    with pytest.raises(names.InvalidName, match="has no path"):
        names.parse_filename(filename)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\t", "\n", "\r", "\x7f"])
def test_filenames_with_control_characters_are_refused(char):
    with pytest.raises(names.InvalidName, match="control characters"):
        names.parse_filename(f"demo{char}-1.0.tar.gz")


def test_an_empty_filename_is_refused():
    with pytest.raises(names.InvalidName, match="no filename"):
        names.check_filename("")
