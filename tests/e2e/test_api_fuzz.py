"""Schemathesis fuzzes every operation of the published OpenAPI document: whatever it sends, the
API answers without a server error. Bounded (examples per operation, a fixed seed), loopback only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.stack import Stack


def test_no_generated_request_gets_a_server_error(shared_stack: Stack) -> None:
    org = shared_stack.new_org("fuzz")
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{shared_stack.api_url}/api/v1/openapi.json",
            "-H",
            f"Authorization: Bearer {org.test_key}",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            "20",
            "--seed",
            "20261125",
            "--request-timeout",
            "10",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:] + shared_stack.logs()[-4000:]
    assert "passed" in result.stdout
