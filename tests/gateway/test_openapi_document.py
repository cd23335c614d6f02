"""The API document a client generates its SDK from, as the running gateway serves it: every
value set is an enum, everything is described, every operation has an example."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema
import msgspec
import pytest

from crier.contracts import common as contract_common
from crier.contracts import events as evt
from crier.contracts.common import PLATFORMS, POST_STATUSES, TARGET_STATUSES
from crier.contracts.webhooks import EVENT_TYPES
from crier.gateway.domain.api_key import SCOPES
from crier.webhooks.domain import catalog
from tests.gateway.conftest import Gateway, Org

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def doc(gateway: Gateway) -> dict[str, Any]:
    r = httpx.get(f"{gateway.api_url}/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def enum_of(doc: dict[str, Any], prop: dict[str, Any]) -> list[str] | None:
    """The value set of a property, wherever it sits (itself, a named enum, its items, an optional's
    branch)."""
    if "$ref" in prop:
        return enum_of(doc, doc["components"]["schemas"][prop["$ref"].rpartition("/")[2]])
    if "enum" in prop:
        return list(prop["enum"])
    if "items" in prop:
        return enum_of(doc, prop["items"])
    for branch in prop.get("oneOf", []) + prop.get("anyOf", []):
        if (found := enum_of(doc, branch)) is not None:
            return found
    return None


def field(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    schema, name = ref.split(".")
    return doc["components"]["schemas"][schema]["properties"][name]


@pytest.mark.parametrize(
    ("ref", "values"),
    [
        ("Post.status", POST_STATUSES),
        ("Target.status", TARGET_STATUSES),
        ("Target.platform", PLATFORMS),
        ("SocialAccount.platform", PLATFORMS),
        ("ConnectSessionCreate.platform", PLATFORMS),
        ("SandboxAccountCreate.platform", PLATFORMS),
        ("SocialNetworkUpsert.platform", PLATFORMS),
        ("PostCreate.platforms", PLATFORMS),
        ("ApiKeyCreate.scopes", SCOPES),
        ("ApiKey.scopes", SCOPES),
        ("WebhookCreate.events", (*EVENT_TYPES, "*")),
        ("WebhookUpdate.events", (*EVENT_TYPES, "*")),
        ("Endpoint.events", (*EVENT_TYPES, "*")),
        ("Event.type", (*EVENT_TYPES, "ping")),
        ("Delivery.event_type", (*EVENT_TYPES, "ping")),
        ("Delivery.status", ("pending", "retrying", "delivered", "failed")),
        ("SocialAccount.status", ("active", "disabled", "token_expired")),
    ],
)
def test_value_sets_are_enums(doc: dict[str, Any], ref: str, values: tuple[str, ...]) -> None:
    assert enum_of(doc, field(doc, ref)) == list(values)


def test_filters_with_a_value_set_are_enums(doc: dict[str, Any]) -> None:
    def param(path: str, name: str) -> dict[str, Any]:
        return next(p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name)

    assert enum_of(doc, param("/api/v1/posts", "status")["schema"]) == list(POST_STATUSES)
    assert enum_of(doc, param("/api/v1/posts", "platform")["schema"]) == list(PLATFORMS)
    assert enum_of(doc, param("/api/v1/events", "type")["schema"]) == list(EVENT_TYPES)


def test_each_value_set_is_one_named_enum(doc: dict[str, Any]) -> None:
    """A generated client gets one `Platform`, one `PostStatus`: no field repeats a set inline."""
    schemas = doc["components"]["schemas"]
    assert schemas["Platform"]["enum"] == list(PLATFORMS)
    assert schemas["PostStatus"]["enum"] == list(POST_STATUSES)
    assert field(doc, "Target.platform")["$ref"] == "#/components/schemas/Platform"
    inline = re.findall(r'"enum": (\[[^\]]*\])', json.dumps({"paths": doc["paths"], "webhooks": doc["webhooks"]}))
    assert [values for values in inline if len(json.loads(values)) > 1] == []


def test_everything_is_described(doc: dict[str, Any]) -> None:
    missing = []
    for name, schema in doc["components"]["schemas"].items():
        if not schema.get("description"):
            missing.append(name)
        missing += [f"{name}.{f}" for f, p in (schema.get("properties") or {}).items() if not p.get("description")]
    for method, path, op in operations(doc):
        missing += [f"{method} {path} {w}" for w in ("summary", "description") if not op.get(w)]
        missing += [f"{method} {path} {p['name']}" for p in op.get("parameters", []) if not p.get("description")]
    assert missing == []


# Operations whose answer is not a JSON document of ours: a redirect to the client's app, the
# media's own bytes, and the client metadata document whose shape atproto defines.
NO_JSON_ANSWER = {"oauthCallback", "getMediaContent", "getBlueskyClientMetadata"}


def example_of(content: dict[str, Any]) -> Any:
    found = content.get("examples") or {}
    assert len(found) == 1, content
    return next(iter(found.values()))["value"]


def check(doc: dict[str, Any], schema: dict[str, Any], value: Any) -> None:
    """`value` against `schema`, its references resolved inside the document (OpenAPI 3.1 schemas
    are JSON Schema 2020-12)."""
    jsonschema.Draft202012Validator({**schema, "components": doc["components"]}).validate(value)


def test_every_operation_has_examples_that_fit_its_schemas(doc: dict[str, Any]) -> None:
    missing = []
    for method, path, op in operations(doc):
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            if not body.get("examples"):
                missing.append(f"{method} {path} request")
            else:
                check(doc, body["schema"], example_of(body))
        if op["operationId"] in NO_JSON_ANSWER:
            continue
        code = min(c for c in op["responses"] if c.startswith("2"))
        answer = op["responses"][code]["content"]["application/json"]
        if not answer.get("examples"):
            missing.append(f"{method} {path} {code}")
        else:
            check(doc, answer["schema"], example_of(answer))
    assert missing == []


def test_the_create_example_is_accepted_as_written(gateway: Gateway, sandbox: Org, doc: dict[str, Any]) -> None:
    """The create example is the one a reader copies first: with its account ids replaced by real
    ones it makes the post it shows."""
    body = example_of(doc["paths"]["/api/v1/posts"]["post"]["requestBody"]["content"]["application/json"])
    shown = example_of(doc["paths"]["/api/v1/posts"]["post"]["responses"]["201"]["content"]["application/json"])
    with sandbox.test() as c:
        ids = [sandbox.accounts["linkedin"], sandbox.accounts["x"]]
        swap = dict(zip(body["accounts"], ids, strict=True))
        body = {
            **body,
            "accounts": ids,
            "scheduled_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
            "external_ref": f"example-{uuid.uuid4()}",
            "targets": [{**t, "account_id": swap[t["account_id"]]} for t in body["targets"]],
        }
        r = c.post("/posts", json=body)
        assert r.status_code == 201, r.text
        made = r.json()
    assert made["status"] == shown["status"] == "scheduled"
    assert sorted(made) == sorted(shown)
    assert sorted(t["platform"] for t in made["targets"]) == sorted(t["platform"] for t in shown["targets"])


def _catalog_bodies() -> list[dict[str, Any]]:
    """One body of every kind the webhooks service's catalog makes, from internal events."""
    env = {"occurred_at": datetime(2026, 6, 9, 10, tzinfo=UTC), "org_id": "org", "mode": "test"}
    spec = evt.TargetSpec(target_id="t1", account_id="a1", platform="x", tenant_id="user_42")
    known = catalog.KnownTarget("t1", "a1", "user_42")
    container = contract_common.Container(content="hello")
    failure = {
        "post_id": "p1",
        "target_id": "t1",
        "platform": "x",
        "attempt": 2,
        "error_code": "e",
        "error_message": "m",
    }
    cases: list[tuple[str, Any]] = [
        (
            "evt.post.created",
            evt.PostCreated(
                id="1", **env, post_id="p1", containers=[container], targets=[spec], scheduled_at=env["occurred_at"]
            ),
        ),
        (
            "evt.post.updated",
            evt.PostUpdated(
                id="2",
                **env,
                post_id="p1",
                version=2,
                status="scheduled",
                containers=[container],
                targets=[spec],
                removed_target_ids=["t0"],
                scheduled_at=env["occurred_at"],
                external_ref="ref",
            ),
        ),
        (
            "evt.target.published",
            evt.TargetPublished(
                id="3",
                **env,
                post_id="p1",
                target_id="t1",
                platform="x",
                attempt=1,
                platform_post_id="9",
                notes=["image re-encoded"],
            ),
        ),
        ("evt.target.attempt_failed", evt.TargetAttemptFailed(id="4", **env, **failure, retry_in_seconds=30.0)),
        ("evt.target.dead_lettered", evt.TargetDeadLettered(id="5", **env, **failure)),
        (
            "evt.post.status_changed",
            evt.PostStatusChanged(id="6", **env, post_id="p1", status="partial", previous_status="publishing"),
        ),
        (
            "evt.account.connected",
            evt.AccountConnected(
                id="7",
                **env,
                account_id="a1",
                platform="x",
                username="jane",
                network_unique_id="42",
                updated_at=env["occurred_at"],
            ),
        ),
        (
            "evt.account.token_expired",
            evt.AccountTokenExpired(id="8", **env, account_id="a1", platform="x", updated_at=env["occurred_at"]),
        ),
        ("evt.import.completed", {"id": "9", **env, "account_id": "a1", "import_id": "i1", "imported": 3}),
    ]
    bodies = [msgspec.json.decode(e.body()) for s, m in cases for e in catalog.translate(s, m, known)]
    return [*bodies, msgspec.json.decode(catalog.ping("w1", env["occurred_at"]).body())]


def test_the_webhooks_section_types_what_the_catalog_sends(doc: dict[str, Any]) -> None:
    webhooks = doc["webhooks"]
    assert set(webhooks) == {*EVENT_TYPES, "ping"}
    for entry in webhooks.values():
        headers = {p["name"] for p in entry["post"]["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    bodies = _catalog_bodies()
    seen = {b["type"] for b in bodies}
    assert {"post.scheduled", "post.updated", "post.published", "post.error", "target.dead_lettered"} <= seen
    for body in bodies:
        schema = webhooks[body["type"]]["post"]["requestBody"]["content"]["application/json"]["schema"]
        check(doc, schema, body)
    # A payload that strays from its type's shape is caught, not waved through.
    published = next(b for b in bodies if b["type"] == "post.published")
    with pytest.raises(jsonschema.ValidationError):
        check(doc, webhooks["post.error"]["post"]["requestBody"]["content"]["application/json"]["schema"], published)


PUBLIC = {"healthz", "readyz", "oauthCallback", "getBlueskyClientMetadata", "getMediaContent"}


def test_rate_limits_are_documented_on_every_operation_a_key_calls(doc: dict[str, Any]) -> None:
    assert set(doc["components"]["headers"]) == {
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "Retry-After",
    }
    for method, path, op in operations(doc):
        if op["operationId"] in PUBLIC:
            assert op["security"] == [], (method, path)
            assert "429" not in op["responses"]
            continue
        refused = op["responses"]["429"]
        assert "rate_limited" in refused["description"]
        assert set(refused["headers"]) >= {"Retry-After", "RateLimit-Limit"}
        assert refused["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        for code, answer in op["responses"].items():
            assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(answer["headers"]), (path, code)
        assert "unknown_query_parameter" in op["responses"]["400"]["description"], (method, path)


def test_an_idempotent_replay_is_the_documented_200(doc: dict[str, Any], sandbox: Org) -> None:
    create = doc["paths"]["/api/v1/posts"]["post"]
    key = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert key["in"] == "header" and "200" in key["description"]
    replay = create["responses"]["200"]
    assert replay["content"] == create["responses"]["201"]["content"]
    body = {"accounts": [sandbox.accounts["x"]], "content": "once", "is_draft": True}
    with sandbox.test() as c:
        first = c.post("/posts", json=body, headers={"Idempotency-Key": f"k-{uuid.uuid4()}"})
        again = c.post("/posts", json=body, headers={"Idempotency-Key": first.request.headers["Idempotency-Key"]})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    check(doc, replay["content"]["application/json"]["schema"], again.json())
    assert all(h in again.headers for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"))


def test_camel_case_names_are_aliases_not_schemas(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    camel = [
        f"{name}.{f}" for name, s in schemas.items() for f in s.get("properties") or {} if re.search("[a-z][A-Z]", f)
    ]
    assert camel == []
    assert not [name for name in schemas if name.endswith("Camel")]
    assert "`selectedPageIds`" in schemas["Finalize"]["properties"]["selected_page_ids"]["description"]
    assert "`availablePages`" in schemas["PendingSession"]["properties"]["available_pages"]["description"]
    assert "`connectedAccounts`" in schemas["Finalized"]["properties"]["connected_accounts"]["description"]


def test_the_documented_refusals_are_what_the_gateway_answers(
    gateway: Gateway, sandbox: Org, doc: dict[str, Any]
) -> None:
    responses = doc["paths"]["/api/v1/posts"]["get"]["responses"]
    shown = example_of(responses["400"]["content"]["application/json"])["error"]
    with sandbox.test() as c:
        r = c.get("/posts", params={"externalUserId": "user_42"})
    answered = r.json()["error"]
    assert r.status_code == 400
    assert {k: v for k, v in answered.items() if k != "request_id"} == {
        k: v for k, v in shown.items() if k != "request_id"
    }
    limited = example_of(responses["429"]["content"]["application/json"])["error"]
    assert limited["code"] == "rate_limited" and set(limited["details"]) == {"limit", "retry_after_s"}
