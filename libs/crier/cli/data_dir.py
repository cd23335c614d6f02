"""What `crier up` keeps in its data directory about itself, besides the servers' data.

- `up.lock`, held (flock) while a `crier up` runs there: a second one refuses to start. The
  kernel releases it when the holder dies, however it dies; the children never inherit it.
- `processes.json`, rewritten atomically at start and after every restart: the pids of
  everything `crier up` runs, for operators and the fault suite.
- Leftovers: the children of a `crier up` that was killed get a parent-death signal and exit,
  but may still be on their way out (or, from a version without that signal, still running)
  when the next `crier up` starts; it waits for them, then ends them.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

LEFTOVER_GRACE_S = 15.0


class DataDirInUse(Exception):
    pass


def hold_lock(root: Path) -> IO[str]:
    """The lock of `root`, held as long as the returned file stays open."""
    lock = open(root / "up.lock", "a+")  # noqa: SIM115 - held for the life of `crier up`
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise DataDirInUse(f"crier up: {root} is in use by another crier up (pid {holder})") from None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def write_processes(root: Path, state: dict[str, Any]) -> None:
    temporary = root / "processes.json.tmp"
    temporary.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(temporary, root / "processes.json")


def _is_ours(pid: int, root: Path) -> bool:
    """Whether `pid` still runs something of a `crier up` (not a pid reused since)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"crier.cli\0serve\0" in cmdline or str(root).encode() in cmdline


def end_leftovers(root: Path, say: Callable[[str], None] = print) -> None:
    """Wait for the processes the previous `crier up` of `root` left, then end the stubborn."""
    try:
        previous = json.loads((root / "processes.json").read_text())
    except (OSError, ValueError):
        return
    stop_with = {pid: signal.SIGKILL for pid in previous.get("services", {}).values()}
    if previous.get("nats"):
        stop_with[previous["nats"]["pid"]] = signal.SIGKILL
    if previous.get("postgres"):
        stop_with[previous["postgres"]["pid"]] = signal.SIGINT  # fast shutdown: its data stays sound
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    while (alive := [pid for pid in stop_with if _is_ours(pid, root)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:
        say(f"ending pid {pid}, left running by the previous crier up of {root}")
        try:
            os.kill(pid, stop_with[pid])
        except ProcessLookupError:
            pass
