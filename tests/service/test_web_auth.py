"""End to end in headless Chromium against a real uvicorn: a supervisor signs in through the form and
inspects a photo; an administrator makes an API key on the page (shown once), the key works, is
revoked there and is refused. Screenshots at desktop and phone size (auth-*.png)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from service.accounts import Accounts
from service.main import create_app
from tests.service.conftest import LiveServer, make_settings
from tests.service.test_web import CHROMIUM, _inspect, _offline_page, _screenshot, browser, case  # noqa: F401

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]

ADMIN = ("chief", "correct horse battery")
SUPERVISOR = ("wang", "staple-staple-staple")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(case):  # noqa: F811 - the case fixture imported above
    _, site = case
    settings = make_settings(site, api_keys=[])  # no settings keys: people sign in, machines get keys
    accounts = Accounts.open(settings.db_url)
    accounts.add_user(ADMIN[0], ADMIN[1], "admin", "test")
    accounts.add_user(SUPERVISOR[0], SUPERVISOR[1], "supervisor", "test")
    app = create_app(settings)
    with LiveServer(app) as live:
        yield live
    assert app.state.unexpected_errors == 0


def _sign_in(page, name: str, password: str) -> None:
    page.fill("#signin-name", name)
    page.fill("#signin-password", password)
    page.click("#signin-button")


def _get(server, path: str, key: str) -> int:
    request = urllib.request.Request(server.url + path, headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _real_errors(errors: list[str]) -> list[str]:
    # a wrong password is answered 401, which Chromium logs as a failed resource: expected here
    return [e for e in errors if "401" not in e]


def test_a_supervisor_signs_in_and_inspects(browser, server, case, tmp_path):  # noqa: F811
    page, errors = _offline_page(browser, server, DESKTOP)
    page.goto(server.url + "/")
    page.wait_for_selector("#key-panel:not([hidden]) #signin-form")
    assert page.is_hidden("#auth-user") and page.is_hidden(".tab[data-view='admin']")
    _screenshot(page, tmp_path, "auth-signin-desktop.png")

    _sign_in(page, SUPERVISOR[0], "not the password")
    page.wait_for_selector("#signin-error:not([hidden])")
    assert "用户名或密码错误" in page.inner_text("#signin-error")
    _screenshot(page, tmp_path, "auth-signin-wrong-desktop.png")

    _sign_in(page, SUPERVISOR[0], SUPERVISOR[1])
    page.wait_for_selector("#auth-user:not([hidden])")
    assert page.inner_text("#auth-user") == "wang · 主管"
    assert page.is_hidden("#key-panel") and page.is_hidden(".tab[data-view='admin']")
    # the session cookie is out of the page's reach; the API key box stays empty
    assert page.evaluate("() => document.cookie") == ""
    assert page.evaluate("() => localStorage.getItem('desk-inspector.api-key')") is None

    _inspect(page, case[0])  # an upload: the cookie plus the CSRF token
    assert page.inner_text("#verdict")

    page.reload()  # still signed in after a reload
    page.wait_for_selector("#auth-user:not([hidden])")
    page.click("#signout-button")
    page.wait_for_selector("#key-panel:not([hidden]) #signin-form")
    assert page.is_hidden("#auth-user")
    assert _real_errors(errors) == []


def test_an_administrator_makes_and_revokes_a_dashboard_key(browser, server, tmp_path):  # noqa: F811
    shots = {}
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page, errors = _offline_page(browser, server, viewport)
        page.on("dialog", lambda dialog: dialog.accept())  # "revoke this key?"
        page.goto(server.url + "/")
        page.wait_for_selector("#key-panel:not([hidden]) #signin-form")
        if size == "phone":
            page.click("#lang-toggle")  # the phone in English, the desktop in Chinese
            _screenshot(page, tmp_path, "auth-signin-phone.png")
        _sign_in(page, *ADMIN)
        page.wait_for_selector(".tab[data-view='admin']:not([hidden])")
        page.click(".tab[data-view='admin']")
        page.wait_for_selector("#view-admin:not([hidden]) #users-table tbody tr")
        you = "chief（您）" if size == "desktop" else "chief (you)"
        assert "wang" in page.inner_text("#users-table") and you in page.inner_text("#users-table")

        page.fill("#key-create-name", f"hall dashboard {size}")
        page.click("#key-create-form button[type=submit]")
        page.wait_for_selector("#key-new:not([hidden])")
        key = page.inner_text("#key-new-value").strip()
        assert key.startswith("dik_")
        page.wait_for_selector(f"#keys-table tbody tr:has-text('hall dashboard {size}')")
        assert key[:10] in page.inner_text("#keys-table") and key not in page.inner_text("#keys-table")
        shots[size] = _screenshot(page, tmp_path, f"auth-admin-keys-{size}.png")
        assert _get(server, "/api/v1/cameras", key) == 200

        page.click(f"#keys-table tbody tr:has-text('hall dashboard {size}') button")
        page.wait_for_selector(f"#keys-table tbody tr.revoked:has-text('hall dashboard {size}')")
        assert _get(server, "/api/v1/cameras", key) == 401
        page.click(".tab[data-view='inspect']")
        assert page.is_hidden("#key-new")  # shown once: gone when the panel is left
        assert _real_errors(errors) == []
        page.close()


def test_the_api_key_box_still_works(browser, server):  # noqa: F811
    accounts = Accounts.open(_db_of(server))
    key, _ = accounts.create_key("old dashboard", "supervisor", "test")
    page, errors = _offline_page(browser, server, DESKTOP)
    page.goto(server.url + "/")
    page.wait_for_selector("#key-panel:not([hidden])")
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#auth-user:not([hidden])")
    assert page.inner_text("#auth-user") == "密钥 · old dashboard"
    assert page.is_hidden(".tab[data-view='admin']")
    assert _real_errors(errors) == []


def _db_of(server) -> str:
    return server.server.config.app.state.service.settings.db_url


def test_a_link_to_the_admin_tab_opens_it_once_signed_in(browser, server):  # noqa: F811
    page, errors = _offline_page(browser, server, DESKTOP)
    page.goto(server.url + "/#admin")
    page.wait_for_selector("#key-panel:not([hidden]) #signin-form")
    assert page.is_hidden("#view-admin")  # nothing but the form before signing in
    _sign_in(page, *ADMIN)
    page.wait_for_selector("#view-admin:not([hidden]) #users-table tbody tr:has-text('wang')")
    page.close()

    page, errors = _offline_page(browser, server, DESKTOP)
    page.goto(server.url + "/#admin")
    page.wait_for_selector("#key-panel:not([hidden]) #signin-form")
    _sign_in(page, *SUPERVISOR)  # no rights there: the inspect tab instead
    page.wait_for_selector("#view-inspect:not([hidden])")
    assert page.is_hidden("#view-admin") and page.is_hidden(".tab[data-view='admin']")
    assert _real_errors(errors) == []
