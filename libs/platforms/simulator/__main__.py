"""`python -m platforms.simulator [--host H] [--port N]`"""

from __future__ import annotations

import argparse


def serve(host: str, port: int) -> None:
    import uvicorn

    from platforms.simulator import create_app

    print(f"platform simulator on http://{host}:{port} (control API under /_sim)", flush=True)
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m platforms.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
