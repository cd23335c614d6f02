"""`crier` command-line entry point."""

from __future__ import annotations

import argparse
import sys

from crier.cli.services import SERVICES


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crier", description="Crier social publishing API")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole stack on this machine")
    up.add_argument("--data-dir", default="./.crier", help="where embedded servers keep their data (default ./.crier)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8080)
    up.add_argument("--platform", default="all", help="publisher platforms for the one publisher process")

    serve = sub.add_parser("serve", help="run one service (what a container runs)")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--platform", default=None, help="publisher only: one platform, or 'all'")

    sim = sub.add_parser("simulator", help="run the platform simulator (every platform's API, for tests and demos)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=9999)

    sub.add_parser("migrate", help="run every service's migrations against CRIER_DATABASE_URL")
    sub.add_parser("rebuild-projections", help="rebuild the gateway's post projections from post_events")

    org = sub.add_parser("org", help="organizations").add_subparsers(dest="org_command", required=True)
    org_create = org.add_parser("create")
    org_create.add_argument("name")

    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    keys_create = keys.add_parser("create")
    keys_create.add_argument("--org", required=True, help="organization id or name")
    keys_create.add_argument("--name", default="cli")
    keys_create.add_argument("--test", action="store_true", help="a sk_test_ key (sandbox data only)")
    keys_create.add_argument("--scope", action="append", dest="scopes", help="repeatable; default: every scope")
    return p


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "up":
        from crier.cli.up import up

        sys.exit(up(args.data_dir, args.host, args.port, args.platform))
    if args.command == "simulator":
        from crier.platforms.simulator.server import serve as serve_simulator

        serve_simulator(args.host, args.port)
        return
    if args.command == "serve":
        from crier.cli.services import serve

        sys.exit(serve(args.service, args.platform))

    from crier.kit.settings import CommonSettings, load

    settings = load(CommonSettings)
    if args.command == "migrate":
        from crier.cli.services import migrate_all

        migrate_all(settings.database_url)
        print("migrations applied")
    elif args.command == "rebuild-projections":
        from crier.gateway.entrypoints import admin

        count = admin.rebuild_projections(settings.database_url)
        print(f"rebuilt projections of {count} posts")
    elif args.command == "org":
        from crier.gateway.entrypoints import admin

        org = admin.create_org(settings.database_url, args.name)
        print(f"{org['id']}\t{org['name']}")
    elif args.command == "keys":
        from crier.gateway.entrypoints import admin

        key = admin.create_api_key(
            settings.database_url,
            org=args.org,
            name=args.name,
            mode="test" if args.test else "live",
            scopes=args.scopes,
        )
        print(key["key"])
