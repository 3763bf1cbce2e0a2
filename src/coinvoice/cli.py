"""The coinvoice command line: serve, migrate, company create, user create (dashboard)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import uuid

from coinvoice.config import ConfigError, Settings, load_settings
from coinvoice.db.migrate import migrate
from coinvoice.db.pool import create_pool, database_url
from coinvoice.domain.errors import DomainError


async def _migrate(settings: Settings) -> list[str]:
    pool = await create_pool(database_url(settings), min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await migrate(conn)
    finally:
        await pool.close()


async def _company_command(settings: Settings, args: argparse.Namespace) -> dict[str, str]:
    from coinvoice.services.companies import create_company, replace_public_token

    pool = await create_pool(database_url(settings), min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        if args.action == "create":
            return await create_company(pool, settings, args.name, args.logo_url, args.redirect_url)
        return await replace_public_token(pool, args.id)
    finally:
        await pool.close()


async def _user_command(settings: Settings, args: argparse.Namespace) -> dict[str, str]:
    from coinvoice.services.dashboard_users import create_user, new_sign_in_link

    password = getattr(args, "password", None)
    if password == "-":  # read from stdin: a password in the arguments is visible to other users of the machine
        password = sys.stdin.readline().rstrip("\n")
    pool = await create_pool(database_url(settings), min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        if args.action == "create":
            result = await create_user(pool, args.company, args.email, args.role, password)
        else:
            result = await new_sign_in_link(pool, args.email)
    finally:
        await pool.close()
    token = result.pop("signInToken", None)
    if token is not None:
        result["signInLink"] = f"{settings.public_url}/dashboard/link/{token}"
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coinvoice", description="Self-hosted crypto-payment invoice gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API, the payer page and the workers")
    serve.add_argument("--role", choices=("all", "api", "worker"), default="all")
    serve.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="processes sharing the port (SO_REUSEPORT) under a supervising parent; "
        "default: the number of cores for --role api, 1 otherwise",
    )
    serve.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # started by the supervisor
    sub.add_parser("migrate", help="apply the SQL migrations")
    company = sub.add_parser("company", help="manage companies").add_subparsers(dest="action", required=True)
    create = company.add_parser("create", help="create a company and print its tokens as JSON")
    create.add_argument("--name", required=True)
    create.add_argument("--logo-url")
    create.add_argument("--redirect-url")
    rotate = company.add_parser(
        "rotate-token", help="revoke every public token of a company and print a new one as JSON"
    )
    rotate.add_argument("--id", required=True, type=uuid.UUID, help="the company id")
    user = sub.add_parser("user", help="manage dashboard users").add_subparsers(dest="action", required=True)
    add = user.add_parser(
        "create", help="create a dashboard user; prints a one-time sign-in link (24 h) unless --password is given"
    )
    add.add_argument("--company", required=True, type=uuid.UUID, help="the company id")
    add.add_argument("--email", required=True)
    add.add_argument("--role", choices=("owner", "viewer"), default="owner")
    add.add_argument("--password", help="set this password (at least 10 characters); '-' reads it from stdin")
    link = user.add_parser("link", help="print a new one-time sign-in link for a user (e.g. a forgotten password)")
    link.add_argument("--email", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from coinvoice.web.ops import configure_logging

    log_format = os.environ.get("COINVOICE_LOG_FORMAT", "text").strip().lower()
    if log_format not in ("text", "json"):
        print("configuration error: COINVOICE_LOG_FORMAT must be text or json", file=sys.stderr)
        return 2
    configure_logging(log_format)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        applied = asyncio.run(_migrate(settings))
        print(json.dumps({"applied": applied}))
    elif args.command in ("company", "user"):
        command = _company_command if args.command == "company" else _user_command
        try:
            print(json.dumps(asyncio.run(command(settings, args))))
        except DomainError as exc:
            print(f"{exc.code}: {exc.message}", file=sys.stderr)
            return 1
    elif args.command == "serve":
        return _serve(settings, args)
    return 0


def _exit_cleanly(*_: object) -> None:
    raise SystemExit(0)


def default_processes(role: str) -> int:
    """API processes scale with the cores; workers coordinate by leader locks, one per host is plenty."""
    return len(os.sched_getaffinity(0)) if role == "api" else 1


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    processes = args.processes if args.processes is not None else default_processes(args.role)
    if processes < 1:
        print("configuration error: --processes must be at least 1", file=sys.stderr)
        return 2
    if processes > 1 and not args.child:
        from coinvoice.web.supervisor import Supervisor, child_command

        asyncio.run(_migrate(settings))  # once, before the children start (they skip it)
        return Supervisor(child_command(args.role), processes, args.role).run()
    if args.child:  # stopped while still starting: nothing in flight yet, a clean exit (serve() takes over later)
        signal.signal(signal.SIGTERM, _exit_cleanly)
    from coinvoice.app import create_app

    try:
        app = create_app(settings, role=args.role, dsn=database_url(settings), run_migrations=not args.child)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from coinvoice.web.server import serve

    asyncio.run(serve(app, settings.host, settings.port, reuse_port=args.child, access_log=settings.access_log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
