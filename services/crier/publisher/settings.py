from __future__ import annotations

from dataclasses import dataclass

from crier.kit.settings import CommonSettings


@dataclass(frozen=True)
class PublisherSettings(CommonSettings):
    # Backoff between failed attempts: full jitter over base·2^(n-1), capped at retry_max_s.
    publisher_retry_base_s: float = 2.0
    publisher_retry_max_s: float = 300.0
    # How long JetStream waits for an ack before redelivering; long deliveries send in-progress
    # heartbeats, so this bounds how fast a crashed publisher's message moves to another replica.
    publisher_ack_wait_s: float = 30.0
    # The failed attempt with this number dead-letters the target.
    publisher_max_attempts: int = 5
    # A rate limit waits for the platform's Retry-After without counting as a failed attempt, until
    # rate limits have held the target back this long; after that they count like any failure.
    publisher_rate_limit_deadline_s: float = 3 * 3600.0
    # A platform still processing a container's media re-queues the delivery (its slot freed) for
    # as long as this, from the target's first wait; then the target fails (media_processing_timeout).
    publisher_processing_deadline_s: float = 3 * 3600.0
    # The longest wait between two looks at a platform's processing; 0 = what the platform asks.
    publisher_processing_poll_max_s: float = 0.0
    # Targets delivered at once per platform, across all its lanes.
    publisher_concurrency: int = 16
    # How long an account's token is kept in the process's memory once connect gave it, so a burst
    # of deliveries for one account asks connect once (`adapters.token_cache`); 0 asks every time.
    publisher_token_cache_s: float = 30.0
    # Imports read at once per platform, on slots of their own (never the deliveries').
    publisher_import_concurrency: int = 2
    # Commands each lane's reader keeps at hand for the next free slot: enough that a busy lane
    # never waits on a fetch, few enough that another replica finds the rest still queued.
    publisher_lane_at_hand: int = 2
    # Publish budgets shared by every replica (`adapters.budgets`): "on", "off", or "auto" — on
    # unless the platforms are a stand-in (CRIER_PLATFORM_BASE_URL, e.g. the simulator). Test-mode
    # (sandbox) deliveries never spend from them.
    publisher_budgets: str = "auto"
    # Limits that replace the table's (`crier.platforms.posting_limits`) per platform and scope:
    # "mastodon.account=5/2,x.app=1000/86400" (posts/window in seconds).
    publisher_budget_limits: str = ""
    # How much wider each budget's window is counted than the platform's: the longest a post takes
    # to reach the platform after its attempt started.
    publisher_budget_slack_s: float = 2.0
