"""The request/reply API the gateway (and, for account tokens, the publisher) calls: one subject per
use case, answered by any replica."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from crier.connect.handlers import (
    accounts,
    apps,
    credentials,
    end_users,
    engagement,
    flows,
    metrics,
    pending,
    sessions,
    signin,
)
from crier.connect.handlers.context import Context
from crier.contracts import connect as api
from crier.contracts.connect import SANDBOX_ACCOUNTS_CREATE, CreateSandboxAccount
from crier.kit.bus import Bus, rpc

QUEUE = "connect"

ROUTES: list[tuple[str, type, Callable[[Context, Any], Awaitable[Any]]]] = [
    (SANDBOX_ACCOUNTS_CREATE, CreateSandboxAccount, accounts.create_sandbox_account),
    (api.NETWORKS_UPSERT, api.NetworkUpsert, apps.upsert),
    (api.NETWORKS_LIST, api.NetworkList, apps.list_networks),
    (api.NETWORKS_GET, api.NetworkRef, apps.get_network),
    (api.NETWORKS_DELETE, api.NetworkRef, apps.delete_network),
    (api.REDIRECT_URIS_ADD, api.RedirectUriAdd, apps.add_redirect_uri),
    (api.REDIRECT_URIS_LIST, api.Scoped, apps.list_redirect_uris),
    (api.REDIRECT_URIS_DELETE, api.RedirectUriRef, apps.delete_redirect_uri),
    (api.FLOWS_AUTH_URL, api.AuthUrlRequest, flows.auth_url),
    (api.FLOWS_CALLBACK, api.Callback, flows.callback),
    (api.PENDING_GET, api.PendingRef, pending.pending_view),
    (api.PENDING_FINALIZE, api.PendingFinalize, pending.finalize),
    (api.SESSIONS_CREATE, api.SessionCreate, sessions.create),
    (api.SESSIONS_GET, api.SessionRef, sessions.get),
    (api.HOSTED_OPEN, api.HostedToken, sessions.hosted_open),
    (api.HOSTED_BEGIN, api.HostedToken, sessions.hosted_begin),
    (api.HOSTED_RETRY, api.StateRef, sessions.hosted_retry),
    (api.HOSTED_PENDING, api.HostedToken, pending.hosted_pending_view),
    (api.HOSTED_SELECT, api.HostedSelect, pending.hosted_select),
    (api.APP_PASSWORD_VIEW, api.StateRef, signin.app_password_view),
    (api.APP_PASSWORD_LOGIN, api.AppPasswordLogin, signin.app_password_login),
    (api.SANDBOX_CONSENT, api.StateRef, signin.sandbox_consent),
    (api.SANDBOX_DECIDE, api.SandboxDecision, signin.sandbox_decide),
    (api.ACCOUNTS_LIST, api.AccountList, accounts.list_accounts),
    (api.ACCOUNTS_GET, api.AccountRef, accounts.get),
    (api.ACCOUNTS_DELETE, api.AccountRef, accounts.delete),
    (api.ACCOUNTS_HEALTH, api.AccountRef, accounts.health),
    (api.ACCOUNTS_TOKEN, api.TokenRequest, credentials.account_token),
    (api.ACCOUNTS_METRICS, api.MetricsRequest, metrics.account_metrics),
    (api.POSTS_ENGAGEMENT, api.EngagementRequest, engagement.post_engagement_of),
    (api.END_USERS_UPSERT, api.EndUserUpsert, end_users.upsert),
    (api.END_USERS_GET, api.EndUserRef, end_users.get),
    (api.END_USERS_CONNECTIONS, api.EndUserRef, end_users.connections),
    (api.END_USERS_DISCONNECT, api.EndUserDisconnect, end_users.disconnect_platform),
]


async def serve(bus: Bus, ctx: Context) -> None:
    await rpc.serve_all(
        bus, [(subject, kind, partial(use_case, ctx)) for subject, kind, use_case in ROUTES], queue=QUEUE
    )
