"""Publish budgets: how many posts an account, or an app, may still publish now, and how long a
delivery that does not fit must wait.

A budget is one platform limit (`crier.platforms.posting_limits`) applied to one account or one
organization's app: at most `posts` posts in any `window_s` seconds. A delivery asks for as many
posts as its target still has containers to send. It fits when the posts spent within the window
plus those it asks for are no more than the limit; otherwise it must wait until enough of the
oldest spends have left the window — the `first_to_leave`-th oldest, counting from 0.

Operators replace the table's numbers per platform and scope with `CRIER_PUBLISHER_BUDGET_LIMITS`
(`mastodon.account=5/2,x.app=1000/86400`: posts/window in seconds; several for one scope are all
kept), e.g. for a tier with other limits, or a test that wants a tiny budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from crier.contracts.common import PLATFORMS, Platform
from crier.platforms.posting_limits import Limit, Scope, posting_limits

Overrides = dict[tuple[str, str], tuple[Limit, ...]]


@dataclass(frozen=True)
class BudgetPolicy:
    """Whether live deliveries spend from publish budgets, and by which limits."""

    enabled: bool = False
    overrides: Overrides | None = None
    # How much wider than the platform's each window is counted: the most a post may reach the
    # platform after its attempt started (the spend's moment), so that delay cannot fit one more in.
    slack_s: float = 2.0


@dataclass(frozen=True)
class Budget:
    """One limit as it applies to one account or app: spends are counted under `key`."""

    key: str
    posts: int
    window_s: float

    def asked(self, need: int) -> int:
        """The posts a delivery takes from this budget: all it needs, or the whole budget when it
        needs more than ever fits in one window (it then goes when the window is empty, instead of
        waiting forever; the platform's own 429 holds back the rest)."""
        return max(1, min(need, self.posts))

    def first_to_leave(self, spent: int, need: int) -> int | None:
        """None when `need` posts fit beside the `spent` ones; otherwise the index (oldest first)
        of the spend whose leaving the window makes room."""
        over = spent + self.asked(need) - self.posts
        return None if over <= 0 else over - 1


def budgets_for(
    platform: Platform, *, account_id: str, org_id: str, overrides: Overrides | None = None
) -> list[Budget]:
    """Every budget a delivery to `account_id` of `org_id` on `platform` spends from."""
    found = []
    for scope in ("account", "app"):
        limits = (overrides or {}).get((platform, scope))
        if limits is None:
            limits = tuple(limit for limit in posting_limits(platform) if limit.scope == scope)
        owner = account_id if scope == "account" else org_id
        for limit in limits:
            found.append(Budget(f"{platform}/{scope}/{owner}/{limit.window_s:g}", limit.posts, limit.window_s))
    # Always taken in this order, so two deliveries sharing budgets never wait on each other's locks.
    return sorted(found, key=lambda b: b.key)


def parse_overrides(spec: str) -> Overrides:
    """`platform.scope=posts/window_s[,…]` into the limits that replace the table's."""
    found: dict[tuple[str, str], list[Limit]] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        try:
            where, amount = item.split("=")
            platform, scope = where.strip().split(".")
            posts, window = amount.split("/")
            limit = Limit(_scope(scope), int(posts), float(window))
        except ValueError:
            raise ValueError(f"publish budget {item!r}: expected platform.scope=posts/window_s") from None
        if platform not in PLATFORMS or limit.posts < 1 or limit.window_s <= 0:
            raise ValueError(f"publish budget {item!r}: unknown platform or empty budget")
        found.setdefault((platform, scope), []).append(limit)
    return {key: tuple(limits) for key, limits in found.items()}


def _scope(raw: str) -> Scope:
    if raw == "account":
        return "account"
    if raw == "app":
        return "app"
    raise ValueError(raw)
