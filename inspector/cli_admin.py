"""`desk-inspector users ...` and `desk-inspector keys ...`: the service's accounts and API keys,
kept in the history database (thin layer over service.accounts)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

users_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="People who sign in to the web page: administrators and supervisors.")
keys_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="API keys for dashboards and scripts (X-API-Key), kept as hashes.")

Database = Annotated[Optional[str], typer.Option(
    "--db", "--database",
    help="History database URL, as for batch and serve (default: $DESK_INSPECTOR_DATABASE_URL, else out/history.db).")]
RoleOption = Annotated[str, typer.Option("--role", help="supervisor (inspect, correct, view) or admin (also calibrate, "
                                                        "manage users and keys).")]


def _fail(error) -> typer.Exit:
    from inspector.cli import fail

    return fail(error)


def _accounts(database: str | None):
    from inspector.history import default_database_url
    from service.accounts import Accounts

    try:
        return Accounts.open(database or default_database_url())
    except Exception as error:  # a bad URL or an unreachable server: say which, no traceback
        raise _fail(f"cannot open the database: {error}") from None


def _who() -> str:
    try:
        return f"cli ({getpass.getuser()})"
    except (KeyError, OSError):
        return "cli"


def _password(password_stdin: bool) -> str:
    if password_stdin:
        # one line: `printf '%s\n' "$PASSWORD" | desk-inspector users add ...` in a provisioning script
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _time(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (1-64 characters; not case-sensitive when signing in).")],
    role: RoleOption = "supervisor",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input "
                                                                           "instead of asking.")] = False,
    database: Database = None,
) -> None:
    """Add a user; the password is asked twice (or read from stdin) and stored as an argon2 hash."""
    from inspector.cli import console
    from service.accounts import AccountError

    accounts = _accounts(database)
    try:
        user = accounts.add_user(name, _password(password_stdin), role, _who())
    except AccountError as error:
        raise _fail(error.message)
    console.print(f"user {escape(user.name)} added ({user.role}); they sign in on the web page")


@users_app.command("list")
def users_list(database: Database = None) -> None:
    """The users, their roles, and when they last signed in."""
    from inspector.cli import console

    users = _accounts(database).users()
    if not users:
        console.print("no users yet: add the first administrator with `desk-inspector users add NAME --role admin`")
        return
    table = Table("name", "role", "state", "created", "by", "last sign-in")
    for user in users:
        table.add_row(escape(user.name), user.role, "disabled" if user.disabled else "active", _time(user.created_at),
                      escape(user.created_by), _time(user.last_login_at))
    console.print(table)


def _update(database: str | None, name: str, **change) -> None:
    from inspector.cli import console
    from service.accounts import AccountError

    try:
        user = _accounts(database).update_user(name, **change)
    except AccountError as error:
        raise _fail(error.message)
    console.print(f"user {escape(user.name)}: {user.role}, {'disabled' if user.disabled else 'active'}")


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="User name.")], database: Database = None) -> None:
    """Stop a user signing in; their open sessions end at once."""
    _update(database, name, disabled=True)


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="User name.")], database: Database = None) -> None:
    """Let a disabled user sign in again."""
    _update(database, name, disabled=False)


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the new password from standard "
                                                                           "input.")] = False,
    database: Database = None,
) -> None:
    """Set a new password (the user's open sessions end)."""
    _update(database, name, password=_password(password_stdin))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="What will use the key, e.g. 'hall-dashboard'.")],
    role: RoleOption = "supervisor",
    database: Database = None,
) -> None:
    """Make a key and print it once: only its hash is kept, so copy it now."""
    from inspector.cli import console
    from service.accounts import AccountError

    try:
        key, record = _accounts(database).create_key(name, role, _who())
    except AccountError as error:
        raise _fail(error.message)
    console.print(f"API key {record.id} ({escape(record.name)}, {record.role}) - shown this once, send it in the "
                  "X-API-Key header:", highlight=False)
    # the key alone on stdout's last line, for a script to take
    print(key)


@keys_app.command("list")
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Revoked keys too.")] = False,
    database: Database = None,
) -> None:
    """The keys made (never the keys themselves): id, name, role, first characters, last use."""
    from inspector.cli import console

    keys = _accounts(database).keys(include_revoked=all_keys)
    if not keys:
        console.print("no API keys: make one with `desk-inspector keys create NAME`")
        return
    table = Table("id", "name", "role", "created", "by", "last used", "revoked")
    table.add_column("starts with", no_wrap=True)  # what tells keys apart: never cut
    for key in keys:
        table.add_row(str(key.id), escape(key.name), key.role, _time(key.created_at), escape(key.created_by),
                      _time(key.last_used_at), _time(key.revoked_at), escape(key.prefix) + "…")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`).")],
    database: Database = None,
) -> None:
    """Revoke a key: the service refuses it from the next request on."""
    from inspector.cli import console
    from service.accounts import AccountError

    try:
        record = _accounts(database).revoke_key(key_id, _who())
    except AccountError as error:
        raise _fail(error.message)
    console.print(f"API key {record.id} ({escape(record.name)}) revoked")
