"""The page's language and locale: <html lang>, og:locale, else a language identifier on the text."""

from __future__ import annotations

import re
from functools import lru_cache

_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{4}))?(?:[-_]([a-zA-Z]{2}|\d{3}))?\b")
MIN_IDENTIFY_CHARS = 20


def parse_tag(tag: str | None) -> tuple[str | None, str | None]:
    """'pl-PL' -> ('pl', 'PL'); 'en' -> ('en', None); junk -> (None, None)."""
    m = _TAG.match((tag or "").strip())
    if not m:
        return None, None
    lang = m.group(1).lower()
    if lang in ("iw",):  # the old code for Hebrew
        lang = "he"
    if len(lang) == 3 or not _known_language(lang):
        return None, None
    region = m.group(3).upper() if m.group(3) and m.group(3).isalpha() else None
    return lang, region


@lru_cache(maxsize=256)
def _known_language(code: str) -> bool:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(code)
        return True
    except (UnknownLocaleError, ValueError):
        return False


def identify(text: str) -> str | None:
    """A 2-letter language code for `text` by py3langid (model ships in the package), or None."""
    sample = " ".join(text.split())[:2000]
    if len(sample) < MIN_IDENTIFY_CHARS:
        return None
    import py3langid

    code, _ = py3langid.classify(sample)
    return code if _known_language(code) else None


def locale_for(lang: str | None, region: str | None) -> str | None:
    """A Babel locale id ('pl_PL') for a language and country; without a country, the language's
    most likely one from CLDR ('pl' -> 'pl_PL'). None when CLDR does not know the pair."""
    if not lang:
        return None
    from babel import Locale, UnknownLocaleError
    from babel.core import get_global

    if not region:
        likely = get_global("likely_subtags").get(lang, "").split("_")
        region = likely[-1] if len(likely) >= 2 and likely[-1].isupper() else None
    if not region:
        return None
    try:
        return str(Locale.parse(f"{lang}_{region}"))
    except (UnknownLocaleError, ValueError):
        return None


def detect(html_lang: str | None, og_locale: str | None, content_language: str | None,
           text: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(language, region, locale, source) from the page's declarations, else from its text."""
    for value, source in ((html_lang, "html lang"), (og_locale, "og:locale"),
                          (content_language, "meta content-language")):
        lang, region = parse_tag(value)
        if lang:
            return lang, region, locale_for(lang, region), source
    lang = identify(text)
    if lang:
        return lang, None, locale_for(lang, None), "language identifier on the page text"
    return None, None, None, None
