"""The connect service's settings, read once from `CRIER_*` variables by `kit.settings.load`."""

from __future__ import annotations

from dataclasses import dataclass

from crier.contracts.common import Platform
from crier.contracts.connect import BLUESKY_CLIENT_METADATA_PATH, CALLBACK_PATH
from crier.kit.settings import CommonSettings

# CRIER_MANAGED_BLUESKY_CLIENT_ID=app-password: no installation-wide atproto OAuth client, so
# Bluesky accounts sign in with app passwords (unless their organization has a client of its own).
BLUESKY_APP_PASSWORDS = "app-password"


@dataclass(frozen=True)
class ConnectSettings(CommonSettings):
    oauth_state_ttl_s: int = 600
    pending_session_ttl_s: int = 900
    connect_session_ttl_s: int = 3600
    # The refresher renews access tokens that expire within this window.
    refresh_before_s: int = 600
    refresh_interval_s: float = 60.0
    refresh_concurrency: int = 4
    # Account metrics: the collector captures every active account about once per interval (± the
    # jitter, a fraction of it), looking for due accounts every sweep, a few at a time; snapshots
    # are kept for the retention. A live pull (GET …/metrics) waits at most live_timeout_s for the
    # platform before answering with the latest snapshot.
    account_metrics_collect: bool = True
    account_metrics_interval_s: float = 86_400.0
    account_metrics_jitter: float = 0.1
    account_metrics_sweep_s: float = 60.0
    account_metrics_concurrency: int = 4
    account_metrics_retention_days: float = 365.0
    account_metrics_live_timeout_s: float = 10.0
    # Bluesky: the did:plc directory that says where an account's PDS is, and the entryway asked
    # to resolve handles and to sign in accounts whose PDS is not known (an e-mail address).
    bluesky_plc_url: str = "https://plc.directory"
    bluesky_entryway_url: str = "https://bsky.social"
    # Installation-wide platform apps, used by organizations without their own (BYOK) app.
    managed_x_client_id: str = ""
    managed_x_client_secret: str = ""
    managed_linkedin_client_id: str = ""
    managed_linkedin_client_secret: str = ""
    managed_facebook_client_id: str = ""
    managed_facebook_client_secret: str = ""
    managed_instagram_client_id: str = ""
    managed_instagram_client_secret: str = ""
    managed_youtube_client_id: str = ""
    managed_youtube_client_secret: str = ""
    managed_threads_client_id: str = ""
    managed_threads_client_secret: str = ""
    managed_bluesky_client_id: str = ""
    managed_bluesky_client_secret: str = ""
    managed_mastodon_client_id: str = ""
    managed_mastodon_client_secret: str = ""
    managed_mastodon_instance_url: str = ""
    managed_tiktok_client_id: str = ""
    managed_tiktok_client_secret: str = ""
    managed_pinterest_client_id: str = ""
    managed_pinterest_client_secret: str = ""
    managed_google_business_client_id: str = ""
    managed_google_business_client_secret: str = ""

    def managed_app(self, platform: Platform) -> tuple[str, str, str | None] | None:
        """(client_id, client_secret, instance_url) of the managed app for `platform`, if configured.
        Bluesky's needs no configuring: an https Crier is an atproto OAuth client of its own, the
        client metadata document the gateway serves (there is nothing to register, and no secret)."""
        client_id = getattr(self, f"managed_{platform}_client_id", "")
        secret = getattr(self, f"managed_{platform}_client_secret", "")
        if platform == "bluesky" and client_id == BLUESKY_APP_PASSWORDS:
            return None
        if platform == "bluesky" and not client_id and self.public_url.startswith("https://"):
            client_id = self.bluesky_client_id
        if not client_id:
            return None
        return client_id, secret, getattr(self, f"managed_{platform}_instance_url", "") or None

    @property
    def callback_url(self) -> str:
        """Crier's OAuth callback, the redirect URI registered with every platform app."""
        return f"{self.public_url.rstrip('/')}{CALLBACK_PATH}"

    @property
    def bluesky_client_id(self) -> str:
        """The URL of the client metadata document the gateway serves, which is the id of the
        installation's own atproto OAuth client."""
        return f"{self.public_url.rstrip('/')}{BLUESKY_CLIENT_METADATA_PATH}"
