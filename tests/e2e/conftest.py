"""Fixtures of the end-to-end tier: a real localshop server on loopback and the real clients.

The machinery lives in two modules the next tests can reuse: ``server.py`` (LocalshopServer:
an ini, a database, pserve started and stopped) and ``clients.py`` (pip, uv, twine, run with
no configuration of this machine).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.version import Version

from tests.e2e.clients import PYTHON, client_env, remove_tree, run
from tests.e2e.server import LocalshopServer

REPO_ROOT = Path(__file__).resolve().parents[2]
LEGACY_DIR = REPO_ROOT / ".cache" / "legacy-clients"
# twine 6.2+ allows --skip-existing only against PyPI; setuptools 75 dropped distutils' upload.
LEGACY_REQUIREMENTS = ["twine<6.2", "setuptools<75", "wheel"]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> LocalshopServer:
    """A localshop of this test module's own, on a free loopback port, with no upstream."""
    with LocalshopServer(tmp_path_factory.mktemp("localshop")) as running:
        yield running


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """The environment for client commands: no PIP_*/UV_*/TWINE_*, HOME in tmp_path."""
    return client_env(tmp_path / "home")


@pytest.fixture
def uv_cache(tmp_path) -> Path:
    """A cache of uv's own for one test: nothing cached by another run can answer."""
    return tmp_path / "uv-cache"


@dataclass(frozen=True)
class LegacyClients:
    """A virtualenv with twine<6.2, setuptools<75 (distutils' upload) and wheel."""

    python: Path
    twine: Path
    versions: dict


@pytest.fixture(scope="session")
def legacy_clients() -> LegacyClients:
    """The legacy clients, installed once from the package registry into ``.cache/`` and
    reused by later runs (the marker file records what was installed)."""
    marker = LEGACY_DIR / ".installed.json"
    LEGACY_DIR.parent.mkdir(parents=True, exist_ok=True)
    # Two test runs at once must not build the same virtualenv on top of each other.
    with open(LEGACY_DIR.parent / "legacy-clients.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            installed = json.loads(marker.read_text())
        except (OSError, ValueError):
            installed = None
        if (installed is None or installed.get("requirements") != LEGACY_REQUIREMENTS
                or not (LEGACY_DIR / "bin" / "twine").exists()):
            installed = _build_legacy_clients(marker)
    bin_dir = LEGACY_DIR / "bin"
    return LegacyClients(bin_dir / "python", bin_dir / "twine", installed["versions"])


def _build_legacy_clients(marker: Path) -> dict:
    remove_tree(LEGACY_DIR)
    # Installing tools is the one place the tests use the package registry: the machine's
    # own pip configuration is fine for that, so the environment is left as it is.
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    run([PYTHON, "-m", "venv", LEGACY_DIR], env=env)
    python = LEGACY_DIR / "bin" / "python"
    run([python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
         *LEGACY_REQUIREMENTS], env=env, timeout=240)
    code = ("import json, importlib.metadata as m; "
            "print(json.dumps({d: m.version(d) for d in ('twine', 'setuptools', 'wheel', 'pip')}))")
    versions = json.loads(run([python, "-c", code], env=env).output)
    assert Version(versions["twine"]) < Version("6.2"), versions
    assert Version(versions["setuptools"]) < Version("75"), versions
    installed = {"requirements": LEGACY_REQUIREMENTS, "versions": versions}
    marker.write_text(json.dumps(installed))
    return installed


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL cluster for the session (tests/e2e/postgres.py), or a skip saying
    why none can be started here."""
    from tests.e2e.postgres import PostgresServer, unavailable

    reason = unavailable()
    if reason:
        pytest.skip(reason)
    directory = Path(tempfile.mkdtemp(prefix="localshop-pg-"))  # outside root's private tmp
    os.chmod(directory, 0o755)
    server = PostgresServer(directory / "cluster")
    try:
        server.start()
    except subprocess.CalledProcessError as e:
        pytest.fail(f"PostgreSQL did not start: {e.stderr}\n{server.log()}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
