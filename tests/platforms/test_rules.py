"""The rules every platform shares: shape, empty and long texts, typed config."""

from __future__ import annotations

import pytest

from crier.contracts.common import PLATFORMS, Container
from crier.platforms import publishing
from crier.platforms.rules import AnyText


def test_a_platform_without_an_adapter_takes_any_text_for_the_sandbox() -> None:
    platform = next((p for p in PLATFORMS if not publishing.publishes(p)), None)
    if platform is None:
        pytest.skip("Crier publishes to every platform")
    rules = publishing.rules(platform)
    assert isinstance(rules, AnyText) and rules.platform == platform
    assert rules.check([Container(content="hi"), Container(content="a comment")], {}) == []


def test_every_problem_at_once() -> None:
    rules = AnyText("pinterest")
    problems = rules.check([Container(content="ok"), Container(content="  "), Container(content="x" * 10_001)], {})
    assert [(p.field, p.code) for p in problems] == [
        ("containers[1].content", "empty"),
        ("containers[2].content", "too_long"),
    ]
    assert [p.code for p in rules.check([], {})] == ["no_containers"]


def test_an_unknown_config_key_is_a_problem() -> None:
    [problem] = AnyText("tiktok").check([Container(content="hi")], {"privacy": "public"})
    assert (problem.field, problem.code) == ("config.tiktok", "invalid_config")
