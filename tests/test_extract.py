"""Extraction of product facts from fixture pages (stdlib parser, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from creative.research.extract import extract_notes
from creative.research.static import decode_html

PAGES = Path(__file__).parent / "fixtures" / "pages"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "serum.html"


def page(name: str) -> str:
    html, _ = decode_html((PAGES / name).read_bytes())
    return html


def test_example_serum_page_has_every_fact_with_its_source():
    notes = extract_notes(EXAMPLE.read_text(encoding="utf-8"), "https://lumenskin.example/p/serum")
    assert notes.product_name == "Vitamin C Glow Serum"
    assert notes.brand == "Lumen Skin"
    assert (notes.price, notes.currency, notes.availability) == ("34.00", "USD", "in stock")
    assert notes.rating == 4.7 and notes.review_count == 1284
    assert notes.language == "en"
    assert notes.sources["price"] == "json-ld Product.offers"
    assert notes.sources["rating"] == "json-ld Product.aggregateRating"
    assert notes.features[0] == "15% vitamin C for visibly brighter skin in 4 weeks"
    assert len(notes.features) == 5
    # Header navigation and footer links are not product features.
    assert not any("Cart" in f or "Privacy" in f for f in notes.features)
    assert notes.image_urls[0] == "https://lumenskin.example/images/glow-serum-front.jpg"


def test_shopify_like_page_uses_og_price_and_skips_navigation():
    notes = extract_notes(page("shopify.html"), "https://beanbros.example/products/cold-brew-kit")
    assert notes.product_name == "Cold Brew Coffee Kit"
    # The shop's name is the site, not evidence of the maker.
    assert notes.site_name == "Bean Bros" and notes.sources["site_name"] == "og:site_name"
    assert notes.brand is None
    assert (notes.price, notes.currency) == ("1249.00", "USD")
    assert notes.sources["price"] == "og:price:amount"
    # Unclosed <li> tags are closed by the next one, as browsers do.
    assert notes.features == [
        "Smoother, low-acid coffee in 12 hours",
        "Reusable stainless steel filter & 1 L glass jar",
        "Includes 250 g of single-origin Colombian beans",
    ]
    assert notes.sources["features"] == "html <li> in the product's feature list"
    assert notes.title == "Cold Brew Coffee Kit \u2013 Bean Bros"
    assert notes.image_urls == [
        "https://cdn.beanbros.example/files/cold-brew-kit.jpg?v=1699",
        "https://beanbros.example/cdn/shop/files/kit-side.jpg",
    ]
    assert notes.language == "en" and notes.locale == "en_US"
    assert notes.rating is None


def test_woocommerce_graph_aggregate_offer_and_base_href():
    notes = extract_notes(page("woocommerce.html"), "https://shop.example.co.uk/p/socks/")
    assert notes.product_name == "Merino Wool Hiking Socks (3 pack)"
    assert notes.brand == "Trail & Peak"
    assert (notes.price, notes.currency) == ("24.99", "GBP")
    assert notes.availability == "limited availability"
    assert notes.rating == 4.85 and notes.review_count == 312
    assert notes.description == "Cushioned merino socks that stay warm when wet and fresh for days."
    assert notes.sources["description"] == "json-ld Product.description"
    assert "Odour resistant for multi-day hikes" in notes.features
    assert not any("Recently viewed" in f for f in notes.features)  # <aside>
    assert not any(f in ("Home", "Socks") for f in notes.features)  # link-only breadcrumb
    assert notes.image_urls == [
        "https://shop.example.co.uk/wp-content/uploads/socks-main.jpg",
        "https://shop.example.co.uk/wp-content/uploads/socks-detail.jpg",
    ]


def test_page_without_structured_data_falls_back_to_html():
    notes = extract_notes(page("plain.html"), "https://lumo.example/lamps/oak")
    assert notes.product_name == "Oak Desk Lamp"
    assert notes.sources["product_name"] == "html <h1>"
    assert notes.description == "A hand-turned oak desk lamp with a warm dimmable LED."
    assert notes.sources["description"] == "meta description"
    assert notes.price is None and notes.brand is None
    # No <html lang>: the language identifier reads the page text.
    assert notes.language == "en" and notes.sources["language"] == "language identifier on the page text"
    assert notes.features == ["Warm dimmable LED, 2700 K", "Solid oak base, hand finished in Portugal"]
    assert notes.main_text.startswith("Hand-turned from solid European oak")
    assert "Lisbon" not in notes.main_text  # footer
    assert notes.image_urls == ["https://lumo.example/lamps/images/lamp.jpg", "https://cdn.lumo.example/lamp-2.jpg"]


def test_vietnamese_page_keeps_diacritics_and_locale_numbers():
    notes = extract_notes(page("vietnamese.html"), "https://landaviet.example/kem")
    assert notes.language == "vi"
    assert notes.product_name == "Kem Dưỡng Ẩm Trà Xanh 50ml"
    assert notes.brand == "Làn Da Việt"
    assert (notes.price, notes.currency) == ("590000", "VND")
    assert notes.rating == 4.6
    assert notes.review_count == 2315  # "2.315" uses a dot as thousands separator
    assert notes.features[0] == "Da mềm mịn và sáng khỏe chỉ sau 7 ngày"


def test_windows_1252_page_declared_in_meta_is_decoded():
    raw = (PAGES / "cp1252.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is not UTF-8
    html, charset = decode_html(raw)
    assert charset == "cp1252"
    notes = extract_notes(html, "https://dupre.example/cafe")
    assert notes.title == "Café crème – Torréfaction Dupré"
    assert notes.description == "Un café « doux » et crémeux – 12,50 € le paquet."
    assert (notes.price, notes.currency) == ("12.50", "EUR")
    assert notes.features[1] == "Torréfié à Lyon — “slow roast”"


def test_jsonld_variants_brand_string_list_offers_and_invalid_blocks():
    html = """<html><head>
    <script type="application/ld+json">{ not json </script>
    <script type="application/ld+json">
      {"@context":"https://schema.org","@type":"WebPage","mainEntity":
        {"@type":"Product","name":"Trail Runner","brand":["Stride"],
         "offers":[{"@type":"Offer","priceSpecification":{"price":"89.5","priceCurrency":"EUR"},
                    "availability":"OutOfStock"}],
         "aggregateRating":{"ratingValue":"4","reviewCount":"1,024"}}}
    </script></head><body></body></html>"""
    notes = extract_notes(html, "https://stride.example/p")
    assert notes.product_name == "Trail Runner"
    assert notes.brand == "Stride"
    assert (notes.price, notes.currency, notes.availability) == ("89.5", "EUR", "out of stock")
    assert notes.rating == 4.0 and notes.review_count == 1024


def test_broken_markup_degrades_without_crashing():
    html = "<html><title>Half a page</title><body><div class=features><ul><li>one warm glow<li><b>two hours"
    notes = extract_notes(html, "https://x.example/")
    assert notes.title == "Half a page"
    assert notes.product_name == "Half a page"
    assert notes.features == ["one warm glow", "two hours"]
