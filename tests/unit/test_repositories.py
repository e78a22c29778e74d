"""Repository-level domain functions (shop/model/repositories.py)."""
from __future__ import annotations

from shop.model import names
from shop.model import repositories
from shop.model.tree import Package, app_root

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
