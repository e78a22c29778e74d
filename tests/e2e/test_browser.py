"""The admin in a real headless Chromium, against a real server, with real pip and twine.

A person logs in, creates a repository and a credential, reads the secret off the page and
gives it to pip; disables it in the browser and pip is refused. Package descriptions with
``<script>`` stay inert, one that would expand for hours is shown as text, and a form posted
without its CSRF token is refused.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.browser import chromium, log_in
from tests.e2e.clients import (
    installed_module,
    make_venv,
    modern_pip_install,
    twine_upload,
    write_pypirc,
)
from tests.factories import make_wheel, upload_fields

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) and a page in it; its dialogs are recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []

    def dismiss(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    yield page
    context.close()


def admin_login(page, server) -> None:
    log_in(page, server.url, "admin", server.admin_password)


def submit(page, form_selector: str):
    """Click the form's submit button and wait for the page it leads to; its response."""
    with page.expect_navigation() as navigation:
        page.click(f"{form_selector} button[type=submit]")
    return navigation.value


def create_credential(page, server, repository: str = "", mode: str = "read") -> tuple[str, str]:
    """Create a credential on the credentials page; (access key, secret key) read off the page."""
    page.goto(server.url + "/+credentials")
    page.fill("#create-credential input[name=description]", f"e2e {mode} {repository or 'all'}")
    page.select_option("#create-credential select[name=repository]", repository)
    page.check(f"#create-credential input[name=mode][value={mode}]")
    assert submit(page, "#create-credential").status == 200
    return page.inner_text("#access-key").strip(), page.inner_text("#secret-key").strip()


def post_upload(server, dist, repository: str = "default", **fields) -> None:
    """Upload as twine does, in one direct POST with the admin's password."""
    response = requests.post(
        f"{server.url}/repo/{repository}/", data=upload_fields(dist, **fields),
        files={"content": (dist.filename, dist.data)},
        auth=("admin", server.admin_password), timeout=30,
    )
    assert response.status_code == 200, response.text


def test_credential_made_in_the_browser_installs_with_pip_until_disabled(server, page, tmp_path, env):
    admin_login(page, server)
    # A new repository, private by default.
    page.goto(server.url + "/+repositories")
    page.fill("#new-repository input[name=name]", "team")
    page.fill("#new-repository input[name=title]", "The team")
    assert submit(page, "#new-repository").status == 200
    assert page.url == server.url + "/repo/team/+settings"
    assert "Created repository team" in page.inner_text("main")
    dist = make_wheel("teamtool", "1.0")
    twine_upload([dist.write(tmp_path)], "--repository-url", f"{server.url}/repo/team/",
                 "-u", "admin", "-p", server.admin_password, env=env)
    assert server.request("/repo/team/teamtool/")[0] == 401  # nobody gets in without a key

    key, secret = create_credential(page, server, "team", "read")
    index_url = f"http://{key}:{secret}@127.0.0.1:{server.port}/repo/team/"
    assert page.inner_text("#index-url").strip() == index_url
    assert f"index-url = {index_url}" in page.inner_text("#pip-conf")

    python = make_venv(tmp_path / "venv")
    modern_pip_install(python, index_url, "teamtool", env=env)
    assert installed_module(python, "teamtool", env) == "1.0 wheel"

    page.goto(server.url + "/+credentials")
    row = page.locator("tr", has=page.locator("code", has_text=key))
    assert "never" not in row.inner_text()  # last used: just now, by pip
    with page.expect_navigation():
        row.locator("button", has_text="Disable").click()
    assert f"Disabled {key}" in page.inner_text(".flash")
    assert "disabled" in page.locator("tr", has=page.locator("code", has_text=key)).inner_text()

    again = modern_pip_install(make_venv(tmp_path / "venv2"), index_url, "teamtool", env=env,
                               expect=None)
    assert again.returncode != 0
    assert "401 Error, Credentials not correct" in again.output, again


def test_script_in_a_description_stays_inert(server, page):
    payload = "<script>window.owned = 1; alert('owned')</script>"
    post_upload(
        server, make_wheel("scripted", "1.0"), summary=f"Summary {payload}",
        description=f"# Scripted\n\n{payload}\n\n<img src=x onerror=\"window.owned = 2\">\n",
        description_content_type="text/markdown",
    )
    admin_login(page, server)
    page.goto(server.url + "/repo/default/scripted/+browse")
    assert page.inner_text("h1").startswith("scripted")
    assert page.locator("script").count() == 0
    assert page.locator("[onerror]").count() == 0
    assert page.evaluate("typeof window.owned") == "undefined"
    assert page.dialogs == []
    # The summary is shown as text, angle brackets and all.
    assert payload in page.inner_text(".lead")


@pytest.mark.fault
def test_eight_views_of_an_expanding_description_do_not_hold_the_server(server, page):
    # 16 levels of doubling substitutions: hours of docutils work each, before the budget.
    levels = "\n".join(f".. |a{i}| replace:: |a{i + 1}| |a{i + 1}|" for i in range(16))
    description = f"|a0|\n\n{levels}\n.. |a16| replace:: x"
    post_upload(server, make_wheel("bomb", "1.0"), description=description,
                description_content_type="text/x-rst")
    url = f"{server.url}/repo/default/bomb/+browse"

    def view(_) -> requests.Response:
        return requests.get(url, auth=("admin", server.admin_password), timeout=20)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(view, range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert all("substitutions, the limit of this index" in a.text for a in answers)
    assert requests.get(f"{server.url}/+login", timeout=5).status_code == 200  # threads free
    admin_login(page, server)
    page.goto(url)
    assert "shown as plain text" in page.inner_text(".readme")


def test_a_form_posted_without_its_csrf_token_is_refused(server, page):
    admin_login(page, server)
    page.goto(server.url + "/+users")
    # Strip the token from the form (as a forged form on another site would lack it).
    page.locator("#add-user input[name=csrf_token]").evaluate("input => input.remove()")
    page.fill("#add-user input[name=user]", "mallory")
    page.fill("#add-user input[name=password]", "mallory-password")
    response = submit(page, "#add-user")
    assert response.status == 400
    assert "CSRF" in page.inner_text("body")
    # The same session with its token works, and mallory was never added.
    page.goto(server.url + "/+users")
    assert "mallory" not in page.inner_text("main")
    response = page.request.post(server.url + "/+logout")  # the browser's cookies, no token
    assert response.status == 400
    page.goto(server.url + "/+account")
    assert page.url == server.url + "/+account"  # still logged in


def test_twine_upload_with_a_credential_as_in_the_original_pypirc(server, page, tmp_path, env):
    admin_login(page, server)
    key, secret = create_credential(page, server, "", "upload")
    pypirc_text = page.inner_text("#pypirc")
    assert f"username: {key}\npassword: {secret}\n" in pypirc_text
    dist = make_wheel("pypirctool", "1.0")
    # The original README's repository URL was /simple/: it is repository default too.
    pypirc = write_pypirc(tmp_path / ".pypirc", f"{server.url}/simple/", key, secret)
    twine_upload([dist.write(tmp_path)], "--config-file", str(pypirc), "-r", "local", env=env)
    assert server.project_files("pypirctool") == {dist.filename: dist.sha256}
    python = make_venv(tmp_path / "venv")
    index_url = f"http://{key}:{secret}@127.0.0.1:{server.port}/repo/default/"
    modern_pip_install(python, index_url, "pypirctool", env=env)
    assert installed_module(python, "pypirctool", env) == "1.0 wheel"
    page.goto(server.url + "/repo/default/pypirctool/+browse")
    assert "admin" in page.locator("table.files").inner_text()  # the credential's owner uploaded


@pytest.mark.fault
def test_log_out_everywhere_ends_the_sessions_of_every_browser_and_of_copied_cookies(
        server, page, browser):
    other = browser.new_context().new_page()
    admin_login(page, server)
    admin_login(other, server)
    copied = {c["name"]: c["value"] for c in page.context.cookies()}
    assert requests.get(server.url + "/+account", cookies=copied, allow_redirects=False,
                        timeout=30).status_code == 200
    page.goto(server.url + "/+account")
    submit(page, "#log-out-everywhere")
    assert "/+login" in page.url and "logged out everywhere" in page.inner_text("main")
    other.goto(server.url + "/+account")
    assert "/+login" in other.url  # the other browser is logged out too
    assert requests.get(server.url + "/+account", cookies=copied, allow_redirects=False,
                        timeout=30).status_code == 302
    admin_login(page, server)  # and logging in again works
    other.context.close()
