"""The hosted connect pages' message catalogues: every message the templates and the page handlers
show has a translation in each language, with the same placeholders, and babel reads them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2.ext import babel_extract

from crier.gateway.domain.display import DEFAULT_LOCALE, LOCALES
from crier.gateway.entrypoints.http import connect_pages, hosted_connect
from crier.gateway.entrypoints.http.connect_i18n import catalogues, translator

TEMPLATES = Path(connect_pages.WEB_DIR) / "templates"


def shown_messages() -> set[str]:
    found = set(hosted_connect.MESSAGES)
    for path in TEMPLATES.glob("*.html"):
        with path.open("rb") as f:
            for _, _, message, _ in babel_extract(f, ("_",), [], {}):
                text = message[0] if isinstance(message, tuple) else message
                if text:  # `_(title_msg)`: a variable, its values are in MESSAGES
                    found.add(text)
    return found


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", text))


def test_the_templates_have_messages_to_translate() -> None:
    assert "Connect your %(platform)s account" in shown_messages() and len(shown_messages()) > 30


@pytest.mark.parametrize("language", [lang for lang in LOCALES if lang != DEFAULT_LOCALE])
def test_every_shown_message_is_translated(language: str) -> None:
    catalogue = catalogues()[language]
    missing = sorted(m for m in shown_messages() if m not in catalogue)
    assert missing == []
    for message in shown_messages():
        assert placeholders(catalogue[message]) == placeholders(message), message


def test_an_unknown_message_shows_as_written() -> None:
    assert translator("fr")("Not in any catalogue, %(who)s", who="Ada") == "Not in any catalogue, Ada"
    assert translator("de")("Approve") == "Erlauben"
