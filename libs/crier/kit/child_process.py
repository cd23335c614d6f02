"""Child processes that die with their parent, and whose output goes to a file or a reader.

Used by the embedded servers and by `crier up`'s supervisor.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1
# Where a server's stderr goes when it is not its own log file: a reader of the pipe.
Output = Callable[[IO[bytes]], None]


def die_with_parent(sig: signal.Signals) -> Callable[[], None]:
    """A `preexec_fn` asking Linux to send `sig` to the child when its parent dies.

    Linux sends it when the *thread* that forked the child exits, not the process: only for
    children started from a thread that lives as long as the parent (a main loop), never from
    a helper thread. It runs after `subprocess` switched user and group (a credential change
    clears the setting), and it checks the parent is still there: it may have died before."""
    if sys.platform != "linux":
        return lambda: None
    parent = os.getpid()
    # Looked up before the fork: a forked child of a threaded parent should not load libraries.
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return preexec


def spawn(
    args: list[str], log_path: Path, output: Output | None, death_signal: signal.Signals | None, **popen: Any
) -> subprocess.Popen[bytes]:
    """A server process writing its stderr to `log_path`, or to `output` when given."""
    preexec = die_with_parent(death_signal) if death_signal is not None else None
    if output is not None:
        proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=preexec, **popen
        )
        assert proc.stderr is not None
        output(proc.stderr)
        return proc
    with open(log_path, "ab") as log:  # the child has its own copy of the handle
        return subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, preexec_fn=preexec, **popen
        )
