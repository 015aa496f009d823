"""Sign-in for people (password, session cookie, CSRF token, roles) and API keys for machines
(made by administrators, kept as hashes in the history database, revocable, surviving restarts)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from service.accounts import Accounts
from service.config import Settings, settings_problem
from service.main import create_app
from tests.service.conftest import HEADERS, inspect_files, make_settings, stored_state

API = "/api/v1"
ADMIN_PASSWORD = "correct horse battery"
SUPERVISOR_PASSWORD = "staple-staple-staple"


@pytest.fixture
def people(settings) -> Accounts:
    accounts = Accounts.open(settings.db_url)
    accounts.add_user("Admin", ADMIN_PASSWORD, "admin", "test")
    accounts.add_user("wang", SUPERVISOR_PASSWORD, "supervisor", "test")
    return accounts


@pytest.fixture
def app_client(settings, people):
    app = create_app(settings)
    with TestClient(app) as client:
        yield client
    assert app.state.unexpected_errors == 0


def sign_in(client: TestClient, name: str, password: str) -> str:
    """Signs the client in (its cookie jar keeps the session); the CSRF token."""
    response = client.post(f"{API}/session", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["signed_in"] and body["via"] == "session" and len(body["csrf_token"]) >= 32
    return body["csrf_token"]


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_the_session(app_client):
    assert app_client.get(f"{API}/session").json() == {"signed_in": False, "name": None, "role": None, "via": None,
                                                       "csrf_token": None}
    response = app_client.post(f"{API}/session", json={"name": "admin", "password": ADMIN_PASSWORD})  # any case
    cookie = response.headers["set-cookie"].lower()
    assert "desk_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    csrf = response.json()["csrf_token"]
    assert response.json()["name"] == "Admin" and response.json()["role"] == "admin"
    me = app_client.get(f"{API}/session").json()
    assert me["signed_in"] and me["name"] == "Admin" and me["csrf_token"] == csrf
    assert app_client.get(f"{API}/cameras").status_code == 200

    stolen = app_client.cookies.get("desk_session")
    assert app_client.delete(f"{API}/session").status_code == 403  # no CSRF token: another site cannot sign you out
    assert app_client.delete(f"{API}/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert app_client.get(f"{API}/cameras").status_code == 401
    # the old cookie is worthless on the server too, not only cleared in the browser
    app_client.cookies.set("desk_session", stolen)
    response = app_client.get(f"{API}/cameras")
    assert response.status_code == 401 and "sign in again" in response.json()["detail"]


def test_wrong_password_and_unknown_user_get_the_same_answer_then_a_pause(app_client):
    wrong = app_client.post(f"{API}/session", json={"name": "wang", "password": "not-the-password"})
    unknown = app_client.post(f"{API}/session", json={"name": "nobody", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong user name or password"}
    assert "set-cookie" not in wrong.headers
    for _ in range(4):
        app_client.post(f"{API}/session", json={"name": "wang", "password": "guess-again"})
    limited = app_client.post(f"{API}/session", json={"name": "wang", "password": SUPERVISOR_PASSWORD})
    assert limited.status_code == 429 and "try again in" in limited.json()["detail"]
    assert int(limited.headers["retry-after"]) > 0


def test_a_forged_cookie_is_refused(app_client):
    app_client.cookies.set("desk_session", "made-up.value.here")
    assert app_client.get(f"{API}/cameras").status_code == 401


def test_a_cookie_authenticated_change_needs_the_csrf_token(app_client, settings, sample):
    csrf = sign_in(app_client, "wang", SUPERVISOR_PASSWORD)
    before = stored_state(settings)
    refused = app_client.post(f"{API}/inspections", data={"camera_id": sample.camera_id}, files=inspect_files(sample))
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = app_client.post(f"{API}/inspections", data={"camera_id": sample.camera_id}, files=inspect_files(sample),
                            headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    assert wrong.status_code == 403
    assert stored_state(settings) == before
    done = app_client.post(f"{API}/inspections", data={"camera_id": sample.camera_id}, files=inspect_files(sample),
                           headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201, done.text
    # corrections name the person, never a key
    corrected = app_client.post(f"{API}/inspections/{done.json()['id']}/corrections", headers={"X-CSRF-Token": csrf},
                                json={"items": [], "verdict_confirmed": True, "base_revision": 0})
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["corrections"][-1]["author"] == "user wang"


def test_roles_supervisors_inspect_administrators_also_manage(app_client, sample):
    csrf = sign_in(app_client, "wang", SUPERVISOR_PASSWORD)
    headers = {"X-CSRF-Token": csrf}
    assert app_client.get(f"{API}/inspections").status_code == 200
    for method, path, body in (("get", "/users", None), ("get", "/keys", None),
                               ("post", "/keys", {"name": "dash"}), ("delete", "/keys/1", None)):
        response = app_client.request(method.upper(), API + path, json=body, headers=headers)
        assert response.status_code == 403, (method, path)
        assert response.json()["detail"] == "administrators only: user wang is a supervisor"
    response = app_client.post(f"{API}/calibration", headers=headers, data={"camera_id": "x"},
                               files={"snapshot": ("s.jpg", sample.photo, "image/jpeg")})
    assert response.status_code == 403

    admin = TestClient(app_client.app)
    admin_csrf = sign_in(admin, "Admin", ADMIN_PASSWORD)
    made = admin.post(f"{API}/users", json={"name": "li", "password": "li-password-1", "role": "supervisor"},
                      headers={"X-CSRF-Token": admin_csrf})
    assert made.status_code == 201 and made.json()["created_by"] == "user Admin"
    assert admin.post(f"{API}/users", json={"name": "LI", "password": "li-password-1"},
                      headers={"X-CSRF-Token": admin_csrf}).status_code == 409
    assert [u["name"] for u in admin.get(f"{API}/users").json()] == ["Admin", "li", "wang"]


def test_a_disabled_user_cannot_sign_in_and_is_signed_out(app_client, people):
    supervisor = TestClient(app_client.app)
    sign_in(supervisor, "wang", SUPERVISOR_PASSWORD)
    admin_csrf = sign_in(app_client, "Admin", ADMIN_PASSWORD)
    response = app_client.patch(f"{API}/users/wang", json={"disabled": True}, headers={"X-CSRF-Token": admin_csrf})
    assert response.status_code == 200 and response.json()["disabled"] is True
    assert supervisor.get(f"{API}/cameras").status_code == 401
    refused = supervisor.post(f"{API}/session", json={"name": "wang", "password": SUPERVISOR_PASSWORD})
    assert refused.status_code == 403 and "disabled" in refused.json()["detail"]
    # the last active administrator cannot lock everyone out
    last = app_client.patch(f"{API}/users/admin", json={"disabled": True}, headers={"X-CSRF-Token": admin_csrf})
    assert last.status_code == 409 and "last active administrator" in last.json()["detail"]


def test_a_key_made_by_an_administrator_survives_a_restart_until_revoked(settings, people):
    with TestClient(create_app(settings)) as client:
        csrf = sign_in(client, "Admin", ADMIN_PASSWORD)
        made = client.post(f"{API}/keys", json={"name": "hall dashboard"}, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text
        key, key_id = made.json()["key"], made.json()["id"]
        assert key.startswith("dik_") and len(key) >= 40 and made.json()["prefix"] == key[:10]
        listed = client.get(f"{API}/keys").json()
        assert "key" not in listed[0] and listed[0]["active"] and listed[0]["created_by"] == "user Admin"
    # only its hash is stored
    with people.engine.connect() as connection:
        assert key not in str(connection.exec_driver_sql("SELECT * FROM api_keys").fetchall())

    with TestClient(create_app(settings)) as client:  # a restart: a new app on the same database
        machine = {"X-API-Key": key}
        assert client.get(f"{API}/cameras", headers=machine).status_code == 200
        assert client.get(f"{API}/session", headers=machine).json()["name"] == "hall dashboard"
        assert client.get(f"{API}/keys", headers=machine).status_code == 403  # a supervisor key
        csrf = sign_in(client, "Admin", ADMIN_PASSWORD)
        assert client.get(f"{API}/keys").json()[0]["last_used_at"] is not None
        revoked = client.delete(f"{API}/keys/{key_id}", headers={"X-CSRF-Token": csrf})
        assert revoked.status_code == 200 and revoked.json()["active"] is False
        assert revoked.json()["revoked_by"] == "user Admin"
        response = client.get(f"{API}/cameras", headers=machine)
        assert response.status_code == 401 and response.json() == {"detail": "invalid API key"}
        assert client.delete(f"{API}/keys/999", headers={"X-CSRF-Token": csrf}).status_code == 404


def test_a_session_survives_a_restart(settings, people):
    with TestClient(create_app(settings)) as client:
        sign_in(client, "wang", SUPERVISOR_PASSWORD)
        cookie = client.cookies.get("desk_session")
    with TestClient(create_app(settings)) as client:
        client.cookies.set("desk_session", cookie)
        assert client.get(f"{API}/cameras").status_code == 200


def test_settings_keys_still_work_and_need_no_csrf_token(app_client, sample):
    assert app_client.get(f"{API}/session", headers=HEADERS).json()["via"] == "settings-key"
    response = app_client.post(f"{API}/inspections", data={"camera_id": sample.camera_id}, files=inspect_files(sample),
                               headers=HEADERS)
    assert response.status_code == 201
    # with admin_api_keys empty every settings key administers, as it always changed calibrations
    made = app_client.post(f"{API}/keys", json={"name": "script", "role": "admin"}, headers=HEADERS)
    assert made.status_code == 201 and made.json()["created_by"].startswith("key ")
    assert app_client.get(f"{API}/users", headers={"X-API-Key": made.json()["key"]}).status_code == 200


def test_a_bad_key_is_not_rescued_by_a_session(app_client):
    sign_in(app_client, "wang", SUPERVISOR_PASSWORD)
    response = app_client.get(f"{API}/cameras", headers={"X-API-Key": "dik_not-a-real-key-at-all"})
    assert response.status_code == 401 and response.json() == {"detail": "invalid API key"}


def test_no_generated_key_once_the_database_has_accounts(site, people):
    app = create_app(make_settings(site, api_keys=[]))
    with TestClient(app) as client:
        assert app.state.service.generated_key is None
        assert client.get(f"{API}/cameras").status_code == 401
        sign_in(client, "wang", SUPERVISOR_PASSWORD)
        assert client.get(f"{API}/cameras").status_code == 200


@pytest.mark.parametrize("bad", [{"name": "x", "password": "short"}, {"name": "\x00bad", "password": "long-enough-1"},
                                 {"name": "ok-name", "password": "long-enough-1", "role": "root"}])
def test_bad_new_users_are_422(app_client, bad):
    response = app_client.post(f"{API}/users", json=bad, headers=HEADERS)
    assert response.status_code == 422, response.text


def test_a_too_short_key_in_the_settings_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ValidationError) as error:
        Settings(api_keys=["ok-key-0123456789", "abc"], data_dir=tmp_path)
    message = settings_problem(error.value)
    assert message.startswith("invalid settings: api_keys (DESK_INSPECTOR_API_KEYS or the settings file): key 2 of 2 "
                              "is 3 characters long; API keys must be at least 8 characters long")
    assert "abc" not in message  # the key itself is not repeated into a log
    assert "pydantic" not in message and "input_value" not in message

    from inspector.cli import app as cli

    monkeypatch.setenv("DESK_INSPECTOR_ADMIN_API_KEYS", "tiny")
    result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "admin_api_keys (DESK_INSPECTOR_ADMIN_API_KEYS or the settings file): key 1 of 1 is 4 characters" in result.output
    assert "Traceback" not in result.output and "tiny" not in result.output


def test_the_sign_in_limiter_counts_per_user_and_more_loosely_per_address():
    from service.auth import SignInLimiter

    limiter = SignInLimiter(per_user=2, per_address=3, window_s=60)
    limiter.failed("Wang", "10.0.0.1")
    assert limiter.wait_s("wang", "10.0.0.9") == 0
    limiter.failed("wang", "10.0.0.2")
    assert 59 < limiter.wait_s("WANG", "10.0.0.9") <= 60  # the name, whatever its case, from anywhere
    limiter.succeeded("wang")
    assert limiter.wait_s("wang", "10.0.0.9") == 0
    for name in ("a", "b", "c"):  # a guesser trying many names from one address
        limiter.failed(name, "10.0.0.3")
    assert limiter.wait_s("d", "10.0.0.3") > 0 and limiter.wait_s("d", "10.0.0.4") == 0


def test_another_sites_form_cannot_sign_anyone_in(app_client):
    """A cross-site form can post text/plain, never JSON (that needs CORS, which the service does not
    allow): signing in takes JSON only, so no page elsewhere signs a visitor into someone's account."""
    body = '{"name": "wang", "password": "%s"}' % SUPERVISOR_PASSWORD
    response = app_client.post(f"{API}/session", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 422 and "set-cookie" not in response.headers


def test_ready_shows_problem_details_to_a_signed_in_administrator_only(settings, people):
    (settings.cameras_dir / "broken.yaml").write_text("camera_id: broken\nimage_size: [10]\n", encoding="utf-8")
    with TestClient(create_app(settings)) as admin, TestClient(create_app(settings)) as supervisor:
        sign_in(admin, "Admin", ADMIN_PASSWORD)
        sign_in(supervisor, "wang", SUPERVISOR_PASSWORD)
        assert "broken.yaml" in admin.get(f"{API}/ready").json()["problems"][0]
        assert "broken.yaml" not in supervisor.get(f"{API}/ready").json()["problems"][0]
