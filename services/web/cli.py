"""``minwon web`` (or ``minwon service web``): the web front alone, calling the services' APIs at
``MINWON_WEB_API_URL`` (default: this host's ``MINWON_HTTP_PORT``). ``minwon run`` already serves
it beside the APIs on one port.

``minwon staff add|disable|list``: the built-in accounts (:mod:`services.web.accounts`), in the
store of ``MINWON_BACKEND`` (``<data_dir>/staff.db``, or the ``<prefix>web`` database).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

COMMANDS = ("web", "staff")


def register(sub: Any) -> None:
    web = sub.add_parser("web", help="the web console and citizen portal alone (the APIs run elsewhere)")
    web.add_argument("--port", type=int, help="where the web front listens (default: MINWON_WEB_PORT, 8080)")

    staff = sub.add_parser("staff", help="the built-in staff accounts (when no identity provider signs staff in)")
    actions = staff.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an account, or replace one (and enable it again)")
    add.add_argument("--id", required=True, help="the staff id they sign in with")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, help="handler, team_lead, complaint_office, admin or call_centre")
    add.add_argument("--department", help="the department code (handlers and team leads)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin (else: prompt)")
    disable = actions.add_parser("disable", help="disable an account: no sign-in; its session ends within seconds")
    disable.add_argument("id")
    actions.add_parser("list", help="the accounts, one JSON object a line (no password hashes)")
    token = actions.add_parser("token", help="print a bearer token for an account (API calls, scripts)")
    token.add_argument("id")
    token.add_argument("--minutes", type=int, default=60, help="how long it is valid (default 60, at most 720)")


def serve(port: int | None = None) -> None:
    import uvicorn

    from minwon import telemetry
    from minwon.settings import Settings
    from services.web.app import create_app
    from services.web.settings import WebSettings

    settings, own = Settings(), WebSettings()
    telemetry.configure_logging(settings.log_level)
    telemetry.configure_tracing("minwon-web", settings.otlp_endpoint)
    uvicorn.run(
        create_app(settings, own), host=settings.http_host, port=port or own.port, log_config=None, access_log=False
    )


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    return first


async def staff(args: argparse.Namespace) -> int:
    from minwon.settings import Settings
    from services.web.accounts import Accounts, open_store
    from services.web.auth import hash_password

    store = open_store(Settings())
    try:
        accounts = Accounts(store)
        if args.action == "add":
            password = _password(args.password_stdin)
            if len(password) < 8:
                print("a password needs at least 8 characters", file=sys.stderr)
                return 2
            try:
                doc = await accounts.add(
                    id=args.id,
                    name=args.name,
                    role=args.role,
                    department=args.department,
                    password_hash=hash_password(password),
                )
            except ValueError as exc:
                print(exc, file=sys.stderr)
                return 2
            print(f"added {doc['id']} ({doc['role']}{', ' + doc['department'] if doc['department'] else ''})")
            return 0
        if args.action == "disable":
            if not await accounts.disable(id=args.id):
                print(f"no account {args.id}", file=sys.stderr)
                return 1
            print(f"disabled {args.id}")
            return 0
        if args.action in ("token", "list"):
            from services.web.settings import WebSettings

            if not Settings().production:  # as the first start does: the sample accounts, if there is none
                await accounts.load_samples(WebSettings().staff_file)
        if args.action == "token":
            return await _token(accounts, Settings(), args.id, args.minutes)
        for doc in await accounts.list():
            print(
                json.dumps(
                    {k: doc.get(k) for k in ("id", "name", "role", "department", "disabled")}, ensure_ascii=False
                )
            )
        return 0
    finally:
        await store.close()


async def _token(accounts: Any, settings: Any, id: str, minutes: int) -> int:
    """A token of the built-in accounts' issuer for an enabled account: what the console sends for it."""
    from minwon.auth import Principal, Verifier

    found = [d for d in await accounts.list() if d.get("id") == id]
    if not found or found[0].get("disabled"):
        print(f"no enabled account {id}", file=sys.stderr)
        return 1
    if not settings.auth_secret:
        print("MINWON_AUTH_SECRET is empty: built-in accounts are off", file=sys.stderr)
        return 2
    doc = found[0]
    who = Principal(id=doc["id"], name=doc["name"], department=doc.get("department"), roles=frozenset({doc["role"]}))
    print(Verifier(local_key=settings.auth_secret).mint(who, ttl=60 * max(1, min(minutes, 720))))
    return 0


def main(args: argparse.Namespace) -> int:
    if args.command == "staff":
        return asyncio.run(staff(args))
    serve(args.port)
    return 0
