"""Schemathesis runs over every operation of the published OpenAPI document, and every method a
path does not serve, with schema-valid and schema-violating data and all of its checks: no server
error, every status and body as documented, invalid data refused with a 4xx, valid data not refused
by the edge, 405 with `Allow`, `OPTIONS` listing what the document lists, auth enforced, one
organization's objects out of another's reach. The exceptions, each with its reason, are in
schemathesis.toml. Bounded (examples per operation, a fixed seed), loopback only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import create_post, sandbox_accounts
from tests.support.stack import Stack

CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_every_operation_answers_generated_requests_as_documented(shared_stack: Stack, tmp_path: Path) -> None:
    first, second = shared_stack.new_org("fuzz"), shared_stack.new_org("fuzz-peer")
    with first.test() as client:
        # Something for the lists to show, so their answers are checked against their schemas
        # with real items in them (and one organization has objects the other must not reach).
        [account] = sandbox_accounts(client, ["x"])
        create_post(client, content="a draft to fuzz", accounts=[account["id"]], is_draft=True)
        hook = client.post("/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]})
        assert hook.status_code == 201, hook.text
    keys = tmp_path / "keys.json"
    keys.write_text(
        json.dumps(
            {
                "auth": [
                    {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {org.test_key}"}]}
                    for name, org in (("first-org", first), ("second-org", second))
                ]
            }
        )
    )
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "--config-file",
            str(CONFIG),
            "run",
            f"{shared_stack.api_url}/api/v1/openapi.json",
            # Every check is on unless schemathesis.toml says otherwise (`--checks` here would
            # override the file's per-operation settings).
            "--mode",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "5",
            "--seed",
            "20261125",
            "--request-timeout",
            "10",
            "--workers",
            "2",
            "--continue-on-failure",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CRIER_FUZZ_KEYS": str(keys)},
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:] + shared_stack.logs()[-4000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert generated and generated[1] == generated[2], result.stdout[-3000:]
    assert re.search(r"Operations:\s+(\d+) selected / \1 total", result.stdout), result.stdout[:1000]
