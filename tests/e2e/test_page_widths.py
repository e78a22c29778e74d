"""Every admin page fits a desktop (1280x900) and a phone (390x844) in a real headless Chromium.

Fitting means: the document is no wider than the viewport (``scrollWidth <= innerWidth``), the
page is not merely clipped (``overflow-x`` of ``html`` and ``body`` stays ``visible``), and no
element pokes out of the ``main`` column, except inside a box that scrolls on its own (a
table wrapper with ``overflow-x: auto``). Long hashes, access keys, URLs, project names and
filenames must wrap or scroll in their own box, not widen the page.

The phone is a plain 390 px viewport, not Chromium's mobile emulation: emulation widens the
layout viewport to the content, which would hide the very overflow measured here.

Each page is also saved as a full-page screenshot, for a person to look at:
``test-artefacts/screenshots/<page>-<width>.png`` under the repository's root (ignored by git,
rewritten by every run).
"""
from __future__ import annotations

import pytest
import requests

from tests.e2e.browser import chromium, log_in
from tests.e2e.conftest import REPO_ROOT
from tests.e2e.server import LocalshopServer
from tests.factories import make_sdist, make_wheel, upload_fields
from tests.receiver import wait_until
from tests.upstream import FakeIndex, UpstreamServer

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO_ROOT / "test-artefacts" / "screenshots"
VIEWPORTS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}

HOSTED = "an-exceedingly-long-project-name-to-see-how-the-admin-pages-wrap-it"
MIRRORED = "a-mirrored-project-with-a-rather-long-name-from-upstream"
VERSION = "2024.12.31.post1234567890"
# At most 200 characters, as the form allows; a long run without spaces, as pasted paths are.
LONG_DESCRIPTION = ("CI on build-runner-07.example.internal for the release pipeline "
                    "/srv/ci/workspaces/" + "x" * 80 + "/a-very-long-unbroken-path-segment")[:200]

# What the measurements look at (see the module's docstring).
MEASURE = """() => {
  const doc = document.documentElement, main = document.querySelector('main');
  // The right edge of main's content box: the column the page's content has.
  const limit = main ? main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight)
                     : window.innerWidth;
  const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
  const inScroller = e => {
    for (let p = e.parentElement; p && p !== main; p = p.parentElement) if (scrolls(p)) return true;
    return false;
  };
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  // A box's own right edge, or that of the text overflowing it (a long unbroken word);
  // what a box that scrolls holds is inside it, however wide.
  // An SVG element (the dashboard's charts) has no scroll box: its scrollWidth is not its text's.
  const right = e => {
    const r = e.getBoundingClientRect();
    return scrolls(e) || e instanceof SVGElement ? r.right : Math.max(r.right, r.left + e.scrollWidth);
  };
  const out = main ? [...main.querySelectorAll('*')].filter(
      e => right(e) > limit + 0.5 && !inScroller(e)) : [];
  return {
    scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth,
    clipped: [getComputedStyle(doc).overflowX, getComputedStyle(document.body).overflowX]
      .filter(v => v !== 'visible'),
    outOfColumn: out.slice(0, 5).map(e => `${name(e)} (${Math.round(right(e))} > ${Math.round(limit)})`),
  };
}"""


@pytest.fixture(scope="module")
def upstream():
    """An upstream index with one project, so that the server has a mirrored project to show."""
    index = FakeIndex()
    index.add(MIRRORED, make_wheel(MIRRORED, VERSION))
    with UpstreamServer(index) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory, upstream):
    """A localshop mirroring ``upstream``, with a hosted project of long names and a long
    credential description."""
    with LocalshopServer(tmp_path_factory.mktemp("localshop"),
                         settings={"shop.upstream": upstream.url}) as running:
        for dist in (make_wheel(HOSTED, VERSION), make_sdist(HOSTED, VERSION), make_wheel(HOSTED, "1.0")):
            response = requests.post(
                f"{running.url}/repo/default/", data=upload_fields(dist, summary="A summary " * 20),
                files={"content": (dist.filename, dist.data)},
                auth=("admin", running.admin_password), timeout=30,
            )
            assert response.status_code == 200, response.text
        assert running.project_json(MIRRORED) is not None  # upstream's listing, stored
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def admin_pages(browser, server):
    """{width: a logged-in admin's page at that viewport}; one credential with a long
    description exists."""
    pages = {}
    for width, viewport in VIEWPORTS.items():
        page = browser.new_context(viewport=viewport).new_page()
        log_in(page, server.url, "admin", server.admin_password)
        pages[width] = page
    create_credential(pages[1280], server, "default")
    yield pages
    for page in pages.values():
        page.context.close()


def create_credential(page, server, repository: str) -> None:
    """Create a credential with a long description; the page then shows its secret."""
    page.goto(server.url + "/+credentials")
    page.fill("#create-credential input[name=description]", LONG_DESCRIPTION)
    page.select_option("#create-credential select[name=repository]", repository)
    with page.expect_navigation() as navigation:
        page.click("#create-credential button[type=submit]")
    assert navigation.value.status == 200
    assert page.locator("#secret-key").count() == 1


def hosted_file_url(server) -> str:
    page = server.project_json(HOSTED)
    return next(f["filename"] for f in page["files"] if f["filename"].endswith(".tar.gz"))


# (name, path, status): every admin page, and the pages of what is not there.
PAGES = [
    ("dashboard", "/", 200),
    ("account", "/+account", 200),
    ("credentials", "/+credentials", 200),
    ("users", "/+users", 200),
    ("repositories", "/+repositories", 200),
    ("audit", "/+audit", 200),
    ("blocks", "/+blocks", 200),
    ("repository", "/repo/default/+browse", 200),
    ("repository-settings", "/repo/default/+settings", 200),
    ("project-hosted", f"/repo/default/{HOSTED}/+browse", 200),
    ("project-mirrored", f"/repo/default/{MIRRORED}/+browse", 200),
    ("confirm-yank-release", f"/repo/default/{HOSTED}/{VERSION}/+yank", 200),
    ("confirm-delete-file", f"/repo/default/{HOSTED}/{VERSION}/{{sdist}}/+delete", 200),
    ("not-found", "/+nope", 404),
    ("not-found-project", f"/repo/default/no-such-{HOSTED}/+browse", 404),
    ("not-found-repository", "/repo/nosuch/+browse", 404),
]


def assert_fits(page, name: str, width: int) -> None:
    """Screenshot the page, then insist that it fits its viewport (see the docstring)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    measured = page.evaluate(MEASURE)
    problems = []
    if measured["scrollWidth"] > measured["innerWidth"]:
        problems.append(f"the document is {measured['scrollWidth']} px wide in a "
                        f"{measured['innerWidth']} px viewport")
    if measured["clipped"]:
        problems.append(f"html/body clip what overflows (overflow-x: {measured['clipped']})")
    if measured["outOfColumn"]:
        problems.append("out of the main column: " + ", ".join(measured["outOfColumn"]))
    assert not problems, f"{name} at {width} px: " + "; ".join(problems)


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("name, path, status", PAGES, ids=[p[0] for p in PAGES])
def test_admin_page_fits_the_viewport(admin_pages, server, name, path, status, width):
    page = admin_pages[width]
    response = page.goto(server.url + path.format(sdist=hosted_file_url(server)))
    assert response.status == status, page.content()[:2000]
    if status == 404:  # the layout, saying what was not found, with a way back
        assert page.locator("nav.bar").count() == 1 and page.locator("#not-found a").count() == 1
    assert_fits(page, name, width)


@pytest.mark.parametrize("width", VIEWPORTS)
def test_login_page_fits_the_viewport(browser, server, width):
    context = browser.new_context(viewport=VIEWPORTS[width])
    try:
        page = context.new_page()
        assert page.goto(server.url + "/+login").status == 200
        assert_fits(page, "login", width)
        # The icon the page links, and that the browser asks the root for, to anybody.
        href = page.get_attribute("link[rel=icon]", "href")
        assert href == server.url + "/favicon.ico"
        icon = page.goto(href)
        assert (icon.status, icon.headers["content-type"]) == (200, "image/x-icon")
    finally:
        context.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_new_credentials_secret_and_snippets_fit_the_viewport(admin_pages, server, width):
    page = admin_pages[width]
    create_credential(page, server, "default")
    assert page.locator("#pip-conf").count() == 1  # the snippets are shown
    assert_fits(page, "credentials-created", width)


# Nothing listens on the discard port: every delivery fails, with a long error to show.
LONG_HOOK_URL = "http://127.0.0.1:9/" + "a-very-long-unbroken-path-segment-" * 6 + "?token=" + "x" * 60


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_new_hook_and_its_failed_deliveries_fit_the_viewport(admin_pages, server, width):
    page = admin_pages[width]
    page.goto(server.url + "/repo/default/+settings")
    page.fill("#add-hook input[name=url]", LONG_HOOK_URL)
    with page.expect_navigation() as navigation:
        page.click("#add-hook button[type=submit]")
    assert navigation.value.status == 200 and page.locator("#hook-secret").count() == 1
    assert_fits(page, "hook-created", width)
    dist = make_wheel(f"hooked-{width}", "1.0")
    response = requests.post(f"{server.url}/repo/default/", data=upload_fields(dist),
                             files={"content": (dist.filename, dist.data)},
                             auth=("admin", server.admin_password), timeout=30)
    assert response.status_code == 200, response.text
    wait_until(lambda: "retrying" in requests.get(
        server.url + "/repo/default/+settings", auth=("admin", server.admin_password),
        timeout=30).text, timeout=60)
    page.goto(server.url + "/repo/default/+settings")
    page.click("#webhooks details summary")  # the history, opened
    assert_fits(page, "repository-settings-hooks", width)
