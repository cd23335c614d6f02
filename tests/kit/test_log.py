from __future__ import annotations

import json

import pytest

from crier.kit import log


def test_log_lines_are_json_with_service_and_no_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    log.configure("unit", "info")
    log.get("t").info(
        "request.done",
        authorization="Bearer sk_live_abcdefghijklmnop",
        client_secret="s3cret",
        note="used key sk_test_0123456789abcdef and whsec_abcdefabcdef",
        path="/api/v1/posts",
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["service"] == "unit" and record["event"] == "request.done"
    assert record["path"] == "/api/v1/posts"
    assert record["authorization"] == "[redacted]" and record["client_secret"] == "[redacted]"
    assert "0123456789abcdef" not in line and "abcdefabcdef" not in line and "s3cret" not in line
