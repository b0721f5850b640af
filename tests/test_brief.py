"""brief.md: drafting from facts, render/parse round trip, forgiving parse, precise errors, policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from creative.copy.brief import (
    check_policy,
    draft_brief,
    format_price,
    parse_brief,
    read_brief,
    render_brief,
    shorten,
    write_brief,
)
from creative.core.errors import InputError
from creative.core.models import Brief, Channel, Concept, ResearchNotes
from creative.research import research

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = yaml.safe_load((ROOT / "templates" / "channels.yaml").read_text(encoding="utf-8"))
PAGES = Path(__file__).parent / "fixtures" / "pages"


@pytest.fixture(scope="module")
def serum() -> ResearchNotes:
    # the example page's rating has no bestRating: say it is out of 5, as the page shows
    return research(str(ROOT / "examples" / "serum.html")).model_copy(update={"rating_scale": 5.0})


def channel(name: str) -> Channel:
    return Channel.model_validate(CHANNELS[name])


def draft(notes, channel_name="meta_static", **kw) -> Brief:
    kw.setdefault("offer", None)
    return draft_brief(notes, brand="Lumen Skin", channel_name=channel_name, channel=channel(channel_name), **kw)


def notes(**kw) -> ResearchNotes:
    return ResearchNotes(url="https://shop.example/p", **kw)


def copy_of(brief: Brief) -> list[str]:
    return [text for c in brief.concepts for text in (c.headline, c.subhead, c.cta)]


# --- drafting: six angles -------------------------------------------------------


def test_example_page_gets_six_concepts_from_six_angles(serum):
    brief = draft(serum, offer="Buy 2 get 1")
    by_name = {c.name: c for c in brief.concepts}
    assert list(by_name) == ["offer", "benefit", "second", "proof", "problem", "product"]
    assert by_name["offer"].headline == "Buy 2, get 1 free"
    assert by_name["offer"].subhead == "Stock up on Vitamin C Glow Serum"
    assert by_name["benefit"].headline == "Visibly brighter skin in 4 weeks"
    assert by_name["proof"].headline == "4.7 out of 5 from 1,284 reviews"
    assert by_name["proof"].subhead == "Vitamin C Glow Serum · $34"
    assert by_name["benefit"].subhead == "Vitamin C Glow Serum · $34"
    assert by_name["second"].headline == "Fragrance-free, vegan and cruelty-free"
    assert by_name["problem"].headline == "Lightweight, non-sticky texture"  # cut where the phrase ends
    assert by_name["product"].headline == "Vitamin C Glow Serum"
    assert by_name["product"].subhead == "Only $34"
    headlines = [c.headline.lower() for c in brief.concepts]
    assert len(set(headlines)) == 6  # six messages, no headline twice
    assert len({c.cta for c in brief.concepts}) >= 4  # CTAs follow the angle
    assert (brief.brand, brief.channel, brief.offer, brief.product) == (
        "Lumen Skin", "meta_static", "Buy 2 get 1", "Vitamin C Glow Serum")
    for c in brief.concepts:
        assert len(c.headline) <= 40 and len(c.subhead) <= 60
        assert len(c.cta) <= 16 and 1 <= len(c.cta.split()) <= 3
        assert c.scene and c.mood
        assert "orange" in c.scene  # vitamin C suggests citrus props
    assert len({c.scene for c in brief.concepts}) == 6


@pytest.mark.parametrize("name", list(CHANNELS))
def test_headlines_fit_every_channel_and_end_on_whole_words(serum, name):
    brief = draft(serum, channel_name=name, offer="Buy 2 get 1")
    limit = CHANNELS[name]["headline_max_chars"]
    source_words = set(" ".join([*serum.features, serum.description or ""]).lower().replace(",", " ").split())
    for c in brief.concepts:
        assert len(c.headline) <= limit
        if c.name in ("benefit", "second"):
            assert all(w.lower().strip(",") in source_words for w in c.headline.split())
    assert len({c.headline for c in brief.concepts}) == len(brief.concepts)
    assert brief.format == ("video" if CHANNELS[name].get("video") else "static")


def test_benefit_headline_shortened_cleanly_for_short_limit(serum):
    brief = draft(serum, channel_name="google_display")
    benefit = next(c for c in brief.concepts if c.name == "benefit")
    # 32 chars does not fit 30: the dangling "in 4 weeks" goes as a phrase, not "in 4".
    assert benefit.headline == "Visibly brighter skin"


def test_headlines_are_never_cut_mid_clause():
    n = notes(product_name="Volt Speaker", language="en", features=[
        "Integrated fast wireless charging lets you top up your phone while the music plays on",
        "Room-filling sound"])
    brief = draft(n)
    assert "Integrated fast wireless charging lets" not in [c.headline for c in brief.concepts]
    assert "Room-filling sound" in [c.headline for c in brief.concepts]


def test_the_advertisers_offer_is_used_as_given(serum):
    brief = draft(serum, offer="Free shipping this week")  # "shipping" is chrome on a page, not here
    assert brief.concepts[0].headline == "Free shipping this week"
    long = draft(serum, offer="20% off every serum this month with code GLOW20")  # never cut
    assert "offer" not in [c.name for c in long.concepts]
    assert any("does not fit the channel's 40-character headline" in note for note in long.notes)


def test_no_offer_means_price_led_offer_and_cta_override(serum):
    brief = draft(serum, cta="Get yours")
    assert brief.concepts[0].name == "offer" and brief.concepts[0].headline == "Only $34"
    assert {c.cta for c in brief.concepts} == {"Get yours"}
    assert brief.cta == "Get yours"


def test_sale_price_leads_with_the_regular_price_as_was_polish():
    n = notes(product_name="Ekspres do kawy Mleczko", language="pl", locale="pl_PL", price="997.00",
              regular_price="1148.00", currency="PLN", features=["Szybkie i łatwe czyszczenie"])
    offer = draft(n).concepts[0]
    assert (offer.name, offer.headline, offer.cta) == ("offer", "Teraz 997 zł, było 1 148 zł", "Skorzystaj")
    # a "was" price not above the price is no saving: plain price line
    same = n.model_copy(update={"regular_price": "997.00"})
    assert draft(same).concepts[0].headline == "Tylko 997 zł"


@pytest.mark.parametrize("price", [None, "0", "0.00"])
def test_no_price_printed_when_zero_or_absent(price):
    n = notes(product_name="Oak Desk Lamp", language="en", price=price, currency="ILS",
              features=["Warm dimmable light for late reading", "Solid oak base, hand finished"])
    brief = draft(n)
    assert all("ILS" not in t and "₪" not in t and " 0" not in t for t in copy_of(brief))
    assert "offer" not in [c.name for c in brief.concepts]
    assert "Angle 'offer' dropped: no offer was given and the page shows no usable price." in brief.notes
    assert "<!-- Note: Angle 'offer' dropped" in render_brief(brief)


def test_rating_only_with_a_known_scale_and_scaled_to_five():
    base = dict(product_name="Trail Runner 2", language="en", rating=8.7, review_count=1,
                features=["Grippy outsole for wet rock"])
    unknown = draft(notes(**base))
    assert "proof" not in [c.name for c in unknown.concepts]
    assert any("rating 8.7 has no known scale" in note for note in unknown.notes)
    assert not any("8.7" in t or "star" in t.lower() for t in copy_of(unknown))
    proof = next(c for c in draft(notes(**base, rating_scale=10)).concepts if c.name == "proof")
    assert proof.headline == "4.4 out of 5 from 1 review"  # singular, scaled from /10


def test_low_rating_is_not_proof():
    brief = draft(notes(product_name="Desk Fan", language="en", rating=3.2, rating_scale=5, review_count=40,
                        features=["Quiet airflow for hot nights"]))
    assert "proof" not in [c.name for c in brief.concepts]
    assert any("3.2 out of 5, below 4" in note for note in brief.notes)


def test_copy_hygiene_entities_tags_chrome_and_tracking_strings():
    n = notes(product_name="Caf&eacute; <b>cr&egrave;me</b>", language="en", price="12.50", currency="EUR",
              features=[
                  "<p>Smooth, low-acid coffee for calm days</p>",
                  "To learn how we process your data, visit our Privacy Policy",
                  "Bvseo_fps, prod_bvrr",
                  "Free shipping on orders over €50",
                  "|Listed in category:",
                  "Pay later with Klarna",
                  "2021-03-04T10:22:11Z",
                  "Roasted in small batches &amp; packed the same day",
              ])
    brief = draft(n)
    lines = copy_of(brief)
    joined = " ".join(lines)
    for bad in ("<", "&", "Privacy", "bvseo", "shipping", "Listed", "Klarna", "2021-"):
        assert bad.lower() not in joined.lower(), bad
    assert "Smooth, low-acid coffee for calm days" in lines
    assert brief.product == "Café crème"


def test_brand_casing_is_kept():
    brief = draft(notes(product_name="Stylus Pro", language="en",
                        features=["iPadOS gestures work out of the box", "eBay seller favourite for years"]))
    headlines = [c.headline for c in brief.concepts]
    assert "iPadOS gestures work out of the box" in headlines
    assert not any(h.startswith(("IPadOS", "EBay")) for h in headlines)


def test_raw_spec_strings_lose_to_benefits():
    n = notes(product_name="Aero Kettle", language="en", features=[
        "Weight: 1.2 kg", "1000 W", "Boils a full litre in under three minutes, quietly",
        "Capacity - 1.7 l", "Keeps water warm for an hour"])
    brief = draft(n)
    by_name = {c.name: c.headline for c in brief.concepts}
    assert by_name["benefit"] == "Keeps water warm for an hour"
    assert "1000 W" not in by_name.values() and "1.2 kg" not in by_name.values()


def test_dropped_angles_are_explained_and_other_benefits_stand_in():
    n = notes(product_name="Linen Throw", language="en", features=[
        "Soft stonewashed linen", "Breathable for warm nights", "Gets softer with every wash",
        "Generous 130 x 170 cm size"])
    brief = draft(n)
    names = [c.name for c in brief.concepts]
    assert names[:3] == ["benefit", "second", "product"] and names[3].startswith("benefit-")
    assert "Angle 'proof' dropped: the page shows no rating." in brief.notes
    assert any(note.startswith("Angle 'problem' dropped") for note in brief.notes)
    assert len({c.headline for c in brief.concepts}) == len(brief.concepts)
    assert len({c.scene for c in brief.concepts}) == len(brief.concepts)  # a stand-in takes a free shot
    text = render_brief(brief)
    assert parse_brief(text) == brief  # notes survive the round trip


def test_page_without_rating_or_offer_still_gets_concepts():
    n = research(str(PAGES / "plain.html"))
    brief = draft_brief(n, brand="Lumo Studio", channel_name="meta_static",
                        channel=channel("meta_static"), offer=None)
    by_name = {c.name: c.headline for c in brief.concepts}
    assert by_name["benefit"] == "Warm dimmable LED, 2700 K"
    assert by_name["product"] == "Oak Desk Lamp"
    assert "offer" not in by_name and "proof" not in by_name


def test_too_few_facts_is_a_clear_error():
    with pytest.raises(InputError) as err:
        draft_brief(notes(), brand="", channel_name="meta_static", channel=channel("meta_static"), offer=None)
    assert "too few usable facts" in err.value.message and err.value.exit_code == 2


def test_vietnamese_page_gets_vietnamese_copy_and_dong_price():
    n = research(str(PAGES / "vietnamese.html")).model_copy(update={"rating_scale": 5.0})
    brief = draft_brief(n, brand="Làn Da Việt", channel_name="meta_static",
                        channel=channel("meta_static"), offer=None)
    proof = next(c for c in brief.concepts if c.name == "proof")
    assert proof.headline == "4,6/5 sao từ 2.315 đánh giá"
    assert proof.cta == "Dùng thử ngay"
    assert proof.subhead.endswith("590.000 ₫")
    assert brief.concepts[0].headline == "Chỉ 590.000 ₫"
    # "Thái Nguyên" is a place: a shortened line never ends inside it
    assert not any(c.headline.endswith("Thái") for c in brief.concepts)


def test_french_page_gets_french_ctas():
    n = research(str(PAGES / "cp1252.html"))
    brief = draft_brief(n, brand="Dupré", channel_name="meta_static", channel=channel("meta_static"), offer=None)
    by_name = {c.name: c for c in brief.concepts}
    assert by_name["offer"].headline == "Seulement 12,50 €"
    assert (by_name["offer"].cta, by_name["benefit"].cta) == ("J'en profite", "Acheter")


def test_page_in_a_language_without_phrases_gets_english_and_a_note():
    n = notes(product_name="Sandal Classic", language="he", price="199.00", currency="ILS", locale="he_IL",
              features=["Soft leather straps for all-day comfort"])
    brief = draft(n)
    assert brief.concepts[0].cta == "Claim offer"
    assert brief.concepts[0].headline.startswith("Only ")
    assert "199" in brief.concepts[0].headline and "₪" in brief.concepts[0].headline
    assert any("The page is in 'he'" in note for note in brief.notes)
    assert "<!-- Note: The page is in 'he', which has no phrase file" in render_brief(brief)


@pytest.mark.parametrize(("lang", "cta"), [("de", "Jetzt kaufen"), ("it", "Acquista ora"), ("ru", "Купить"),
                                           ("ja", "購入する"), ("ko", "구매하기"), ("nl", "Koop nu")])
def test_ctas_in_the_pages_language(lang, cta):
    brief = draft(notes(product_name="Produkt X1", language=lang, features=["Feature one is nice", "Feature two"]))
    assert any(c.cta == cta for c in brief.concepts)


def test_shorten_never_cuts_mid_word():
    assert shorten("Smoother, low-acid coffee in 12 hours", 30) == "Smoother, low-acid coffee"
    assert shorten("Smoother, low-acid coffee in 12 hours", 24) == "Smoother, low-acid"
    assert shorten("Fragrance-free, vegan and cruelty-free", 25) == "Fragrance-free, vegan"
    assert shorten("short", 10) == "short"
    assert shorten("Chiết xuất trà xanh hữu cơ từ Thái Nguyên", 36) == "Chiết xuất trà xanh hữu cơ"
    assert shorten("Lamp (oak, 40 cm tall, warm light)", 20) == "Lamp"


def test_format_price():
    assert format_price("34.00", "USD") == "$34"
    assert format_price("24.99", "GBP", "en_GB") == "£24.99"
    assert format_price("1249.00", "USD") == "$1,249"
    assert format_price("590000", "VND", "vi_VN") == "590.000 ₫"
    assert format_price(None, "USD") is None


# --- render / parse -------------------------------------------------------------


def test_render_parse_round_trip(serum, tmp_path):
    brief = draft(serum, offer="Buy 2 get 1", avoid=["cheap", "miracle cure"], must_have=["30 ml"])
    text = render_brief(brief)
    assert text.startswith("---\nbrand: Lumen Skin\n")
    assert "<!--" in text and "## Concept: offer" in text
    assert "- **Headline:** Buy 2, get 1 free" in text
    parsed = parse_brief(text)
    assert parsed == brief
    assert render_brief(parsed) == text
    write_brief(brief, tmp_path / "brief.md")
    assert read_brief(tmp_path / "brief.md") == brief
    assert [p.name for p in tmp_path.iterdir()] == ["brief.md"]  # no temp file left behind


HAND_EDITED = """
<!-- my notes -->
---
Brand: Lumen Skin
channel: meta_static
offer: 20% off
cta: Shop now
avoid: cheap, miracle
must-have:
  - 30 ml
---

Some notes for the team, ignored.

# Title

### concept - Summer Sale
* Headline: 20% off all summer
*   **subhead**: Vitamin C Glow Serum, 30 ml
- __Scene:__ dropper bottle on warm sand,
  long afternoon shadows
- mood: sunny

## Concept:proof
- **HEADLINE:** Loved by 1,284 customers
- **Call to action:** Try it
- **Background:** bathroom shelf in morning light
"""


def test_forgiving_parse_of_hand_edited_brief():
    brief = parse_brief(HAND_EDITED)
    assert brief.brand == "Lumen Skin" and brief.offer == "20% off"
    assert brief.avoid == ["cheap", "miracle"] and brief.must_have == ["30 ml"]
    sale, proof = brief.concepts
    assert sale == Concept(
        name="summer-sale",
        headline="20% off all summer",
        subhead="Vitamin C Glow Serum, 30 ml",
        cta="Shop now",  # from the header
        scene="dropper bottle on warm sand, long afternoon shadows",
        mood="sunny",
    )
    assert (proof.name, proof.headline, proof.cta, proof.scene) == (
        "proof", "Loved by 1,284 customers", "Try it", "bathroom shelf in morning light")
    # Normalised on the way out: rendering it again is stable.
    assert parse_brief(render_brief(brief)) == brief


VALID = """---
brand: Lumen Skin
channel: meta_static
---
## Concept: a
- **Headline:** Hello
- **CTA:** Go
- **Scene:** a sunny beach
## Concept: b
- **Headline:** World
- **CTA:** Go
- **Scene:** a forest
"""


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("- **Headline:** World\n", ""), "my.md:9: concept 'b' has no Headline"),
        (lambda t: t.replace("- **CTA:** Go\n- **Scene:** a forest", "- **CTA:** Go\n- **Sceen:** a forest"),
         "my.md:12: unknown field 'Sceen' in concept 'b'"),
        (lambda t: t.replace("- **Scene:** a sunny beach", "- **Scene:** a sunny beach\n\n- **CTA:** Again"),
         "my.md:10: CTA given twice in concept 'a' (first on line 7)"),
        (lambda t: t.replace("channel: meta_static", "chanel: meta_static"), "my.md:3: unknown header key 'chanel'"),
        (lambda t: t.replace("channel: meta_static", "channel: [meta"), "my.md:3: invalid YAML in the header"),
        (lambda t: t.replace("brand: Lumen Skin\n", ""), "my.md:1: the header has no 'brand'"),
        (lambda t: t.replace("## Concept: b", "## Concept: a"), "my.md:9: duplicate concept name 'a'"),
        (lambda t: t.split("## Concept: b")[0], "my.md:9: a brief needs at least 2 concepts, found 1"),
        (lambda t: t.replace("---\nbrand", "brand", 1), "my.md:1: expected the YAML header to start"),
        (lambda t: t.replace("- **CTA:** Go\n- **Scene:** a sunny", "- **CTA:** Go\n\nstray words\n- **Scene:** a sunny"),
         "my.md:9: unexpected text in concept 'a': 'stray words'"),
        (lambda t: t.replace("---\n## Concept: a", "---\n- **Headline:** Orphan\n## Concept: a"),
         "my.md:5: field 'Headline' is outside any concept"),
    ],
)
def test_parse_errors_name_file_and_line(edit, expected):
    assert parse_brief(VALID, source="my.md").concepts[1].scene == "a forest"
    with pytest.raises(InputError) as err:
        parse_brief(edit(VALID), source="my.md")
    assert err.value.message.startswith(expected), err.value.message
    assert err.value.exit_code == 2


def test_read_brief_missing_file(tmp_path):
    with pytest.raises(InputError, match="Brief not found: .*none.md"):
        read_brief(tmp_path / "none.md")


# --- policy ---------------------------------------------------------------------


def test_policy_refuses_avoided_and_banned_terms(serum):
    brief = draft(serum, offer="Buy 2 get 1").model_copy(update={"avoid": ["stock up"]})
    with pytest.raises(InputError) as err:
        check_policy(brief, [])
    msg = err.value.message
    assert "concept 'offer'" in msg and "Subhead" in msg and "'stock up'" in msg
    assert "avoid list" in msg

    clean = brief.model_copy(update={"avoid": []})
    with pytest.raises(InputError, match=r"concept 'proof' Headline .* contains 'REVIEWS' from the brand's banned"):
        check_policy(clean, ["REVIEWS"])
    check_policy(clean, ["review", "cheap"])  # whole words only: "reviews" is not "review"
