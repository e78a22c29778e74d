"""The browser admin through WebTest: forms, sessions, CSRF, throttling, headers, escaping."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from http.cookies import SimpleCookie

import pytest

from shop.access import accounts
from shop.model import repositories
from shop.model.names import version_key
from shop.model.root import DEFAULT_REPOSITORY
from tests.conftest import ADMIN_PASSWORD, basic_auth
from tests.factories import make_wheel, upload_fields
from tests.functional.conftest import JSON, database_root, passwords

PASSWORD = "password-1234"
SCRIPT = "<script>alert('owned')</script>"


# --- helpers ------------------------------------------------------------------------------

def login(app, user: str = "admin", password: str = ADMIN_PASSWORD, came_from: str = "",
          status: int = 302, address: str | None = None):
    """Log in through the login form; returns the form's answer."""
    page = app.get("/+login" + (f"?came_from={came_from}" if came_from else ""))
    form = page.forms["login-form"]
    form["username"] = user
    form["password"] = password
    environ = {"REMOTE_ADDR": address} if address else {}
    return form.submit(status=status, extra_environ=environ)


def form_with(page, **fields):
    """The form on ``page`` whose hidden fields have these values (the rows' little forms)."""
    for form in page.forms.values():
        if all(form.get(k, default=None) is not None and form.get(k).value == v
               for k, v in fields.items()):
            return form
    raise AssertionError(f"no form with {fields} on {page.request.path}")


def upload(app, dist, repository: str = DEFAULT_REPOSITORY, headers: dict | None = None, **fields):
    response = app.post(f"/repo/{repository}/", upload_fields(dist, **fields),
                        upload_files=[("content", dist.filename, dist.data)],
                        headers=headers or basic_auth("admin", ADMIN_PASSWORD))
    assert response.status_int == 200, response.status
    return response


def add_user(app, name: str, *, admin: bool = False, role: str | None = None,
             repository: str = DEFAULT_REPOSITORY) -> None:
    with database_root(app) as root:
        accounts.add_user(root, name, PASSWORD, passwords=passwords(app), admin=admin)
        if role:
            repositories.set_role(root.repositories[repository], user=name, role=role)


def flash(page) -> list[str]:
    return [m.strip() for m in re.findall(r'<p class="flash"[^>]*>(.*?)</p>', page.text, re.S)]


def error(page) -> str:
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', page.text, re.S)
    return found.group(1).strip() if found else ""


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    """Every start tag of a page, with its attributes, as a browser's parser would see them."""
    parser = _Elements()
    parser.feed(html)
    return parser.tags


def session_cookie(response) -> SimpleCookie:
    cookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie"):
        cookie.load(header)
    return cookie


# --- logging in and out -------------------------------------------------------------------

def test_login_redirects_to_came_from_with_a_safe_session_cookie(app):
    response = login(app, came_from="/%2Bcredentials")
    assert response.location == "http://localhost/+credentials"
    morsel = session_cookie(response)["localshop_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert not morsel["secure"]  # shop.cookie_secure is for production behind TLS
    page = response.follow()
    assert "Credentials" in page.text and '<span class="user">admin</span>' in page.text


def test_the_first_admin_is_hashed_with_the_configured_argon2_profile(make_app):
    app = make_app(**{"shop.argon2_profile": "cheapest"})
    with database_root(app) as root:
        assert "$m=8,t=1,p=1$" in root.users["admin"].password_hash
    login(app)


def test_secure_cookie_when_configured(make_app):
    app = make_app(**{"shop.cookie_secure": "true"})
    # The login form's session already: a browser would not send it back over plain HTTP.
    assert session_cookie(app.get("/+login"))["localshop_session"]["secure"] is True


@pytest.mark.parametrize("came_from", ["//evil.example/", "http://evil.example/", "/\\evil.example",
                                       "javascript:alert(1)"])
def test_login_never_redirects_off_site(app, came_from):
    response = login(app, came_from=came_from)
    assert response.location == "http://localhost/"


def test_wrong_password_renders_the_form_again(app):
    response = login(app, password="wrong-password", status=400)
    assert "Wrong user name or password" in error(response)
    assert response.content_type == "text/html" and "no-store" in response.headers["Cache-Control"]
    assert response.forms["login-form"]["username"].value == "admin"
    app.get("/+credentials", status=302)  # still not logged in


def test_anonymous_browser_is_sent_to_login_and_back(app):
    response = app.get("/+account", status=302)
    assert response.location == "http://localhost/+login?came_from=%2F%2Baccount"
    form = response.follow().forms["login-form"]
    form["username"], form["password"] = "admin", ADMIN_PASSWORD
    assert form.submit(status=302).location == "http://localhost/+account"


def test_logout_ends_the_session(app):
    page = login(app).follow()
    page.forms[0].submit(status=302)  # the layout's "Log out" form
    app.get("/+account", status=302)


def test_logout_without_csrf_token_is_refused(app):
    login(app)
    app.post("/+logout", status=400)
    app.get("/+logout", status=(404, 405))  # a link cannot log anybody out
    app.get("/+account", status=200)


def test_login_is_throttled_per_account_and_address(app):
    for i in range(5):
        login(app, password=f"wrong-password-{i}", status=400, address="192.0.2.1")
    response = login(app, status=429, address="192.0.2.1")  # even the right password
    assert "Too many failed attempts" in error(response)
    # HTTP Basic shares the throttle: pip cannot be used to guess either.
    response = app.get("/+account", headers=basic_auth("admin", ADMIN_PASSWORD),
                       extra_environ={"REMOTE_ADDR": "192.0.2.1"}, status=429)
    assert response.status == "429 Too many failed attempts: wait a few minutes, or ask an admin to reset the password."
    # Another address is not held up by somebody else's guesses.
    login(app, address="192.0.2.2")


def test_failed_basic_attempts_throttle_the_login_form(app):
    here = {"REMOTE_ADDR": "192.0.2.1"}
    for i in range(4):  # wrong credentials are refused wherever they are sent
        app.get("/+account", headers=basic_auth("admin", f"wrong-{i}"), extra_environ=here, status=401)
    # The fifth different wrong password is the one too many: it says so, and for how long.
    held = app.get("/+account", headers=basic_auth("admin", "wrong-4"), extra_environ=here, status=429)
    assert 800 < int(held.headers["Retry-After"]) <= 900
    response = login(app, status=429, address="192.0.2.1")  # even the right password
    assert "Too many failed attempts" in error(response)
    login(app, address="192.0.2.2")


def test_the_same_wrong_password_again_is_no_new_guess(app):
    """A browser's or CI job's stale password, sent with every page, stylesheet and icon."""
    stale, here = basic_auth("admin", "old-password"), {"REMOTE_ADDR": "192.0.2.1"}
    for url in ("/+account", "/+static/localshop.css", "/favicon.ico", "/simple/") * 5:
        app.get(url, headers=stale, extra_environ=here, status=401)
    login(app, address="192.0.2.1")  # the admin is not locked out by it


def test_a_basic_success_clears_the_failed_attempts_of_the_login_form(app):
    for i in range(4):
        login(app, password=f"wrong-password-{i}", status=400, address="192.0.2.1")
    app.get("/+account", headers=basic_auth("admin", ADMIN_PASSWORD),
            extra_environ={"REMOTE_ADDR": "192.0.2.1"}, status=200)
    for i in range(4):
        login(app, password=f"wrong-password-{i}", status=400, address="192.0.2.1")
    login(app, address="192.0.2.1")  # four failures since the success, not eight


def test_deactivated_user_cannot_log_in_and_loses_the_session(app):
    add_user(app, "carol")
    carol = app.__class__(app.app)
    login(carol, "carol", PASSWORD)
    carol.get("/+account", status=200)
    with database_root(app) as root:
        accounts.set_user_flags(root, "carol", active=False)
    carol.get("/+account", status=302)
    login(carol, "carol", PASSWORD, status=400)


# --- CSRF ---------------------------------------------------------------------------------

def test_forms_without_csrf_token_are_refused_and_change_nothing(app):
    login(app)
    app.post("/+users", {"action": "add", "user": "mallory", "password": PASSWORD}, status=400)
    app.post("/+users", {"action": "add", "user": "mallory", "password": PASSWORD,
                         "csrf_token": "forged"}, status=400)
    app.post("/+credentials", {"action": "create", "mode": "upload"}, status=400)
    app.post("/+repositories", {"name": "sneaky"}, status=400)
    app.post("/repo/default/+settings", {"action": "settings", "anonymous_read": "off"}, status=400)
    with database_root(app) as root:
        assert "mallory" not in root.users
        assert len(root.credentials) == 0
        assert "sneaky" not in root.repositories
        assert root.repositories[DEFAULT_REPOSITORY].anonymous_read is True


def test_a_refused_csrf_token_says_why_and_what_to_do(app):
    login(app)
    response = app.post("/+users", {"action": "add", "user": "mallory", "password": PASSWORD},
                        status=400)
    assert "CSRF token" in response.status and "Reload the page" in response.text


def test_the_upload_api_is_the_one_csrf_exemption(app):
    upload(app, make_wheel("plain", "1.0"))  # no token, no session: Basic auth


# --- headers and escaping -----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/+login", "/", "/repo/default/+browse"])
def test_pages_carry_security_headers(app, path):
    response = app.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in response.headers["Cache-Control"]


def test_pages_need_no_inline_script_or_style(app):
    login(app)
    upload(app, make_wheel("demo", "1.0"))
    for path in ("/", "/+credentials", "/+users", "/+account", "/+repositories",
                 "/repo/default/+browse", "/repo/default/demo/+browse", "/repo/default/+settings"):
        text = app.get(path).text
        assert "<script" not in text and "style=" not in text and "<style" not in text, path
        assert "/+static/localshop.css" in text
    css = app.get("/+static/localshop.css")
    assert css.content_type == "text/css"


@pytest.mark.parametrize("content_type", ["text/markdown", "text/x-rst", "text/plain", ""])
def test_script_in_a_description_is_rendered_inert(app, content_type):
    description = f"Hello\n\n{SCRIPT}\n\n<img src=x onerror=alert(1)>\n"
    upload(app, make_wheel("evil", "1.0"), description=description,
           description_content_type=content_type, summary=f"summary {SCRIPT}",
           project_urls=["Home, javascript:alert(1)", "Docs, https://docs.example/"])
    page = app.get("/repo/default/evil/+browse")
    tags = elements(page.text)
    assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed", "style")]
    assert not [(t, a) for t, a in tags if any(k.startswith("on") for k in a)]
    assert not [a for t, a in tags if "javascript:" in (a.get("href") or "").lower()]
    assert "summary &lt;script&gt;" in page.text  # the summary is escaped, not dropped
    assert ("a", {"href": "https://docs.example/", "rel": "nofollow noopener noreferrer"}) in tags
    assert ("div", {"class": "readme"}) in tags
    assert "Hello" in page.text


def test_project_names_and_versions_are_escaped_on_every_page(app):
    login(app)
    with database_root(app) as root:
        root.repositories[DEFAULT_REPOSITORY].title = f"T {SCRIPT}"
        accounts.create_credential(root, "admin", description=f"D {SCRIPT}")
    for path in ("/", "/+credentials", "/repo/default/+browse", "/+repositories"):
        text = app.get(path).text
        assert "<script" not in text, path
        assert "&lt;script&gt;" in text, path


# --- browsing -----------------------------------------------------------------------------

def test_dashboard_counts_projects_files_and_bytes(app):
    login(app)
    a, b = make_wheel("alpha", "1.0"), make_wheel("alpha", "2.0")
    upload(app, a)
    upload(app, b)
    page = app.get("/")
    row = re.search(r'<tr>\s*<td><a href="http://localhost/repo/default/\+browse">.*?</tr>', page.text, re.S)
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(0))
    assert cells[:2] == ["1", "2"]
    assert cells[2] == f"{(len(a.data) + len(b.data)) / 1024:.1f} KiB"


def test_dashboard_lists_only_readable_repositories(app):
    with database_root(app) as root:
        repositories.add_repository(root, "secret")
    assert "secret" not in app.get("/").text
    assert "/repo/default/+browse" in app.get("/").text  # anonymous read
    login(app)
    assert "/repo/secret/+browse" in app.get("/").text


def test_repository_page_searches_and_marks_hosted_projects(app):
    for name in ("alpha", "beta-tools", "gamma"):
        upload(app, make_wheel(name, "1.0"))
    page = app.get("/repo/default/+browse")
    assert page.text.count('class="badge hosted"') == 3
    page = app.get("/repo/default/+browse", {"q": "BETA_tools"})
    assert "beta-tools" in page.text and "alpha" not in page.text and "gamma" not in page.text
    assert "No project matches" in app.get("/repo/default/+browse", {"q": "zzz"}).text


def test_project_page_lists_versions_newest_first_with_file_details(app):
    dists = {v: make_wheel("demo", v) for v in ("1.0", "1.10", "1.2", "2.0rc1")}
    for dist in dists.values():
        upload(app, dist)
    page = app.get("/repo/default/demo/+browse")
    versions = re.findall(r"<h3>(.*?)</h3>", page.text)
    assert versions == ["2.0rc1", "1.10", "1.2", "1.0"]
    for dist in dists.values():
        assert dist.sha256 in page.text and dist.filename in page.text
    assert f"{len(dists['1.0'].data)} bytes" in page.text
    assert "pip install --index-url http://localhost/repo/default/ demo" in page.text
    assert "uv pip install --index-url http://localhost/repo/default/ demo" in page.text
    assert "<td>admin</td>" in page.text  # the uploader
    # Anonymous readers see no management links.
    assert "+yank" not in page.text
    # A version's own page is the project page at that version.
    response = app.get(f"/repo/default/demo/{version_key('1.10')}/+browse", status=302)
    assert response.location == "http://localhost/repo/default/demo/+browse#v1.10"


def test_private_repository_pages_need_a_login(app):
    with database_root(app) as root:
        repositories.add_repository(root, "private")
    response = app.get("/repo/private/+browse", status=302)
    assert "/+login?came_from=" in response.location
    login(app)
    app.get("/repo/private/+browse", status=200)


def test_credentials_may_not_use_the_pages(app):
    with database_root(app) as root:
        key, secret, _ = accounts.create_credential(root, "admin", upload=True)
    response = app.get("/+credentials", headers=basic_auth(key, secret), status=403)
    assert "credentials are for installing and uploading only" in response.text


# --- credentials --------------------------------------------------------------------------

def _create_credential(app, repository: str = "", mode: str = "read", description: str = "ci"):
    form = app.get("/+credentials").forms["create-credential"]
    form["description"] = description
    form["repository"] = repository
    form["mode"] = mode
    page = form.submit(status=200)
    access_key = page.html.find(id="access-key").text
    secret_key = page.html.find(id="secret-key").text
    return page, access_key, secret_key


def test_credential_lifecycle(app):
    with database_root(app) as root:
        repositories.add_repository(root, "team")
    upload(app, make_wheel("tool", "1.0"), repository="team")
    login(app)
    page, key, secret = _create_credential(app, "team", "upload", "laptop")
    assert "no-store" in page.headers["Cache-Control"]
    assert page.html.find(id="pip-conf").text == (
        f"[global]\nindex-url = http://{key}:{secret}@localhost/repo/team/\n")
    assert page.html.find(id="pypirc").text.endswith(
        f"[local]\nusername: {key}\npassword: {secret}\nrepository: http://localhost/repo/team/\n")
    assert page.html.find(id="index-url").text == f"http://{key}:{secret}@localhost/repo/team/"
    keys = basic_auth(key, secret)
    app.get("/repo/team/tool/", headers=keys, status=200)
    listing = app.get("/+credentials")
    assert secret not in listing.text  # shown once
    assert "laptop" in listing.text and "team" in listing.text

    response = form_with(listing, access_key=key, action="disable").submit(status=302)
    assert flash(response.follow())[0].startswith(f"Disabled {key}")
    app.get("/repo/team/tool/", headers=keys, status=401)
    form_with(app.get("/+credentials"), access_key=key, action="enable").submit(status=302)
    app.get("/repo/team/tool/", headers=keys, status=200)
    form_with(app.get("/+credentials"), access_key=key, action="delete").submit(status=302)
    app.get("/repo/team/tool/", headers=keys, status=401)
    with database_root(app) as root:
        assert len(root.credentials) == 0


def test_read_only_credential_for_all_repositories(app):
    login(app)
    page, key, secret = _create_credential(app)
    assert "Read-only, all repositories" in page.text
    assert "@localhost/repo/default/" in page.html.find(id="index-url").text
    app.post("/repo/default/", upload_fields(make_wheel("x", "1.0")), headers=basic_auth(key, secret),
             upload_files=[("content", "x-1.0-py3-none-any.whl", make_wheel("x", "1.0").data)],
             status=403)


def test_users_see_and_change_only_their_own_credentials(app):
    add_user(app, "dave")
    with database_root(app) as root:
        admin_key, _, _ = accounts.create_credential(root, "admin", description="admins-own")
    login(app, "dave", PASSWORD)
    page = app.get("/+credentials")
    assert "admins-own" not in page.text
    token = page.forms["create-credential"]["csrf_token"].value
    response = app.post("/+credentials", {"action": "disable", "access_key": admin_key,
                                          "csrf_token": token}, status=400)
    assert f"No credential {admin_key!r}" in error(response).replace("&#39;", "'")
    with database_root(app) as root:
        assert root.credentials[admin_key].active


def test_credential_for_an_unknown_repository_is_refused(app):
    login(app)
    form = app.get("/+credentials").forms["create-credential"]
    token = form["csrf_token"].value
    response = app.post("/+credentials", {"action": "create", "repository": "nope",
                                          "csrf_token": token}, status=400)
    assert "No repository" in error(response)


# --- users and account --------------------------------------------------------------------

def test_admin_manages_users(app):
    login(app)
    form = app.get("/+users").forms["add-user"]
    form["user"], form["password"] = "erin", PASSWORD
    page = form.submit(status=302).follow()
    assert flash(page) == ["Added user erin."]

    erin = app.__class__(app.app)
    login(erin, "erin", PASSWORD)
    erin.get("/+users", status=403)

    f = form_with(page, user="erin", action="groups")
    f["groups"] = "dev, ops"
    f.submit(status=302)
    f = form_with(app.get("/+users"), user="erin", action="password")
    f["password"] = "another-password"
    f.submit(status=302)
    erin.get("/+account", status=302)  # a reset password ends the sessions of the old one
    login(erin, "erin", "another-password")
    form_with(app.get("/+users"), user="erin", action="admin").submit(status=302)
    with database_root(app) as root:
        user = root.users["erin"]
        assert user.groups == ("dev", "ops") and user.admin
    erin.get("/+users", status=200)  # admin now, at once
    form_with(app.get("/+users"), user="erin", action="active").submit(status=302)
    erin.get("/+users", status=302)  # deactivated: the session no longer counts
    login(erin, "erin", "another-password", status=400)


def test_invalid_user_forms_say_why_and_change_nothing(app):
    login(app)
    form = app.get("/+users").forms["add-user"]
    form["user"], form["password"] = "frank", "short"
    response = form.submit(status=400)
    assert "Password too short" in error(response)
    form = response.forms["add-user"]
    form["user"], form["password"] = "bad name!", PASSWORD
    assert "Invalid user name" in error(form.submit(status=400))
    with database_root(app) as root:
        assert sorted(root.users) == ["admin"]


def test_the_last_admin_cannot_lock_everybody_out(app):
    login(app)
    response = form_with(app.get("/+users"), user="admin", action="active").submit(status=400)
    assert "last active admin" in error(response)
    with database_root(app) as root:
        assert root.users["admin"].active


def test_change_own_password(app):
    add_user(app, "gina")
    login(app, "gina", PASSWORD)
    form = app.get("/+account").forms["change-password"]
    form["current_password"], form["new_password"], form["repeat_password"] = (
        "wrong-password", "new-password-1", "new-password-1")
    assert "current password is wrong" in error(form.submit(status=400))
    form = app.get("/+account").forms["change-password"]
    form["current_password"], form["new_password"], form["repeat_password"] = (
        PASSWORD, "new-password-1", "new-password-2")
    assert "do not match" in error(form.submit(status=400))
    form["repeat_password"] = "new-password-1"
    assert flash(form.submit(status=302).follow()) == [
        "Your password is changed; other sessions are logged out."]
    app.get("/+account", status=200)  # this session goes on with the new password
    app.get("/+account", headers=basic_auth("gina", "new-password-1"), status=200)
    app.get("/+account", headers=basic_auth("gina", PASSWORD), status=401)  # the old one is wrong now


# --- repositories -------------------------------------------------------------------------

def test_admin_creates_a_private_repository_and_configures_it(app):
    login(app)
    form = app.get("/+repositories").forms["new-repository"]
    form["name"], form["title"] = "team", "The team"
    response = form.submit(status=302)
    assert response.location == "http://localhost/repo/team/+settings"
    page = response.follow()
    app.get("/repo/team/", status=200)  # admin
    anonymous = app.__class__(app.app)
    anonymous.get("/repo/team/", status=401)  # private by default

    form = page.forms["repository-settings"]
    form["read_networks"] = "not-a-network"
    response = form.submit(status=400)
    assert "is not a network" in error(response)
    form = response.forms["repository-settings"]
    form["read_networks"] = "10.0.0.0/8"
    form["anonymous_read"] = True
    form["merge_allowed"] = "Some_Project"
    page = form.submit(status=302).follow()
    assert flash(page) == ["Saved the settings."]
    with database_root(app) as root:
        team = root.repositories["team"]
        assert team.read_networks == ("10.0.0.0/8",)
        assert team.anonymous_read and list(team.merge_allowed) == ["some-project"]
        assert team.title == "The team"
    anonymous.get("/repo/team/", status=200)


def test_repository_roles_from_the_settings_page(app):
    add_user(app, "hank")
    with database_root(app) as root:
        repositories.add_repository(root, "team")
    login(app)
    form = app.get("/repo/team/+settings").forms["give-role"]
    form["kind"], form["name"], form["role"] = "user", "nobody", "reader"
    assert "No user 'nobody'" in error(form.submit(status=400)).replace("&#39;", "'")
    form = app.get("/repo/team/+settings").forms["give-role"]
    form["kind"], form["name"], form["role"] = "user", "hank", "owner"
    page = form.submit(status=302).follow()
    hank = basic_auth("hank", PASSWORD)
    app.get("/repo/team/+settings", headers=hank, status=200)  # owners configure their repository
    app.get("/+repositories", headers=hank, status=403)  # but do not create repositories
    form_with(page, kind="user", name="hank", action="role").submit(status=302)
    app.get("/repo/team/", headers=hank, status=403)


def test_repository_names_are_checked(app):
    login(app)
    form = app.get("/+repositories").forms["new-repository"]
    form["name"] = "default"
    assert "already exists" in error(form.submit(status=400))
    form["name"] = "Upper"
    assert "use lower-case" in error(form.submit(status=400))


# --- yank, unyank, delete -----------------------------------------------------------------

def _files(app, project: str) -> dict:
    return {f["filename"]: f for f in app.get(f"/simple/{project}/", headers={"Accept": JSON}).json["files"]}


def test_yank_unyank_and_delete_with_confirmation(app):
    wheel, other = make_wheel("demo", "1.0"), make_wheel("demo", "2.0")
    upload(app, wheel)
    upload(app, other)
    login(app)
    page = app.get("/repo/default/demo/+browse")
    release_url = f"http://localhost/repo/default/demo/{version_key('1.0')}/"
    assert f'href="{release_url}+yank"' in page.text

    confirm = app.get(f"{release_url}+yank")
    assert "Yank demo 1.0 (1 files)?" in confirm.text
    form = confirm.forms["confirm"]
    form["reason"] = "broken <build>"
    page = form.submit(status=302).follow()
    assert flash(page) == ["Yanked demo 1.0 (1 files)."]
    assert _files(app, "demo")[wheel.filename]["yanked"] == "broken <build>"
    assert "broken &lt;build&gt;" in page.text

    app.get(f"{release_url}+unyank").forms["confirm"].submit(status=302)
    assert _files(app, "demo")[wheel.filename]["yanked"] is False

    file_url = f"{release_url}{wheel.filename}/"
    app.get(f"{file_url}+yank").forms["confirm"].submit(status=302)
    assert _files(app, "demo")[wheel.filename]["yanked"] is True
    assert "The files are removed for good" in app.get(f"{file_url}+delete").text
    app.get(f"{file_url}+delete").forms["confirm"].submit(status=302)
    assert list(_files(app, "demo")) == [other.filename]

    release2 = f"http://localhost/repo/default/demo/{version_key('2.0')}/"
    app.get(f"{release2}+delete").forms["confirm"].submit(status=302)
    assert _files(app, "demo") == {}
    assert "No versions left" in app.get("/repo/default/demo/+browse").text


def test_yank_needs_a_post_with_token_and_the_right_to_manage(app):
    upload(app, make_wheel("demo", "1.0"))
    add_user(app, "ivan", role="uploader")
    release_url = f"/repo/default/demo/{version_key('1.0')}/"
    ivan = basic_auth("ivan", PASSWORD)
    app.get(release_url + "+yank", headers=ivan, status=403)  # not an owner of demo
    login(app)
    app.post(release_url + "+yank", status=400)  # no CSRF token
    assert _files(app, "demo")["demo-1.0-py3-none-any.whl"]["yanked"] is False
    # The project's owner (its first uploader) may yank it without a repository role.
    upload(app, make_wheel("ivans", "1.0"), headers=ivan)
    app.get(f"/repo/default/ivans/{version_key('1.0')}/+yank", headers=ivan, status=200)


@pytest.mark.fault
def test_an_https_form_from_another_site_is_refused_saying_so(app):
    https = {"wsgi.url_scheme": "https", "HTTP_HOST": "shop.example"}
    token = app.get("/+login", extra_environ=https).forms[0]["csrf_token"].value
    response = app.post("/+login", {"csrf_token": token, "username": "admin", "password": "x"},
                        headers={"Referer": "https://evil.example/"}, extra_environ=https,
                        status=400)
    assert "did not come from this site" in response.status
    assert "https://evil.example/" in response.text and "trusted_proxy" in response.text


@pytest.mark.fault
def test_a_refused_admin_form_says_why_in_its_status_line_too(app):
    form = app.get("/+login").forms[0]
    form["username"], form["password"] = "admin", "not-the-password"
    response = form.submit(status=400)
    assert "Wrong user name or password" in response.status
    assert "Wrong user name or password" in response.text
