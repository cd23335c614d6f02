"""`python -m crier.platforms.simulator [--host H] [--port N]`: the platform simulator in the foreground."""

from __future__ import annotations

import argparse

from crier.platforms.simulator.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crier.platforms.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
