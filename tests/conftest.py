"""Fixtures shared by every layer: a real application on a real FileStorage in tmp_path."""
from __future__ import annotations

import base64
import os
from pathlib import Path

# Compiled page templates are kept between test runs (and apps): compiling is most of the
# cost of an admin page in a fresh app. Set before anything imports Chameleon.
_CHAMELEON_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "chameleon"
_CHAMELEON_CACHE.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("CHAMELEON_CACHE", str(_CHAMELEON_CACHE))

import pytest  # noqa: E402
import webtest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Property-based tests: bounded for CI; HYPOTHESIS_PROFILE=thorough for a long run by hand.
settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ADMIN_PASSWORD = "admin-secret"


def basic_auth(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def app_settings(var_dir, **extra) -> dict:
    """Settings as an ini file would give them, with the database under ``var_dir``."""
    settings = {
        "zodbconn.uri": (
            f"file://{var_dir}/Data.fs?blobstorage_dir={var_dir}/blobs&blobstorage_layout=bushy"
        ),
        "tm.commit_veto": "pyramid_tm.default_commit_veto",
        "shop.upstream": "none",
        "shop.default.anonymous_read": "true",
    }
    settings.update(extra)
    return settings


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """Build the WSGI application with extra settings; the database lives in tmp_path."""
    from shop import main
    from shop.storage import databases

    monkeypatch.setenv("LOCALSHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
    apps = []

    def factory(**extra):
        wsgi = main({}, **app_settings(tmp_path / "var", **extra))
        apps.append(wsgi)
        return webtest.TestApp(wsgi)

    yield factory
    for wsgi in apps:
        for db in databases(wsgi.registry):
            db.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def admin():
    return basic_auth("admin", ADMIN_PASSWORD)
