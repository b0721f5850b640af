"""Copy hygiene: what may become ad copy, and how it is shortened."""

from __future__ import annotations

import pytest

from creative.copy.clean import TermMatcher, balanced, capitalize_first, clean_text, is_junk
from creative.copy.facts import benefit_lines, copy_lines, product_label
from creative.copy.phrases import all_junk_terms, load_phrases
from creative.copy.shorten import shorten_phrase
from creative.core.models import ResearchNotes

JUNK = all_junk_terms()


def test_clean_text_unescapes_strips_tags_and_bullets():
    assert clean_text("<p>Caf&amp;eacute; &iacute;ntimo</p>  • ") == "Café íntimo"
    assert clean_text("• <b>Soft</b>&nbsp;knit\u200b |") == "Soft knit"
    assert clean_text(None) == ""


@pytest.mark.parametrize("text", [
    "To learn how we process your data, visit our Privacy Policy",
    "Sicherer Kauf auf Rechnung",
    "Bvseo_fps, prod_bvrr",
    "2021-03-04T10:22:11Z",
    "Anonyme 16/12/2017 5/5 EXCELLENT PRODUIT",
    "Assembly instructionsFJANTIG Hook603",
    "DJUNGELSKOGSoft toyArticle no",
    "Länge33 cm",
    "Kostenloser Versand ab 50 €",
    "Dodaj do koszyka",
    "Control the frequency of ads shown",
    "Lens (wide angle",
    "4.6 stars from 1 reviews",
])
def test_chrome_tracking_and_glued_strings_are_junk(text):
    assert is_junk(text, JUNK)


@pytest.mark.parametrize("text", ["SoundForm Elite speaker", "iPadOS gestures", "MacBook Air sleeve",
                                  "Works with macOS", "PlayStation 5 bundle", "Lens (wide angle)"])
def test_brand_casing_and_closed_brackets_are_not_junk(text):
    assert not is_junk(text, JUNK)


def test_term_matcher_matches_word_starts_and_whole_short_words():
    m = TermMatcher(["pan", "moistur", "コーヒー"], whole_under=5)
    assert m.count("Non-stick pans and a pan") == 2
    assert not m.search("solar panel")
    assert m.search("Deeply moisturising")
    assert m.search("深煎りコーヒー豆")


def test_shorten_phrase_cuts_only_where_a_phrase_ends():
    assert shorten_phrase("Visibly brighter skin in 4 weeks", 30) == "Visibly brighter skin"
    assert shorten_phrase("Bluetooth technology allows for easy pairing with any phone", 40) is None
    assert shorten_phrase("Push-Push dual woofer delivers deep, impactful bass", 40) is None
    assert shorten_phrase("Smart technology is intelligent enough to tell people apart", 40) is None
    assert shorten_phrase("Master the kitchen: helps you with recipes", 30) == "Master the kitchen"
    assert shorten_phrase("Odds are that as you read this", 20) is None
    assert shorten_phrase("毎日使える軽いセラム、肌にうるおいを与えます", 12) == "毎日使える軽いセラム"
    assert shorten_phrase("毎日使える軽いセラムで肌にうるおいを与えます", 12) is None


def test_capitalize_first_keeps_brand_casing():
    assert capitalize_first("iPadOS ready") == "iPadOS ready"
    assert capitalize_first("eBay favourite") == "eBay favourite"
    assert capitalize_first("soft knit") == "Soft knit"


def test_balanced():
    assert balanced("Lamp (oak)") and not balanced("Lamp (oak") and not balanced('27" monitor')


def lines_of(**kw):
    notes = ResearchNotes(url="https://shop.example/p", **kw)
    en = load_phrases("en")
    return [t for t, _, _ in copy_lines(notes, en, JUNK, [], notes.product_name)]


def test_reviews_tiles_and_specs_do_not_become_benefits():
    en = load_phrases("en")
    notes = ResearchNotes(url="https://shop.example/p", product_name="Oak Bed", language="en", features=[
        "I love this bed, my back thanks me",         # a customer's voice
        "Cama Ergo T 1",                              # another product's tile
        "Other bed £219",                             # another product's price
        "Brand - GANT",                               # spec row
        "Material: solid oak",                        # short spec value
        "Memory Card Supported",                      # spec label
        "But before that, the frame",                 # leans on the sentence before
        "Solid oak frame that lasts for decades",
    ])
    lines = copy_lines(notes, en, JUNK, [], notes.product_name)
    ranked = benefit_lines(lines, en, 40)
    assert ranked == ["Solid oak frame that lasts for decades"]


def test_truncated_description_loses_its_cut_sentence():
    lines = lines_of(product_name="Nest", description="Keeps you warm all night. And with night vision and...")
    assert lines == ["Keeps you warm all night"]


def test_product_label_strips_a_leading_brand_and_keeps_names_whole():
    def label(name, brand=None):
        return product_label(ResearchNotes(url="u", product_name=name, brand=brand), "Lumen Skin")
    assert label("Origins A Perfect World Moisturiser", "Origins") == "A Perfect World Moisturiser"
    assert label("Girard for Herman Miller pillows", "Girard") == "Girard for Herman Miller pillows"
    assert label("Entradas Lina de Lima Streaming Punto Play - Santiago") == "Entradas Lina de Lima Streaming Punto"
    assert label("Cama Eloísa Single 1.5 Plazas, Set 2 Cajones") == "Cama Eloísa Single 1.5 Plazas"
