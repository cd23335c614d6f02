"""Google Business Profile: the location from the Business Information API
(`GET /v1/locations/{l}?readMask=name,title,metadata`), which proves the grant and gives `raw`.

The figures a location has (views, searches, calls) come only from the Business Profile
Performance API, which is not among the platform contracts Crier builds against
(`shared/platform-contracts/google-business-profile` holds account management and business
information only), and the Business Information API documents no counts: every figure is None."""

from __future__ import annotations

from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms import _publish_http as ph
from crier.platforms._google import publishing_error
from crier.platforms.account_metrics import Figures, Reach, mapping

BUSINESS_INFORMATION = "https://mybusinessbusinessinformation.googleapis.com"


async def read(reach: Reach, account: AccountToken) -> Figures:
    # The account is `accounts/<a>/locations/<l>`; the Business Information API names it `locations/<l>`.
    _, _, location = account.network_unique_id.partition("/locations/")
    body = await reach.get(
        "google_business",
        f"{reach.settings.base('google_business', BUSINESS_INFORMATION)}/v1/locations/{location}",
        params={"readMask": "name,title,metadata"},
        headers=ph.bearer(account.access_token),
        classify=publishing_error,
    )
    return parse(body)


def parse(body: Any) -> Figures:
    return Figures(raw=mapping(body))
