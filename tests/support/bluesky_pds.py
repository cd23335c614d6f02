"""The reference Bluesky PDS for tests: installed once into a cache by `../shared/bluesky-pds/recipe.sh`.

Installing it from nothing takes about 100 s (npm, then compiling better-sqlite3), longer than any
test. So when a run selects the PDS test and the cache is empty, `start_install_in_background` begins
the install (niced, its own process group, output to a log) as the session starts, the PDS test is
moved to the end of the run, and by then `install()` mostly finds the work done: it waits on the same
file lock the background install holds. `python -m tests.support.bluesky_pds` runs the install alone.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

RECIPE = Path(
    os.environ.get("CRIER_TEST_BLUESKY_PDS_RECIPE")
    or Path(__file__).resolve().parents[3] / "shared" / "bluesky-pds" / "recipe.sh"
)
CACHE = Path(os.environ.get("CRIER_TEST_BLUESKY_PDS_CACHE") or Path.home() / ".cache" / "crier" / "bluesky-pds")
INSTALL_TIMEOUT_S = 900


class InstallFailed(Exception):
    """Why the PDS could not be installed (the test skips with it)."""


def installed(root: Path = CACHE) -> bool:
    app = root / "app" / "node_modules"
    return (
        (root / "bin" / "node").exists()
        and (app / "@atproto" / "pds" / "package.json").exists()
        and (app / "better-sqlite3" / "build" / "Release" / "better_sqlite3.node").exists()
    )


def recipe(root: Path, command: str, timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(RECIPE), command],
        env={**os.environ, "ROOT": str(root), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def install() -> None:
    """Node and the servers in the shared cache, once; a concurrent install (another run, or the
    background one) is waited for rather than repeated."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE.parent / f"{CACHE.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed():
            return
        try:
            done = recipe(CACHE, "install", INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired as late:
            raise InstallFailed(f"installing the reference PDS took more than {INSTALL_TIMEOUT_S} s") from late
        if done.returncode != 0 or not installed():
            raise InstallFailed(f"the reference PDS could not be installed: {(done.stdout + done.stderr)[-1500:]}")


def start_install_in_background() -> subprocess.Popen[bytes] | None:
    """The install begun in its own process when it is needed; None when there is nothing to do."""
    if not RECIPE.is_file() or installed():
        return None
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    log = (CACHE.parent / f"{CACHE.name}.install.log").open("wb")
    # Its own session so that stopping it takes npm and the compiler with it, and no inherited
    # stdout: whatever reads the test run's output must not wait on the install.
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.bluesky_pds"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def stop_background_install(process: subprocess.Popen[bytes] | None) -> None:
    """At the end of the run: an install still going (the PDS test was not reached) is stopped; the
    recipe picks up where it was left next time."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    try:
        install()
    except InstallFailed as failed:
        print(failed, file=sys.stderr)
        sys.exit(1)
