"""Examples for the API document: one object per schema an operation answers with (a list's page is
built from its item), and the request body of each operation that takes one. They follow the
seeds' walkthroughs (a LinkedIn and an X account of end user `user_42`, a launch announcement
scheduled ahead) in Crier's own names."""

from __future__ import annotations

from typing import Any

POST_ID = "3f9c1e0a-5b7d-4c2e-9a61-0d8e2f4b7c13"
LINKEDIN = "a1b2c3d4-0000-4000-8000-000000000001"
X = "a1b2c3d4-0000-4000-8000-000000000002"
AT = "2026-06-09T10:00:00Z"
CREATED = "2026-06-01T08:30:00Z"
TEXT = "We just shipped scheduled threads. Read the changelog: https://example.com/changelog"


def _target(target_id: str, account: str, platform: str) -> dict[str, Any]:
    return {
        "id": target_id,
        "social_account_id": account,
        "platform": platform,
        "status": "pending",
        "platform_post_id": None,
        "platform_post_url": None,
        "error_code": None,
        "error_message": None,
        "attempts": 0,
        "published_at": None,
        "updated_at": CREATED,
        "notes": [],
    }


_ENDPOINT = {
    "id": "7d4a2b10-3c5e-4f60-8a71-92b3c4d5e6f7",
    "url": "https://hooks.example.com/crier",
    "events": ["post.published", "post.error"],
    "description": "Production listener",
    "is_active": True,
    "disabled_reason": None,
    "created_at": CREATED,
    "updated_at": CREATED,
}
_KEY = {
    "id": "5e6f7a8b-1c2d-4e3f-9a0b-1c2d3e4f5a6b",
    "name": "CI publisher",
    "mode": "test",
    "scopes": ["view", "publish"],
    "prefix": "sk_test_4Kq",
    "created_at": CREATED,
    "revoked_at": None,
}
_SESSION = {
    "id": "c0ffee00-1111-4222-8333-444455556666",
    "status": "pending",
    "platform": "linkedin",
    "tenant_id": "user_42",
    "redirect_uri": "https://app.example.com/integrations/crier/return",
    "account_ids": [],
    "error_code": None,
    "expires_at": "2026-06-01T09:00:00Z",
    "created_at": CREATED,
    "updated_at": CREATED,
}
_DISPLAY = {
    "product_name": "Acme Social",
    "logo_url": "https://app.example.com/logo.svg",
    "accent_color": "#0b7a4b",
    "support_url": "https://app.example.com/help",
}
_SLOT = {"weekday": 2, "minute_of_day": 600, "social_account_id": None}

SCHEMAS: dict[str, Any] = {
    "Health": {"status": "ready", "services": {"connect": True, "publisher": True, "webhooks": True}},
    "Post": {
        "id": POST_ID,
        "status": "scheduled",
        "content": TEXT,
        "containers": [{"content": TEXT, "media": []}],
        "accounts": [LINKEDIN, X],
        "scheduled_at": AT,
        "is_draft": False,
        "config": {},
        "external_ref": "launch-2026-06",
        "targets": [
            _target("b1000000-0000-4000-8000-000000000001", LINKEDIN, "linkedin"),
            _target("b1000000-0000-4000-8000-000000000002", X, "x"),
        ],
        "published_at": None,
        "created_at": CREATED,
        "updated_at": CREATED,
        "source": "crier",
    },
    "PostCanceled": {"id": POST_ID, "canceled": True},
    "Target": _target("b1000000-0000-4000-8000-000000000001", LINKEDIN, "linkedin"),
    "FoundSlot": {"scheduled_at": AT, "timezone": "Europe/Paris", "slot": _SLOT},
    "PostingSlots": {"slots": [_SLOT, {"weekday": None, "minute_of_day": 1020, "social_account_id": X}]},
    "Media": {
        "id": "d2e3f4a5-6b7c-4d8e-9f00-112233445566",
        "type": "image",
        "mime": "image/png",
        "bytes": 48213,
        "sha256": "9f2b5c0e7a1d3f4b6c8e0a2d4f6b8c0e1a3c5e7f9b1d3f5a7c9e1b3d5f7a9c1e",
        "width": 1200,
        "height": 630,
        "duration_s": None,
        "frame_rate": None,
        "codec": None,
        "alt_text": "The changelog's headline",
        "status": "ready",
        "failure_reason": None,
        "source_url": None,
        "created_at": CREATED,
    },
    "MediaDeleted": {"id": "d2e3f4a5-6b7c-4d8e-9f00-112233445566", "deleted": True},
    "ApiKey": _KEY,
    "ApiKeyCreated": {**_KEY, "key": "sk_test_4KqZ8vY2mN5pR7tW9xB1cD3fH6jL0"},
    "ApiKeyRevoked": {"id": _KEY["id"], "revoked": True},
    "SocialAccount": {
        "id": LINKEDIN,
        "platform": "linkedin",
        "tenant_id": "user_42",
        "social_network_id": None,
        "network_unique_id": "urn:li:person:8f7e6d5c",
        "username": "jane.doe",
        "display_name": "Jane Doe",
        "profile_image_url": None,
        "account_type": "personal",
        "status": "active",
        "scopes": ["r_basicprofile", "w_member_social"],
        "token_expires_at": "2026-07-31T08:30:00Z",
        "last_synced_at": CREATED,
        "created_at": CREATED,
        "updated_at": CREATED,
    },
    "Removed": {"id": LINKEDIN, "deleted": True},
    "AccountHealth": {
        "id": LINKEDIN,
        "network": "linkedin",
        "healthy": True,
        "status": "active",
        "error_code": None,
        "token_expires_at": "2026-07-31T08:30:00Z",
        "checked_live": True,
        "checked_at": CREATED,
    },
    "Network": {
        "id": "e4f5a6b7-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
        "platform": "linkedin",
        "display_name": "Acme LinkedIn app",
        "client_id": "86abc123def456",
        "redirect_uri": "https://crier.example.com/api/v1/connect/callback",
        "scopes": ["r_basicprofile", "w_member_social"],
        "instance_url": None,
        "created_at": CREATED,
        "updated_at": CREATED,
    },
    "Deleted": {"id": "e4f5a6b7-8c9d-4e0f-a1b2-c3d4e5f6a7b8", "deleted": True},
    "AuthUrl": {
        "auth_url": "https://www.linkedin.com/oauth/v2/authorization?response_type=code&client_id=86abc123def456",
        "expires_at": "2026-06-01T08:45:00Z",
    },
    "RedirectUri": {
        "id": "f6a7b8c9-0d1e-4f2a-b3c4-d5e6f7a8b9c0",
        "uri": "https://app.example.com/integrations/crier/return",
        "created_at": CREATED,
    },
    "PendingSession": {
        "network": "facebook",
        "tenant_id": "user_42",
        "expires_at": "2026-06-01T09:00:00Z",
        "available_pages": [
            {
                "id": "1029384756",
                "type": "page",
                "name": "Acme Bakery",
                "username": "acmebakery",
                "profile_picture_url": None,
            }
        ],
        "availablePages": [
            {
                "id": "1029384756",
                "type": "page",
                "name": "Acme Bakery",
                "username": "acmebakery",
                "profilePictureUrl": None,
            }
        ],
    },
    "OrgSettings": {"connect_display": _DISPLAY},
    "ConnectSession": _SESSION,
    "ConnectSessionCreated": {**_SESSION, "connect_url": "https://crier.example.com/connect/c0ffee00?t=q8Zr"},
    "EndUser": {
        "id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "external_user_id": "user_42",
        "display_name": "Jane Doe",
        "email": "jane@example.com",
        "metadata": {"plan": "pro"},
        "connection_summary": {"total": 2, "connected": 2, "failed": 0},
        "created_at": CREATED,
        "updated_at": CREATED,
    },
    "Disconnected": {"external_user_id": "user_42", "platform": "x", "disconnected_account_ids": [X]},
    "Endpoint": _ENDPOINT,
    "EndpointCreated": {**_ENDPOINT, "signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    "EndpointDeleted": {"id": _ENDPOINT["id"], "deleted": True},
    "SecretRotated": {
        "id": _ENDPOINT["id"],
        "signing_secret": "whsec_7Jc2n5Qx1Lb8Vt4Rz0Hw6Ym3Kp9Df2Sa",
        "previous_secret_expires_at": "2026-06-02T08:30:00Z",
    },
    "Delivery": {
        "id": "8e9f0a1b-2c3d-4e4f-a5b6-c7d8e9f0a1b2",
        "endpoint_id": _ENDPOINT["id"],
        "message_id": "msg_2Lh3kYw0a9Qx",
        "event_id": "evt_5c1d0f3e9a8b47c6b2d1e0f9a8b7c6d5",
        "event_type": "post.published",
        "status": "delivered",
        "attempts": [
            {
                "attempted_at": AT,
                "http_status": 200,
                "latency_ms": 84,
                "response_excerpt": "ok",
                "error": None,
            }
        ],
        "next_attempt_at": None,
        "resend_of": None,
        "created_at": AT,
        "updated_at": AT,
    },
    "Event": {
        "id": "evt_5c1d0f3e9a8b47c6b2d1e0f9a8b7c6d5",
        "type": "post.published",
        "created_at": AT,
        "data": {
            "post_id": POST_ID,
            "target_id": "b1000000-0000-4000-8000-000000000001",
            "account_id": LINKEDIN,
            "tenant_id": "user_42",
            "platform": "linkedin",
            "platform_post_id": "urn:li:share:7204",
            "platform_post_url": "https://www.linkedin.com/feed/update/urn:li:share:7204",
            "attempt": 1,
            "notes": [],
        },
    },
}
SCHEMAS["Finalized"] = {
    "connected_accounts": [{**SCHEMAS["SocialAccount"], "platform": "facebook", "account_type": "page"}],
    "connectedAccounts": [
        {
            "id": LINKEDIN,
            "nickname": "Acme Bakery",
            "username": "acmebakery",
            "network": "facebook",
            "accountType": "page",
        }
    ],
}
SCHEMAS["Import"] = {
    "id": "imp_5b0c4e9a2f7d4c1e8a3b6d9f0e2c4a71",
    "account_id": X,
    "platform": "x",
    "tenant_id": "user_42",
    "status": "completed",
    "since": None,
    "limit": 500,
    "pages": 6,
    "fetched": 287,
    "imported": 281,
    "skipped": 6,
    "error_code": None,
    "error_message": None,
    "created_at": CREATED,
    "started_at": CREATED,
    "finished_at": "2026-06-01T08:31:12Z",
    "updated_at": "2026-06-01T08:31:12Z",
}
# Pages of a list: the item's example, and where the next page starts.
for page, item in {
    "ImportList": "Import",
    "PostList": "Post",
    "MediaList": "Media",
    "SocialAccountList": "SocialAccount",
    "NetworkPage": "Network",
    "EndpointPage": "Endpoint",
    "DeliveryPage": "Delivery",
}.items():
    SCHEMAS[page] = {"data": [SCHEMAS[item]], "next_cursor": None}
SCHEMAS["EventPage"] = {"data": [SCHEMAS["Event"]], "next_cursor": "1042", "has_more": False}
for page, item in {"TargetList": "Target", "ApiKeyList": "ApiKey", "RedirectUriPage": "RedirectUri"}.items():
    SCHEMAS[page] = {"data": [SCHEMAS[item]]}

# Where an operation answers a schema's example other than the usual one.
RESPONSES: dict[str, Any] = {"healthz": {"status": "ok", "services": {}}}

REQUESTS: dict[str, Any] = {
    "startImport": {"since": "2026-01-01T00:00:00Z", "limit": 500},
    "createPost": {
        "accounts": [LINKEDIN, X],
        "content": TEXT,
        "scheduled_at": AT,
        "external_ref": "launch-2026-06",
        "targets": [{"account_id": X, "override_body": "Scheduled threads are live: https://example.com/changelog"}],
    },
    "updatePost": {"scheduled_at": "2026-06-09T14:00:00Z", "expected_updated_at": CREATED},
    "publishPost": {"scheduled_at": AT},
    "findPostingSlot": {"timezone": "Europe/Paris", "accounts": [LINKEDIN], "min_lead_minutes": 15},
    "replacePostingSlots": SCHEMAS["PostingSlots"],
    "createMedia": {"url": "https://example.com/launch-card.png", "alt_text": "The changelog's headline"},
    "updateMedia": {"alt_text": "The changelog's headline"},
    "createApiKey": {"name": "CI publisher", "mode": "test", "scopes": ["view", "publish"]},
    "createSandboxAccount": {"platform": "linkedin", "username": "jane.doe", "tenant_id": "user_42"},
    "upsertSocialNetwork": {
        "platform": "linkedin",
        "display_name": "Acme LinkedIn app",
        "client_id": "86abc123def456",
        "client_secret": "your-linkedin-client-secret",
        "scopes": ["r_basicprofile", "w_member_social"],
    },
    "createAuthUrl": {"redirect_uri": "https://app.example.com/integrations/crier/return", "tenant_id": "user_42"},
    "addRedirectUri": {"uri": "https://app.example.com/integrations/crier/return"},
    "finalizePendingSession": {"selected_page_ids": ["1029384756"]},
    "createConnectSession": {
        "platform": "linkedin",
        "redirect_uri": "https://app.example.com/integrations/crier/return",
        "tenant_id": "user_42",
        "display": {"product_name": "Acme Social", "locale": "fr"},
    },
    "putOrgSettings": {"connect_display": _DISPLAY},
    "upsertEndUser": {
        "external_user_id": "user_42",
        "display_name": "Jane Doe",
        "email": "jane@example.com",
        "metadata": {"plan": "pro"},
    },
    "createWebhook": {
        "url": "https://hooks.example.com/crier",
        "events": ["post.published", "post.error"],
        "description": "Production listener",
    },
    "updateWebhook": {"events": ["*"], "is_active": True},
}
