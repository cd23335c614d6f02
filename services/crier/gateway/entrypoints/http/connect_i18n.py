"""The hosted connect pages' languages: gettext message catalogues (`connect_web/locale/<lang>/
LC_MESSAGES/messages.po`), read with babel once at start. English is the source language: a string
without a translation shows as written."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from crier.gateway.domain.display import DEFAULT_LOCALE, LOCALES

LOCALE_DIR = Path(__file__).parent / "connect_web" / "locale"
Translate = Callable[..., str]


@cache
def catalogues() -> dict[str, dict[str, str]]:
    """Every language's msgid → msgstr; fuzzy and empty entries are left out, as gettext does."""
    found: dict[str, dict[str, str]] = {DEFAULT_LOCALE: {}}
    for language in LOCALES:
        path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
        if language == DEFAULT_LOCALE or not path.exists():
            continue
        with path.open("rb") as f:
            catalogue = read_po(f, locale=language)
        found[language] = {
            str(m.id): str(m.string)
            for m in catalogue
            if m.id and isinstance(m.string, str) and m.string and not m.fuzzy
        }
    return found


def translator(language: str) -> Translate:
    """`_("Connect your %(platform)s account", platform="X")`: the translation, then its fields."""
    messages = catalogues().get(language, {})

    def translate(message: str, **fields: Any) -> str:
        text = messages.get(message, message)
        return text % fields if fields else text

    return translate
