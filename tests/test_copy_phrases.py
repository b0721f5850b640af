"""Phrase files per language, and prices, counts and ratings written the page's way (Babel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel import Locale

from creative.copy.money import format_count, format_price, format_rating, page_locale, rating_out_of_five
from creative.copy.phrases import ANGLE_KINDS, all_junk_terms, load_phrases
from creative.core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ["en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "vi", "ja", "ko"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_complete_phrases_and_plural_forms(lang):
    p = load_phrases(lang)
    assert p.fallback_from is None and p.language == lang
    assert set(ANGLE_KINDS) <= set(p.cta)
    assert all(len(p.cta[k]) <= 16 for k in ANGLE_KINDS)  # CTA buttons stay short
    # a form for every plural category the language has ("1 review", "3 opinie", "5 opinii")
    assert Locale.parse(p.locale).plural_form.tags | {"other"} <= set(p.reviews)
    assert all("{n}" in form for form in p.reviews.values())
    assert "{price}" in p.lines["only"] and "{reviews}" in p.lines["rating"]
    assert p.junk, "each language lists its shop chrome"


def test_plural_rules_pick_the_right_form():
    en, pl, ru = load_phrases("en"), load_phrases("pl"), load_phrases("ru")
    assert en.reviews_text(1, "1") == "1 review"
    assert en.reviews_text(2, "2") == "2 reviews"
    assert [pl.reviews_text(n, str(n)) for n in (1, 3, 5, 22)] == ["1 opinia", "3 opinie", "5 opinii", "22 opinie"]
    assert [ru.reviews_text(n, str(n)) for n in (1, 3, 5, 21)] == ["1 отзыву", "3 отзывам", "5 отзывам", "21 отзыву"]


def test_unknown_language_falls_back_to_english_and_says_so():
    p = load_phrases("he")
    assert p.language == "en" and p.fallback_from == "he"
    assert load_phrases("pt-BR").language == "pt"
    assert load_phrases(None).fallback_from is None


def test_a_templates_folder_overrides_the_packaged_phrases(tmp_path):
    (tmp_path / "copy").mkdir()
    text = (ROOT / "templates" / "copy" / "en.yaml").read_text(encoding="utf-8")
    (tmp_path / "copy" / "en.yaml").write_text(text.replace("Claim offer", "Grab it"), encoding="utf-8")
    assert load_phrases("en", tmp_path).cta["offer"] == "Grab it"
    assert load_phrases("de", tmp_path).cta["offer"] == "Jetzt sichern"  # not overridden: packaged


def test_broken_phrase_file_is_a_clear_error(tmp_path):
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "fr.yaml").write_text("language: fr\ncta: {offer: Go}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_phrases("fr", tmp_path)
    assert "fr.yaml: missing cta.benefit" in err.value.message and err.value.exit_code == 2


def test_junk_terms_come_from_every_language():
    terms = all_junk_terms()
    assert {"cookie", "versand", "livraison", "koszyk", "доставк", "配送", "배송"} <= set(terms)


@pytest.mark.parametrize(("price", "currency", "locale", "expected"), [
    ("71.91", "EUR", "pt_PT", "71,91 €"),
    ("185000", "VND", "vi_VN", "185.000 ₫"),
    ("1148.00", "PLN", "pl_PL", "1 148 zł"),
    ("1299.00", "USD", "en_US", "$1,299"),
    ("24.99", "GBP", "en_GB", "£24.99"),
    ("1299.00", "EUR", "de_DE", "1.299 €"),
    ("1299.00", "EUR", "nl_NL", "€ 1.299,00"),  # '€ 1.299' would read as one euro thirty
    ("12.50", "EUR", None, "€12.50"),
])
def test_prices_are_written_the_locales_way(price, currency, locale, expected):
    assert format_price(price, currency, locale) == expected


@pytest.mark.parametrize("price", [None, "", "0", "0.00", "-5", "abc", "NaN"])
def test_no_price_when_zero_absent_or_unreadable(price):
    assert format_price(price, "USD", "en_US") is None
    assert format_price("10.00", None, "en_US") is None


@pytest.mark.parametrize(("language", "currency", "expected"), [
    ("es", "CLP", "es_CL"), ("en", "CAD", "en_CA"), ("en", "USD", "en_US"), ("de", "CHF", "de_CH"),
    ("pt", "EUR", "pt_PT"), ("fr", "EUR", "fr_FR"), ("en", None, "en_US"), ("vi", "VND", "vi_VN"),
])
def test_locale_from_language_and_currency_when_the_page_names_none(language, currency, expected):
    default = load_phrases(language).locale
    assert page_locale(None, language, currency, default) == expected
    assert page_locale("pl_PL", language, currency, default) == "pl_PL"  # the page's own wins
    # Chile writes "$249.990", which reads as $249.99 to many: the code after the number instead
    assert format_price("249990", "CLP", page_locale(None, "es", "CLP", "es_ES")) == "249.990 CLP"
    assert format_price("990", "CLP", "es_CL") == "$990"


def test_counts_and_ratings():
    assert format_count(1284, "en_US") == "1,284"
    assert format_count(12840, "pl_PL") == "12 840"
    assert format_count(2315, "vi_VN") == "2.315"
    assert rating_out_of_five(8.7, 10) == pytest.approx(4.35)
    assert rating_out_of_five(4.6, None) is None  # unknown scale: no rating printed
    assert rating_out_of_five(11, 10) is None
    assert format_rating(4.35, "de_DE") == "4,4" and format_rating(5.0, "en_US") == "5"
