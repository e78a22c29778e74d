"""The dashboard's charts and latest uploads, through WebTest on the real app: real uploads,
real downloads of a hosted file and of a file mirrored from a loopback upstream, a flush of
the counts into the database, and the page that shows them."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from shop.model import repositories
from shop.model.names import version_key
from shop.services import services_of
from shop.storage import databases
from tests.factories import make_wheel
from tests.functional.conftest import ADMIN, database_root, file_url, project_files, upload
from tests.functional.test_admin import login
from tests.functional.test_mirror import wait_until
from tests.upstream import FakeIndex, UpstreamServer

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def upstream():
    index = FakeIndex()
    index.add("mirrored-tool", make_wheel("mirrored-tool", "2.0"))
    with UpstreamServer(index) as server:
        yield server


@pytest.fixture
def mirror(make_app, upstream):
    app = make_app(**{"shop.upstream": upstream.url, "shop.argon2_profile": "cheapest",
                      "shop.default.anonymous_read": "true", "shop.mirror.prefetch": "false"})
    yield app
    services = services_of(app.app.registry)
    services.downloads.close()
    services.upstream.session.close()


def download(app, project: str) -> bytes:
    """Download every file of ``project`` as pip would, to the last byte."""
    body = b""
    for file in project_files(app, project).values():
        body += app.get(file_url(project, file)).body
    return body


def settle(app) -> None:
    """Let the mirror store what it fetched, then write the counts (as the server does every
    minute): the dashboard shows what is in the database."""
    services = services_of(app.app.registry)
    wait_until(lambda: not services.busy(), what="the mirror to store its files")
    services.stats.flush().result(10)


def charts(page) -> dict[str, ET.Element]:
    """The dashboard's SVG charts, by their figure's id, parsed (so well-formed)."""
    found = re.findall(r'<figure class="chart-box" id="chart-(\w+)">.*?(<svg.*?</svg>)', page.text, re.S)
    return {key: ET.fromstring(svg) for key, svg in found}


def day_titles(svg: ET.Element) -> list[str]:
    return [g.find(SVG + "title").text for g in svg.iter(SVG + "g") if g.get("class") == "day"]


def test_the_dashboard_charts_hosted_and_mirrored_downloads_after_a_flush(mirror):
    hosted = make_wheel("hosted-tool", "1.0")
    assert upload(mirror, hosted).status_int == 200
    assert download(mirror, "hosted-tool") == hosted.data
    download(mirror, "hosted-tool")
    download(mirror, "mirrored-tool")  # fetched from upstream: a miss
    settle(mirror)
    download(mirror, "mirrored-tool")  # from the stored bytes: a hit
    settle(mirror)

    page = mirror.get("/", headers=ADMIN)
    shown = charts(page)
    assert list(shown) == ["downloads", "stored", "hits", "errors"]
    downloads = shown["downloads"]
    assert downloads.get("role") == "img"
    assert "2 hosted, 2 mirrored" in downloads.get("aria-label")
    titles = day_titles(downloads)
    assert len(titles) == 30 and titles[-1].endswith(": 2 hosted, 2 mirrored")
    assert "50 % of 2 mirrored downloads served from the cache" in shown["hits"].get("aria-label")
    assert "0 errors of " in shown["errors"].get("aria-label")
    assert "KiB stored on" in shown["stored"].get("aria-label")
    assert "No data yet" not in ET.tostring(downloads, encoding="unicode")


def test_the_counts_survive_a_restart_of_the_app(make_app):
    app = make_app(**{"shop.argon2_profile": "cheapest"})
    upload(app, make_wheel("kept", "1.0"))
    download(app, "kept")
    settle(app)
    for db in databases(app.app.registry):  # the server stops...
        db.close()
    again = make_app(**{"shop.argon2_profile": "cheapest"})  # ... and starts again
    downloads = charts(again.get("/", headers=ADMIN))["downloads"]
    assert day_titles(downloads)[-1].endswith(": 1 hosted, 0 mirrored")


def test_an_empty_history_is_drawn_as_empty_charts(app):
    shown = charts(app.get("/", headers=ADMIN))
    assert len(shown) == 4
    for svg in shown.values():
        assert day_titles(svg) == [] and "No data yet" in ET.tostring(svg, encoding="unicode")


def test_only_admins_see_the_charts(app):
    assert "<svg" not in app.get("/").text  # anonymous: the readable repositories only


def test_the_latest_uploads_link_to_their_projects_newest_first(app):
    upload(app, make_wheel("Older-Tool", "1.0"))
    upload(app, make_wheel("newer-tool", "2.0b1"))
    page = app.get("/", headers=ADMIN)
    section = page.html.find(id="latest-uploads")
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in section.find("tbody").find_all("tr")]
    assert [row[:4] for row in rows] == [
        ["newer-tool", "2.0b1", "newer_tool-2.0b1-py3-none-any.whl", "admin"],
        ["Older-Tool", "1.0", "older_tool-1.0-py3-none-any.whl", "admin"],
    ]
    links = [a["href"] for a in section.find_all("a")]
    assert links[:2] == ["http://localhost/repo/default/newer-tool/+browse",
                         f"http://localhost/repo/default/newer-tool/+browse#v{version_key('2.0b1')}"]
    assert app.get(links[0]).status_int == 200


def test_a_deleted_upload_leaves_the_list(app):
    upload(app, make_wheel("gone", "1.0"))
    upload(app, make_wheel("stays", "1.0"))
    login(app)
    assert "gone-1.0-py3-none-any.whl" in app.get("/").text
    app.get(f"/repo/default/gone/{version_key('1.0')}/+delete").forms["confirm"].submit(status=302)
    page = app.get("/").text
    assert "gone-1.0-py3-none-any.whl" not in page and "stays-1.0-py3-none-any.whl" in page


def test_the_latest_uploads_show_only_repositories_the_reader_may_see(app):
    with database_root(app) as root:
        repositories.add_repository(root, "secret")
    upload(app, make_wheel("public-tool", "1.0"))
    upload(app, make_wheel("secret-tool", "1.0"), url="/repo/secret/")
    anonymous = app.get("/").text  # repository default is readable by anyone
    assert "public-tool" in anonymous and "secret-tool" not in anonymous
    admin = app.get("/", headers=ADMIN).text
    assert "public-tool" in admin and "secret-tool" in admin
