"""What a LinkedIn post may be, checked before it is stored: a post and a first comment but no thread,
lengths as LinkedIn counts them (UTF-16 code units of what the reader sees: 3000 for the post, 1250
for the comment), `config.linkedin`; and the little text the post's commentary is written in."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crier.contracts.common import AccountLimits, Container
from crier.platforms import provider as get_provider
from crier.platforms import publishing
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.linkedin import (
    LinkedInConfig,
    LinkedInProvider,
    LinkedInRules,
    author_problems,
    commentary,
    length,
    rules,
    text_of,
)
from crier.platforms.oauth import OAuthError

from .conftest import Flow


def _codes(*texts: str, config: object = None) -> list[tuple[str, str]]:
    problems = rules.check([Container(content=t) for t in texts], config)
    return [(p.field, p.code) for p in problems]


async def test_linkedin_publishes_with_its_own_rules() -> None:
    assert isinstance(publishing.rules("linkedin"), LinkedInRules) and publishing.publishes("linkedin")
    async with httpx.AsyncClient() as http:
        adapter = publishing.adapter("linkedin", http, PlatformSettings())
    assert isinstance(adapter, PlatformAdapter) and adapter.needs_account and not adapter.transactional


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ("hello", 5),
        ("(escaped) #tags_and @names", 26),  # the escapes little text needs do not count
        ("é", 1),
        ("e\u0301", 2),  # a decomposed accent is two UTF-16 units
        ("👍", 2),  # outside the BMP: a surrogate pair
        ("👍🏽", 4),
        ("한국어", 3),
    ],
)
def test_length_as_linkedin_counts(text: str, counted: int) -> None:
    assert length(text) == counted == rules.length(text)


def test_the_post_takes_3000_and_the_comment_1250() -> None:
    assert _codes("x" * 3000, "y" * 1250) == []
    assert _codes("x" * 3001) == [("containers[0].content", "too_long")]
    assert _codes("ok", "y" * 1251) == [("containers[1].content", "too_long")]
    assert _codes("👍" * 1500) == [] and _codes("👍" * 1500 + "x") == [("containers[0].content", "too_long")]
    [post] = rules.check([Container(content="x" * 3001)], {})
    assert post.message == "3001 characters as linkedin counts them; at most 3000"
    [comment] = rules.check([Container(content="ok"), Container(content="👍" * 626)], {})
    assert comment.message == "1252 characters as linkedin counts them; at most 1250 in a comment"


def test_a_first_comment_but_no_thread() -> None:
    assert _codes("post", "first comment") == []
    assert _codes("post", "comment", "a reply") == [("containers[2]", "thread_unsupported")]
    assert _codes("post", "  ") == [("containers[1].content", "empty")]
    assert _codes(" ") == [("containers[0].content", "empty")]


@pytest.mark.parametrize(
    "config",
    [{"visibility": "PUBLIC"}, {"visibility": "CONNECTIONS", "disable_reshare": True}, {"disable_reshare": False}, {}],
)
def test_config_linkedin_takes(config: object) -> None:
    assert _codes("hi", config=config) == []


@pytest.mark.parametrize(
    "config",
    [
        {"visibility": "public"},  # LinkedIn's own words, as its API spells them
        {"visibility": "LOGGED_IN"},
        {"disable_reshare": "yes"},
        {"feed_distribution": "NONE"},  # not a key Crier knows: refused, never ignored
    ],
)
def test_config_linkedin_refuses(config: object) -> None:
    assert _codes("hi", config=config) == [("config.linkedin", "invalid_config")]


def test_an_organization_account_is_refused_connections_by_its_rules() -> None:
    connections = [Container(content="hi")], {"visibility": "CONNECTIONS"}
    organization = publishing.rules("linkedin", account_type="organization", limits=AccountLimits())
    [problem] = organization.check(*connections)
    assert (problem.field, problem.code) == ("config.linkedin.visibility", "invalid_config")
    assert "organization" in problem.message
    assert organization.check([Container(content="hi")], {"visibility": "PUBLIC"}) == []
    # A member, and an account whose kind Crier does not know (a sandbox account), may use it.
    for account_type in ("profile", "account", None):
        assert publishing.rules("linkedin", account_type=account_type).check(*connections) == []
    # The rest of LinkedIn's rules hold for an organization as for a member.
    assert [p.code for p in organization.check([Container(content="x" * 3001)], {})] == ["too_long"]


def test_connections_is_for_a_member_only() -> None:
    connections = LinkedInConfig(visibility="CONNECTIONS")
    assert author_problems(connections, "urn:li:person:abc") == []
    [problem] = author_problems(connections, "urn:li:organization:42")
    assert (problem.field, problem.code) == ("config.linkedin.visibility", "invalid_config")
    assert author_problems(LinkedInConfig(visibility="PUBLIC"), "urn:li:organization:42") == []


# -- little text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "little"),
    [
        ("plain words, no markup.", "plain words, no markup."),
        ("(a) [b] {c} <d>", "\\(a\\) \\[b\\] \\{c\\} \\<d\\>"),
        ("*bold* _it_ ~s~ a|b back\\slash @you", "\\*bold\\* \\_it\\_ \\~s\\~ a\\|b back\\\\slash \\@you"),
        ("#launch day", "{hashtag|\\#|launch} day"),
        ("#été2026, #B2B!", "{hashtag|\\#|été2026}, {hashtag|\\#|B2B}!"),
        ("C# and #123 and #snake_case", "C\\# and \\#123 and \\#snake\\_case"),  # not hashtags LinkedIn makes
        ("https://ex.com/a_b#top (see)", "https://ex.com/a\\_b\\#top \\(see\\)"),  # a link's #fragment stays
    ],
)
def test_commentary_escapes_and_makes_hashtags(text: str, little: str) -> None:
    assert commentary(text) == little
    assert text_of(little) == text


@given(st.text())
def test_what_readers_see_is_what_was_written(text: str) -> None:
    assert text_of(commentary(text)) == text


def test_linkedin_stops_at_a_stray_reserved_character() -> None:
    assert text_of("before (after") == "before "
    assert text_of("hi @you") == "hi "
    assert text_of("#tag stays, (not this") == "#tag stays, "  # a bare #word is a hashtag element
    assert text_of("Hello @[Acme Corp](urn:li:organization:1234)!") == "Hello Acme Corp!"
    assert text_of("{hashtag|#|Tech} and {hashtag|\\#|AI}") == "#Tech and #AI"


# -- the provider's version -------------------------------------------------------------------


def test_the_provider_calls_the_rest_api_with_the_configured_version() -> None:
    default = get_provider("linkedin")
    assert isinstance(default, LinkedInProvider) and default.version == PlatformSettings().linkedin_version
    configured = default.configured(PlatformSettings(linkedin_version="202611"))
    assert configured.version == "202611" and configured.endpoints == default.endpoints
    rebased = get_provider("linkedin", "http://127.0.0.1:9").configured(PlatformSettings(linkedin_version="202612"))
    assert rebased.version == "202612" and rebased.endpoints.api_base == "http://127.0.0.1:9/linkedin"


async def test_the_organizations_call_carries_the_configured_version(flow: Flow) -> None:
    conn = await flow.connect("linkedin", pages=1)
    current = conn.provider.configured(PlatformSettings(linkedin_version="202611"))
    member, org = await current.accounts(flow.http, conn.tokens)
    assert (member.account_type, org.account_type) == ("profile", "organization")
    inactive = conn.provider.configured(PlatformSettings(linkedin_version="2025-07"))
    with pytest.raises(OAuthError) as raised:
        await inactive.accounts(flow.http, conn.tokens)
    assert "Requested version 2025-07 is not active" in raised.value.message
