"""Content negotiation and page rendering of the simple API (shop/pages/simple.py)."""
from __future__ import annotations

import datetime
import json

import pytest
from pyramid.request import Request

from shop.pages import simple
from shop.model.tree import ReleaseFile
from tests.factories import make_sdist, make_wheel

from tests.unit.conftest import publish_as, upload_form

PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


def negotiate(query: str = "", accept: str | None = None) -> str | None:
    headers = {"Accept": accept} if accept is not None else {}
    # "+" in a query string means a space: a content type in ?format= must encode it.
    return simple.negotiate(Request.blank("/simple/" + query.replace("+", "%2B"), headers=headers))


def test_no_accept_header_gets_html():
    assert negotiate() == "text/html"


@pytest.mark.parametrize("accept", ["*/*", "text/*", "text/html", "text/html, */*;q=0.5"])
def test_browsers_get_html(accept):
    assert negotiate(accept=accept) == "text/html"


def test_pips_accept_header_gets_json():
    assert negotiate(accept=PIP_ACCEPT) == simple.JSON_V1


def test_q_values_decide_not_the_order_of_the_header():
    assert negotiate(accept=f"text/html;q=0.2, {simple.JSON_V1};q=0.9") == simple.JSON_V1
    assert negotiate(accept=f"{simple.JSON_V1};q=0.2, {simple.HTML_V1}") == simple.HTML_V1


@pytest.mark.parametrize(("latest", "concrete"), [
    ("application/vnd.pypi.simple.latest+json", simple.JSON_V1),
    ("application/vnd.pypi.simple.latest+html", simple.HTML_V1),
])
def test_latest_is_answered_with_the_concrete_v1_type(latest, concrete):
    assert negotiate(accept=latest) == concrete
    assert negotiate(f"?format={latest}") == concrete


@pytest.mark.parametrize("wanted", [simple.JSON_V1, simple.HTML_V1, "text/html"])
def test_format_parameter_overrides_accept(wanted):
    assert negotiate(f"?format={wanted}", accept="application/vnd.pypi.simple.v1+json;q=0.1, "
                     "application/vnd.pypi.simple.v1+html;q=0.1, text/html;q=0.1") == wanted
    assert negotiate(f"?format={wanted}", accept="image/png") == wanted


@pytest.mark.parametrize("accept", ["application/json", "image/png", "application/vnd.pypi.simple.v2+json"])
def test_nothing_acceptable_gives_none(accept):
    assert negotiate(accept=accept) is None


def test_an_unknown_format_parameter_gives_none():
    assert negotiate("?format=application/json") is None


def test_an_explicitly_refused_type_is_not_served():
    assert negotiate(accept=f"text/html;q=0, {simple.HTML_V1};q=0, {simple.JSON_V1};q=0") is None


# --- rendering -----------------------------------------------------------------------------


@pytest.fixture
def package(repository):
    publish_as(repository, upload_form(make_sdist("Demo", "1.0")))
    publish_as(repository, upload_form(make_wheel("Demo", "1.0"),
                                    metadata={"requires_python": ">=3.8,<4"}))
    publish_as(repository, upload_form(make_sdist("Demo", "1.10")))
    publish_as(repository, upload_form(make_sdist("Demo", "1.9")))
    return repository["demo"]


def test_project_json_lists_versions_once_in_pep_440_order(package, pages):
    page = json.loads(simple.project_page(package, simple.JSON_V1, pages).body)
    assert page["meta"] == {"api-version": "1.3"} and page["name"] == "demo"
    assert page["versions"] == ["1.0", "1.9", "1.10"]
    assert [f["filename"] for f in page["files"]] == [
        "demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "demo-1.9.tar.gz", "demo-1.10.tar.gz"]


def test_project_json_files_carry_every_pep_691_and_700_key(package, pages):
    page = json.loads(simple.project_page(package, simple.JSON_V1, pages).body)
    wheel, sdist = page["files"][:2]
    file = package["1"]["demo-1.0-py3-none-any.whl"]
    assert wheel == {
        "filename": "demo-1.0-py3-none-any.whl",
        "url": "1/demo-1.0-py3-none-any.whl",
        "hashes": {"sha256": file.sha256},
        "requires-python": ">=3.8,<4",
        "size": file.size,
        "upload-time": file.upload_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "yanked": False,
        "core-metadata": {"sha256": file.core_metadata_sha256},
        "dist-info-metadata": {"sha256": file.core_metadata_sha256},
    }
    assert sdist["core-metadata"] is False and sdist["requires-python"] is None


def test_upload_time_has_microseconds_and_a_z():
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=datetime.timezone.utc)
    file = ReleaseFile("demo-1.0.tar.gz", packagetype="sdist", size=1, sha256="0" * 64, upload_time=when)
    assert simple.upload_time(file) == "2024-05-06T07:08:09.000010Z"


def test_project_html_links_carry_hash_and_escaped_attributes(package, pages):
    body = simple.project_page(package, simple.TEXT_HTML, pages).body.decode()
    wheel = package["1"]["demo-1.0-py3-none-any.whl"]
    assert '<meta name="pypi:repository-version" content="1.3">' in body
    assert (
        f'<a href="1/demo-1.0-py3-none-any.whl#sha256={wheel.sha256}" '
        'data-requires-python="&gt;=3.8,&lt;4" '
        f'data-core-metadata="sha256={wheel.core_metadata_sha256}" '
        f'data-dist-info-metadata="sha256={wheel.core_metadata_sha256}">'
        "demo-1.0-py3-none-any.whl</a>"
    ) in body


def test_yanked_files_are_marked_with_their_reason(package, pages):
    package["1"]["demo-1.0.tar.gz"].set_yanked(True, "use <1.1>")
    package["1.9"]["demo-1.9.tar.gz"].set_yanked(True)
    body = simple.project_page(package, simple.TEXT_HTML, pages).body.decode()
    assert 'data-yanked="use &lt;1.1&gt;">demo-1.0.tar.gz</a>' in body
    assert 'data-yanked="">demo-1.9.tar.gz</a>' in body
    files = {f["filename"]: f for f in json.loads(simple.project_page(package, simple.JSON_V1, pages).body)["files"]}
    assert files["demo-1.0.tar.gz"]["yanked"] == "use <1.1>"
    assert files["demo-1.9.tar.gz"]["yanked"] is True
    assert files["demo-1.10.tar.gz"]["yanked"] is False


def test_html_pages_say_their_charset_and_v1_types_are_exact(package, pages):
    assert simple.project_page(package, simple.TEXT_HTML, pages).content_type == "text/html; charset=utf-8"
    assert simple.project_page(package, simple.HTML_V1, pages).content_type == simple.HTML_V1
    assert simple.project_page(package, simple.JSON_V1, pages).content_type == simple.JSON_V1


def test_root_page_lists_normalized_names_in_both_formats(package, repository, pages):
    page = json.loads(simple.root_page(repository, simple.JSON_V1, pages).body)
    assert page == {"meta": {"api-version": "1.3"}, "projects": [{"name": "demo"}]}
    body = simple.root_page(repository, simple.TEXT_HTML, pages).body.decode()
    assert '<meta name="pypi:repository-version" content="1.3">' in body
    assert '<a href="demo/">demo</a>' in body


def test_the_etag_is_a_digest_of_the_body(package, pages):
    page = simple.project_page(package, simple.JSON_V1, pages)
    assert len(page.etag) == 32 and page.etag != simple.project_page(package, simple.TEXT_HTML, pages).etag
