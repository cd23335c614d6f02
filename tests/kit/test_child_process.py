"""A child started with `die_with_parent` dies when its parent is SIGKILLed, also when it runs as
another user (a credential change clears the parent-death signal unless it is set afterwards)."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.crier_up import is_gone
from tests.support.stack import wait_for

PARENT = """
import os, pwd, signal, subprocess, sys
from crier.kit.child_process import die_with_parent
as_user = {"user": pwd.getpwnam("nobody").pw_uid, "group": pwd.getpwnam("nobody").pw_gid} if os.geteuid() == 0 else {}
child = subprocess.Popen(["sleep", "120"], preexec_fn=die_with_parent(signal.SIGTERM), **as_user)
print(child.pid, flush=True)
signal.pause()
"""


@pytest.mark.skipif(sys.platform != "linux", reason="a Linux feature")
def test_a_child_dies_with_its_killed_parent_even_as_another_user() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        if os.geteuid() == 0:
            assert Path(f"/proc/{child}").stat().st_uid == pwd.getpwnam("nobody").pw_uid
        parent.kill()
        parent.wait()
        wait_for(lambda: is_gone(child), timeout=10, what="the child to die with its parent")
    finally:
        if not is_gone(child):
            os.kill(child, signal.SIGKILL)
