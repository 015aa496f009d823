"""`desk-inspector users` and `keys`: the first administrator and the dashboards' keys, made from the
command line into the database the service reads."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from inspector.cli import app
from service.accounts import Accounts

runner = CliRunner()


def _run(*args: str, input: str | None = None, db: str):
    return runner.invoke(app, [*args, "--db", db], input=input, env={"COLUMNS": "160"})


def test_first_administrator_and_a_dashboard_key_from_the_command_line(tmp_path):
    db = f"sqlite:///{tmp_path / 'history.db'}"
    assert "no users yet" in _run("users", "list", db=db).output

    added = _run("users", "add", "chief", "--role", "admin", "--password-stdin", input="a long password\n", db=db)
    assert added.exit_code == 0, added.output
    assert "user chief added (admin)" in added.output
    # asked twice when typed
    typed = _run("users", "add", "wang", input="pass-word-1\npass-word-1\n", db=db)
    assert typed.exit_code == 0, typed.output
    listed = _run("users", "list", db=db).output
    assert "chief" in listed and "admin" in listed and "wang" in listed and "supervisor" in listed

    accounts = Accounts.open(db)
    assert accounts.verify("chief", "a long password").role == "admin"
    assert accounts.verify("chief", "wrong password") is None

    made = _run("keys", "create", "hall-dashboard", db=db)
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("dik_") and "shown this once" in made.output
    assert accounts.check_key(key).name == "hall-dashboard"
    listed = _run("keys", "list", db=db).output
    assert "hall-dashboard" in listed and key[:10] in listed and key not in listed

    revoked = _run("keys", "revoke", "1", db=db)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert accounts.check_key(key) is None
    assert "no API keys" in _run("keys", "list", db=db).output
    assert "hall-dashboard" in _run("keys", "list", "--all", db=db).output

    assert _run("users", "disable", "wang", db=db).exit_code == 0
    assert accounts.user("wang").disabled
    assert _run("users", "enable", "wang", db=db).exit_code == 0
    assert _run("users", "passwd", "wang", "--password-stdin", input="another-pass\n", db=db).exit_code == 0
    assert accounts.verify("wang", "another-pass") is not None


def test_bad_input_exits_2_with_a_message(tmp_path):
    db = f"sqlite:///{tmp_path / 'history.db'}"
    cases = [
        (("users", "add", "x", "--password-stdin"), "short\n", "password: 8 to 1024 characters"),
        (("users", "add", "x", "--role", "root", "--password-stdin"), "long-enough-1\n", "role: one of supervisor, admin"),
        (("users", "disable", "nobody"), None, "no user named 'nobody'"),
        (("keys", "revoke", "7"), None, "no API key with id 7"),
        (("users", "disable", "chief"), None, "last active administrator"),
    ]
    assert _run("users", "add", "chief", "--role", "admin", "--password-stdin", input="long-enough-1\n", db=db).exit_code == 0
    assert _run("users", "add", "CHIEF", "--password-stdin", input="long-enough-1\n", db=db).exit_code == 2
    for args, stdin, message in cases:
        result = _run(*args, input=stdin, db=db)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output
    bad_url = runner.invoke(app, ["users", "list", "--db", "nosuchdialect://x"])
    assert bad_url.exit_code == 2 and "cannot open the database" in bad_url.output


def test_the_service_takes_the_key_and_the_user_from_the_same_database(tmp_path, monkeypatch):
    from tests.service.conftest import STANDARDS_DIR
    from service.config import Settings
    from service.main import create_app

    db = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("DESK_INSPECTOR_DATABASE_URL", db)  # the one setting batch, serve and the CLI read
    assert runner.invoke(app, ["users", "add", "chief", "--role", "admin", "--password-stdin"],
                         input="a long password\n").exit_code == 0
    key = runner.invoke(app, ["keys", "create", "dash"]).output.strip().splitlines()[-1]
    settings = Settings(data_dir=tmp_path / "data", cameras_dir=tmp_path / "cameras", standards_dir=STANDARDS_DIR,
                        model="none")
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/cameras", headers={"X-API-Key": key}).status_code == 200
        assert client.post("/api/v1/session", json={"name": "chief", "password": "a long password"}).status_code == 200
