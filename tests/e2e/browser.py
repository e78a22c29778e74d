"""A real headless Chromium (Debian's ``chromium``) driven by Playwright for Python.

Playwright's own browser downloads are never used: the tests launch the system's Chromium
by path, so ``make test`` needs only ``apt-get install chromium`` and ``pip install playwright``.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from typing import Iterator

import pytest

CHROMIUM = os.environ.get("LOCALSHOP_CHROMIUM", "/usr/bin/chromium")
# Headless, and quiet: no first-run UI, no calls home, nothing but the server under test.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require_chromium() -> None:
    """Skip the calling test, saying why, when there is no Chromium (and only then: a missing
    Playwright is a broken test environment, ``pip install -e '.[test]'``, and fails)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(`make test` does when run as root) or set LOCALSHOP_CHROMIUM")


@contextlib.contextmanager
def chromium() -> Iterator["object"]:
    """A launched headless Chromium (a Playwright Browser); closed afterwards."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, base_url: str, username: str, password: str) -> None:
    """Log in through the login form, as a person would."""
    page.goto(base_url + "/+login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()
    assert "/+login" not in page.url, page.content()
