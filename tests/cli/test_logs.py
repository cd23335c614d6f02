"""The logs of `crier up`'s children rotate by size, and a crash traceback still reaches them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crier.cli.logs import RotatingLog

CHATTY_THEN_CRASHING = """
for i in range(200):
    print(f"line {i:04d} " + "x" * 40, flush=True)
1 / 0
"""


def test_a_childs_output_rotates_by_size_and_its_crash_traceback_is_kept(tmp_path: Path) -> None:
    log = RotatingLog(tmp_path / "publisher.log", max_bytes=1000, backups=2)
    child = subprocess.Popen(
        [sys.executable, "-c", CHATTY_THEN_CRASHING], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    log.follow(child.stdout)
    assert child.wait() == 1
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["publisher.log", "publisher.log.1", "publisher.log.2"]
    assert all((tmp_path / name).stat().st_size <= 1000 for name in files)
    newest = (tmp_path / "publisher.log.1").read_text() + (tmp_path / "publisher.log").read_text()
    assert newest.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "Traceback (most recent call last):" in newest
    assert "line 0199 " in newest
