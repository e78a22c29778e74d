"""Repository-level domain functions (shop/model/repositories.py)."""
from __future__ import annotations

import pytest

from shop.model import names
from shop.model import repositories
from shop.model.root import app_root
from shop.model.tree import Package, Release, ReleaseFile

from tests.unit.conftest import other_connection


def test_search_matches_any_spelling_and_loads_only_what_it_lists(db, repository, tm):
    for name in ("Alpha_Tools", "beta.tools", "gamma"):
        repository.add(names.normalize(name), Package(name))
    tm.commit()
    conn = other_connection(db)
    try:
        fresh = app_root(conn).repositories["default"]
        found, cut = repositories.search(fresh, "ALPHA-tools")
        assert [p.name for p in found] == ["Alpha_Tools"] and not cut
        assert fresh["gamma"]._p_changed is None  # never loaded: a ghost
        assert [p.name for p in repositories.search(fresh, "tools")[0]] == ["Alpha_Tools", "beta.tools"]
        assert repositories.search(fresh, "", limit=2) == ([fresh["alpha-tools"], fresh["beta-tools"]], True)
    finally:
        conn.close()


def test_upstream_files_are_neither_yanked_nor_deleted_by_any_caller(repository):
    """The rule is the model's: the admin pages and ``localshop release`` share it."""
    package = repository.add("mirrored", Package("mirrored"))
    release = package.add("1", Release("1.0"))
    file = ReleaseFile("mirrored-1.0.tar.gz", packagetype="sdist", size=1, sha256="0" * 64)
    file.origin = "mirror"
    release.add(file.filename, file)
    for operation in (repositories.yank, repositories.delete):
        for target in (release, file):
            with pytest.raises(repositories.RepositoryError, match="follows upstream"):
                operation(target)
    assert not file.yanked and list(release) == [file.filename]


def test_a_release_of_uploaded_and_upstream_files_yanks_and_deletes_its_uploads_only(repository):
    package = repository.add("mixed", Package("mixed"))
    release = package.add("1", Release("1.0"))
    mirrored = ReleaseFile("mixed-1.0.tar.gz", packagetype="sdist", size=1, sha256="0" * 64)
    mirrored.origin = "mirror"
    uploaded = ReleaseFile("mixed-1.0-py3-none-any.whl", packagetype="bdist_wheel", size=1,
                           sha256="1" * 64)
    release.add(mirrored.filename, mirrored)
    release.add(uploaded.filename, uploaded)
    assert repositories.manageable(release)
    repositories.yank(release, "broken")
    assert uploaded.yanked and not mirrored.yanked
    repositories.delete(release)
    assert list(release) == [mirrored.filename] and "1" in package
