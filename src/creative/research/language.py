"""The page's language and locale: <html lang>, og:locale, else a language identifier on the text."""

from __future__ import annotations

import re
from functools import lru_cache

_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{4}))?(?:[-_]([a-zA-Z]{2}|\d{3}))?\b")
MIN_IDENTIFY_CHARS = 20
MIN_CHECK_CHARS = 200  # enough text to overrule a declared language
SURE = 0.99
FOREIGN_SHARE = 0.01


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


def identify(text: str) -> tuple[str | None, float]:
    """A 2-letter language code for `text` and its probability, by py3langid (whose model ships
    inside the package), or (None, 0) for too little text."""
    sample = " ".join(text.split())[:2000]
    if len(sample) < MIN_IDENTIFY_CHARS:
        return None, 0.0
    code, prob = _identifier().classify(sample)
    return (code, float(prob)) if _known_language(code) else (None, 0.0)


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _foreign_letters(text: str) -> float:
    """Share of letters outside ASCII: near zero in English, so the identifier's model (costly to
    load) is consulted only for text that may be in another language."""
    letters = [ch for ch in text[:3000] if ch.isalpha()]
    return sum(not ch.isascii() for ch in letters) / max(1, len(letters))


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
           text: str, territory: str | None = None) -> tuple[str | None, str | None, str | None, str | None]:
    """(language, region, locale, source) from the page's declarations, else from its text.

    A language declared without a country takes the shop's country (`territory`, from its domain)
    when people there write it: 'es' on a .cl shop is es_CL, so prices read as Chileans write them.
    """
    result = _detect(html_lang, og_locale, content_language, text)
    lang, region, locale, source = result
    if lang and not region and territory:
        local = locale_for(lang, territory)
        if local:
            return lang, territory, local, source
    return result


def _detect(html_lang: str | None, og_locale: str | None, content_language: str | None,
            text: str) -> tuple[str | None, str | None, str | None, str | None]:
    for value, source in ((html_lang, "html lang"), (og_locale, "og:locale"),
                          (content_language, "meta content-language")):
        lang, region = parse_tag(value)
        if lang == "en" and len(text) >= MIN_CHECK_CHARS and _foreign_letters(text) >= FOREIGN_SHARE:
            # Shop themes ship with lang="en"; a page plainly written in another language says so.
            found, prob = identify(text)
            if found and found != "en" and prob >= SURE:
                return found, None, locale_for(found, None), f"language identifier ({source} says en)"
        if lang:
            return lang, region, locale_for(lang, region), source
    lang, _ = identify(text)
    if lang:
        return lang, None, locale_for(lang, None), "language identifier on the page text"
    return None, None, None, None
