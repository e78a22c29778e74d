"""The dashboard in a real headless Chromium, after real twine uploads and pip installs.

A hosted project uploaded with twine and a project mirrored from a loopback upstream are
installed with pip (the mirrored one twice: fetched, then from the stored bytes); the server
writes its counts every second; the admin's dashboard then draws them: four SVG charts with
bars of some height, the latest uploads, no complaint of the Content-Security-Policy in the
console, and the same numbers after a restart. The page is saved as a screenshot,
``test-artefacts/screenshots/dashboard-1280.png``, for a person to look at.
"""
from __future__ import annotations

import re
import time

import pytest
import requests

from shop.model.names import version_key

from tests.e2e.browser import chromium, log_in
from tests.e2e.clients import installed_module, make_venv, modern_pip_install, twine_upload
from tests.e2e.server import LocalshopServer
from tests.e2e.test_page_widths import SCREENSHOTS
from tests.factories import make_wheel, upload_fields
from tests.upstream import FakeIndex, UpstreamServer

pytestmark = pytest.mark.e2e

CHARTS = ["downloads", "stored", "hits", "errors"]
# What the page shows of its charts, read in the browser.
READ_CHARTS = """() => [...document.querySelectorAll('figure.chart-box')].map(f => {
  const svg = f.querySelector('svg');
  return {
    id: f.id, label: svg.getAttribute('aria-label'), role: svg.getAttribute('role'),
    width: svg.getBoundingClientRect().width,
    bars: [...svg.querySelectorAll('rect.bar')].map(r => r.getBBox().height),
    points: svg.querySelectorAll('circle.point').length,
    titles: [...svg.querySelectorAll('g.day > title')].map(t => t.textContent),
  };
})"""

VIOLATIONS = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));"""


@pytest.fixture(scope="module")
def upstream():
    index = FakeIndex()
    index.add("mirrored-tool", make_wheel("mirrored-tool", "2.0"))
    with UpstreamServer(index) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory, upstream):
    settings = {"shop.upstream": upstream.url, "shop.stats.interval": "1",
                "shop.mirror.prefetch": "false"}
    with LocalshopServer(tmp_path_factory.mktemp("localshop"), settings=settings) as running:
        yield running


def dashboard_charts(page, server, wanted) -> list[dict]:
    """The dashboard's charts once ``wanted(charts)`` holds (the server writes its counts
    every second; a loaded machine may take longer), or as they are after 60 s."""
    deadline = time.monotonic() + 60
    while True:
        page.goto(server.url + "/")
        charts = page.evaluate(READ_CHARTS)
        if wanted(charts) or time.monotonic() > deadline:
            return charts
        time.sleep(0.5)


def by_id(charts: list[dict]) -> dict[str, dict]:
    return {chart["id"].removeprefix("chart-"): chart for chart in charts}


def upload_and_install(server, tmp_path, env) -> str:
    """twine uploads a hosted project; pip installs it and the mirrored one, twice (the
    mirrored file fetched from upstream, then served from its stored bytes). Its filename."""
    wheel = make_wheel("hosted-tool", "1.0")
    twine_upload([wheel.write(tmp_path)], "--repository-url", f"{server.url}/repo/default/",
                 "-u", "admin", "-p", server.admin_password, env=env)
    for n in (1, 2):
        python = make_venv(tmp_path / f"venv{n}")
        modern_pip_install(python, f"{server.url}/repo/default/", "hosted-tool", "mirrored-tool",
                           env=env)
        assert installed_module(python, "hosted_tool", env) == "1.0 wheel"
    return wheel.filename


def counted(charts: list[dict]) -> bool:
    """Whether the dashboard shows what ``upload_and_install`` did."""
    shown = by_id(charts)
    return ("2 hosted, 2 mirrored" in shown.get("downloads", {}).get("label", "")
            and "50 %" in shown["hits"]["label"])


def assert_charts_show_the_downloads(charts: dict[str, dict]) -> None:
    assert list(charts) == CHARTS
    downloads, hits = charts["downloads"], charts["hits"]
    assert "2 hosted, 2 mirrored" in downloads["label"], downloads
    assert all(chart["role"] == "img" for chart in charts.values())
    assert len(downloads["titles"]) == 30
    assert downloads["titles"][-1].endswith(": 2 hosted, 2 mirrored")
    assert [h for h in downloads["bars"] if h > 0]  # drawn, with some height
    assert "50 % of 2 mirrored downloads served from the cache" in hits["label"]
    assert [h for h in hits["bars"] if h > 0]
    assert charts["stored"]["points"] >= 1 and "KiB stored on" in charts["stored"]["label"]
    assert "0 errors of " in charts["errors"]["label"]
    assert min(chart["width"] for chart in charts.values()) > 400  # two charts a row


def test_the_dashboard_draws_what_pip_and_twine_did(server, tmp_path, env):
    filename = upload_and_install(server, tmp_path, env)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        # Every violation of the Content-Security-Policy, as the page's own event says it
        # (the init script runs through the browser's debugging protocol, outside the CSP).
        context.add_init_script(VIOLATIONS)
        page = context.new_page()
        console = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        log_in(page, server.url, "admin", server.admin_password)
        charts = by_id(dashboard_charts(page, server, counted))
        assert_charts_show_the_downloads(charts)
        latest = page.inner_text("#latest-uploads")
        assert "hosted-tool" in latest and filename in latest and "admin" in latest
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "dashboard-1280.png"), full_page=True)
        assert page.evaluate("window.cspViolations") == []
        assert not [m for m in console if "Content Security Policy" in m or m.startswith("error")], console

        server.stop()
        server.start()
        page.goto(server.url + "/")
        again = by_id(page.evaluate(READ_CHARTS))
        assert again["downloads"]["label"] == charts["downloads"]["label"]  # in the database
        context.close()


def test_counts_not_yet_written_are_written_when_the_server_stops(tmp_path):
    """An hour between writes: only the write at exit can have kept the download."""
    with LocalshopServer(tmp_path / "shop", settings={"shop.stats.interval": "3600"}) as server:
        dist = make_wheel("kept-tool", "1.0")
        response = requests.post(f"{server.url}/repo/default/", data=upload_fields(dist),
                                 files={"content": (dist.filename, dist.data)},
                                 auth=("admin", server.admin_password), timeout=30)
        assert response.status_code == 200, response.text
        url = f"{server.url}/repo/default/kept-tool/{version_key('1.0')}/{dist.filename}"
        assert requests.get(url, timeout=30).content == dist.data
        assert ": 0 hosted, 0 mirrored" in downloads_label(server)  # not written yet
        server.stop()
        server.start()
        assert ": 1 hosted, 0 mirrored;" in downloads_label(server)


def downloads_label(server) -> str:
    """The text alternative of the dashboard's downloads chart, as the admin reads it."""
    page = requests.get(server.url + "/", auth=("admin", server.admin_password), timeout=30)
    assert page.status_code == 200, page.text
    return re.search(r'id="chart-downloads">.*?aria-label="([^"]*)"', page.text, re.S).group(1)
