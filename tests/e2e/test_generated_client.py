"""An SDK generated from the running gateway's OpenAPI document drives the stack: openapi-python-client
generates a client (offline, from the document alone) without a warning, and the client's own
functions create a key, a sandbox account and a post (and replay its create), then poll the post until
it is published."""

from __future__ import annotations

import importlib
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.support.stack import Stack, wait_for

PACKAGE = "crier_client"


@pytest.fixture(scope="module")
def sdk(shared_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("sdk")
    spec = root / "openapi.json"
    spec.write_bytes(httpx.get(f"{shared_stack.api_url}/api/v1/openapi.json").raise_for_status().content)
    # No post hooks: the generator would run ruff over its output, which takes time and proves nothing here.
    config = root / "config.json"
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    out = root / PACKAGE
    command = ["generate", "--path", str(spec), "--output-path", str(out), "--meta", "none", "--config", str(config)]
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", *command], capture_output=True, text=True, timeout=60
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    # A warning means an operation, a response or a model was left out of the SDK.
    assert "warning" not in report.lower(), report
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _op(tag: str, operation: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")


def _model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_the_generated_client_creates_a_key_an_account_and_a_post_and_sees_it_published(
    sdk: ModuleType, shared_stack: Stack
) -> None:
    org = shared_stack.new_org()
    admin = sdk.AuthenticatedClient(base_url=shared_stack.api_url, token=org.live_key, raise_on_unexpected_status=True)

    created = _op("api_keys", "create_api_key").sync_detailed(
        client=admin,
        body=_model("ApiKeyCreate").from_dict(
            {"name": "sdk", "mode": "test", "scopes": ["view", "publish", "connect"]}
        ),
    )
    assert created.status_code == 201 and isinstance(created.parsed, _model("ApiKeyCreated")), created.content
    key = created.parsed
    assert key.key.startswith("sk_test_") and list(key.scopes) == ["view", "publish", "connect"]
    client = sdk.AuthenticatedClient(base_url=shared_stack.api_url, token=key.key, raise_on_unexpected_status=True)

    # The new key holds no admin scope: the SDK parses the refusal into the API's error shape.
    refused = _op("api_keys", "create_api_key").sync_detailed(
        client=client, body=_model("ApiKeyCreate").from_dict({"name": "x", "mode": "test", "scopes": ["view"]})
    )
    assert refused.status_code == 403 and isinstance(refused.parsed, _model("ErrorBody"))
    assert refused.parsed.error.code == "insufficient_scope"

    account = _op("sandbox", "create_sandbox_account").sync(
        client=client,
        body=_model("SandboxAccountCreate").from_dict({"platform": "x", "username": f"sdk{secrets.token_hex(3)}"}),
    )
    assert isinstance(account, _model("SocialAccount")) and account.id, account

    create_post = _op("posts", "create_post")
    body = _model("PostCreate").from_dict({"accounts": [account.id], "content": "Hello from a generated SDK"})
    idempotency_key = secrets.token_hex(8)
    post = create_post.sync(client=client, body=body, idempotency_key=idempotency_key)
    assert isinstance(post, _model("Post")), post
    assert list(post.accounts) == [account.id]
    # A retried create answers 200 with the same post, and the SDK knows that answer too.
    replay = create_post.sync_detailed(client=client, body=body, idempotency_key=idempotency_key)
    assert replay.status_code == 200 and isinstance(replay.parsed, _model("Post")) and replay.parsed.id == post.id

    get_post = _op("posts", "get_post")

    def published() -> Any:
        current = get_post.sync(post.id, client=client)
        assert isinstance(current, _model("Post")) and current.status not in ("failed", "partial", "canceled"), current
        return current if current.status == "published" else None

    done = wait_for(published, timeout=30, what=f"post {post.id} published")
    [target] = done.targets
    assert target.social_account_id == account.id and target.status == "published", target
    assert done.published_at is not None
