"""Resources traversal yields that are not stored (shop/model/transient.py)."""
from __future__ import annotations

import pytest

from shop.mirror.storing import FileKey
from shop.model.transient import IProject, UpstreamProject, VersionSpelling
from shop.model.tree import Package, Repository

from tests.unit.test_resources import project

UPSTREAM = "http://127.0.0.1:1/simple/"


@pytest.fixture
def mirroring(repository) -> Repository:
    repository.upstream = UPSTREAM
    return repository


def test_a_name_the_upstream_may_know_is_a_transient_project(mirroring):
    found = mirroring["not-stored-yet"]
    assert isinstance(found, UpstreamProject) and IProject.providedBy(found)
    assert (found.__name__, found.__parent__) == ("not-stored-yet", mirroring)
    # Only traversal sees it: the repository holds nothing new.
    assert "not-stored-yet" not in mirroring and mirroring.get("not-stored-yet") is None
    with pytest.raises(KeyError):
        found["1.0"]


def test_a_stored_project_is_the_package_itself(mirroring):
    stored = project(mirroring, "demo", ("1.0", "demo-1.0.tar.gz"))
    assert mirroring["demo"] is stored and IProject.providedBy(stored)


@pytest.mark.parametrize("settings, name", [
    ({"upstream": None}, "not-stored"),
    ({"upstream": UPSTREAM, "offline": True}, "not-stored"),
    ({"upstream": UPSTREAM}, "Not_Stored"),  # not canonical: the not-found view's 301
    ({"upstream": UPSTREAM}, "not stored!"),  # no project name at all
    ({"upstream": UPSTREAM}, "+browse"),  # a view's name
])
def test_no_transient_project_where_upstream_is_not_asked(repository, settings, name):
    for attribute, value in settings.items():
        setattr(repository, attribute, value)
    with pytest.raises(KeyError):
        repository[name]


def test_another_spelling_of_a_stored_version_stands_for_its_release(repository):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    release = package["1"]
    spelled = package["1.0"]
    assert isinstance(spelled, VersionSpelling) and spelled.release is release
    assert (spelled.__name__, spelled.__parent__) == ("1.0", package)
    assert "1.0" not in package and package.get("1.0") is None
    with pytest.raises(KeyError):
        spelled["demo-1.0.tar.gz"]  # its files are under the canonical URL only


@pytest.mark.parametrize("key", ["2.0", "not-a-version", "json", "+browse"])
def test_no_spelling_for_a_version_not_stored_or_a_name_that_is_none(repository, key):
    package: Package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    with pytest.raises(KeyError):
        package[key]


def test_a_mirrored_file_removed_meanwhile_is_not_found_by_its_key(root, mirroring):
    package = project(mirroring, "demo", ("1.0", "demo-1.0.tar.gz"))
    key = FileKey.of(package["1"]["demo-1.0.tar.gz"])
    assert key.locate(root) is package["1"]["demo-1.0.tar.gz"]
    mirroring.remove("demo")  # traversal would now yield a transient project for the name
    assert key.locate(root) is None
