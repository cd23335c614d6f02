"""`crier` command-line entry point."""

from __future__ import annotations

import argparse
import sys

from crier.cli.services import SERVICES
from crier.kit.settings import CommonSettings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crier", description="Crier social publishing API")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole stack on this machine")
    up.add_argument("--data-dir", default="./.crier", help="where embedded servers keep their data (default ./.crier)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8080)
    up.add_argument("--platform", default="all", help="publisher platforms for the one publisher process")
    up.add_argument(
        "--gateway-processes",
        type=_at_least_one,
        default=1,
        help="gateway processes serving the API's port together, e.g. one per core (default 1)",
    )

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
    keys_create.add_argument("--rate-limit", type=int, default=None, help="requests per minute for this key")
    keys_limit = keys.add_parser("rate-limit", help="a key's own requests-per-minute limit")
    keys_limit.add_argument("key_id")
    keys_limit.add_argument("per_minute", help="a number, or 'default' for CRIER_API_RATE_LIMIT")

    dead = sub.add_parser("dead-letters", help="targets that failed their last attempt (the DEAD stream)")
    dead_sub = dead.add_subparsers(dest="dead_command", required=True)
    for name, what in (
        ("list", "the targets that are dead now, newest first (tab-separated)"),
        ("redrive", "send every listed target out again, with a fresh attempt count"),
    ):
        cmd = dead_sub.add_parser(name, help=what)
        cmd.add_argument("--platform", default=None, help="only this platform's targets")
        cmd.add_argument("--since", default=None, help="only deaths since: a duration (90s, 15m, 6h, 7d) or ISO time")
    return p


def _at_least_one(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "up":
        from crier.cli.up import up

        sys.exit(up(args.data_dir, args.host, args.port, args.platform, args.gateway_processes))
    if args.command == "simulator":
        from crier.platforms.simulator.server import serve as serve_simulator

        serve_simulator(args.host, args.port)
        return
    if args.command == "serve":
        from crier.cli.services import serve

        sys.exit(serve(args.service, args.platform))

    from crier.kit.settings import load

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
    elif args.command == "dead-letters":
        sys.exit(_dead_letters(settings, args))
    elif args.command == "keys" and args.keys_command == "rate-limit":
        from crier.gateway.entrypoints import admin

        per_minute = None if args.per_minute == "default" else int(args.per_minute)
        admin.set_rate_limit(settings.database_url, args.key_id, per_minute)
        print(f"{args.key_id}\t{per_minute or 'default'}")
    elif args.command == "keys":
        from crier.gateway.entrypoints import admin

        key = admin.create_api_key(
            settings.database_url,
            org=args.org,
            name=args.name,
            mode="test" if args.test else "live",
            scopes=args.scopes,
        )
        if args.rate_limit is not None:
            admin.set_rate_limit(settings.database_url, key["id"], args.rate_limit)
        print(key["key"])


def _dead_letters(settings: CommonSettings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from crier.cli import dead_letters as dl
    from crier.contracts.common import PLATFORMS
    from crier.kit.log import configure

    # Stdout is the answer; what the bus client logs on the way goes to stderr.
    configure("cli", settings.log_level)

    if args.platform is not None and args.platform not in PLATFORMS:
        print(f"crier dead-letters: unknown platform {args.platform!r}", file=sys.stderr)
        return 2
    try:
        since = None if args.since is None else dl.since_moment(args.since, datetime.now(UTC))
    except ValueError as exc:
        print(f"crier dead-letters: {exc}", file=sys.stderr)
        return 2
    letters = dl.dead_letters(settings, platform=args.platform, since=since)
    if args.dead_command == "list":
        print("\t".join(dl.COLUMNS))
        for letter in letters:
            print(letter.row())
        return 0
    redriven = 0
    for letter, outcome in dl.redrive(settings, letters):
        redriven += outcome.startswith("redriven")
        print(f"{outcome}\t{letter.post_id}\t{letter.target_id}\t{letter.platform}")
    print(f"redrove {redriven} of {len(letters)} dead targets")
    return 0
