from __future__ import annotations

import asyncio
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


async def test_bound_fields_nest_stay_in_their_block_and_task_and_yield_to_a_lines_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log.configure("unit", "info")
    logger = log.get("t")

    async def other_task() -> None:
        logger.info("other")

    with log.bound(post_id="post_1", platform="x"):
        with log.bound(target_id="tgt_1", platform="bluesky"):
            logger.info("inner")
            await asyncio.create_task(other_task())  # a task made here sees the fields too
        logger.info("outer", post_id="post_own")
    logger.info("after")
    inner, other, outer, after = (json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-4:])
    assert (inner["post_id"], inner["target_id"], inner["platform"]) == ("post_1", "tgt_1", "bluesky")
    assert other["target_id"] == "tgt_1"
    assert (outer["post_id"], outer["platform"]) == ("post_own", "x") and "target_id" not in outer
    assert not {"post_id", "target_id", "platform"} & after.keys()
