"""Each research rule on a small page of our own (tests/fixtures/pages/rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from creative.research.extract import extract_notes
from creative.research.features import is_junk
from creative.research.naming import strip_chrome

RULES = Path(__file__).parent / "fixtures" / "pages" / "rules"


def notes_of(name: str, url: str = "https://shop.example/p/1"):
    return extract_notes((RULES / name).read_text(encoding="utf-8"), url)


# --- prices ---------------------------------------------------------------------------


def test_microdata_price_on_a_span_content_attribute():
    n = notes_of("microdata_span.html", "https://werkhaus.example/p/gsr")
    assert (n.price, n.currency) == ("89.99", "EUR")
    assert n.sources["price"] == "microdata Product.offers"
    assert n.brand == "Bosch" and n.sources["brand"] == "microdata Product.brand"
    assert (n.language, n.locale) == ("de", "de_DE")


def test_microdata_values_from_element_text_with_comments_inside():
    # extruct reads a text value through lxml.html's cleaner, which drops the comments: the page's
    # tree must be made of lxml.html's element and comment classes for that to work.
    n = notes_of("microdata_text.html", "https://northshop.example/p/doorbell")
    assert (n.price, n.currency) == ("229.99", "CAD")
    assert n.sources["price"] == "microdata Product.offers"
    assert n.brand == "Hearthline" and n.sources["brand"] == "microdata Product.brand"


def test_jsonld_in_cdata_and_comments_with_lower_case_types_and_graph():
    n = notes_of("jsonld_cdata.html")
    assert n.product_name == "Kaffeemühle Classic"
    assert (n.price, n.currency, n.brand) == ("49.90", "EUR", "Röstwerk")
    assert n.sources["price"] == "json-ld Product.offers"
    # The second block hides in an HTML comment and a @graph; 'Startseite' is the home crumb.
    assert n.breadcrumbs == ["Küche", "Kaffeemühlen"]
    assert n.category == "Küche > Kaffeemühlen" and n.sources["category"] == "json-ld BreadcrumbList"
    assert n.site_name == "Röstwerk"


def test_sale_price_beats_the_regular_one_which_is_kept():
    n = notes_of("sale_price.html")
    assert (n.price, n.regular_price, n.currency) == ("997.00", "1148.00", "PLN")
    assert n.sources["price"] == "product:sale_price:amount"
    assert (n.language, n.locale) == ("pl", "pl_PL")


def test_strikethrough_price_specification_is_the_was_price():
    n = notes_of("strikethrough.html")
    assert (n.price, n.regular_price, n.currency) == ("45.00", "60.00", "GBP")


def test_price_before_vat_yields_to_the_price_the_page_shows():
    n = notes_of("vat.html", "https://livraria.example/p/codigo")
    assert (n.price, n.currency) == ("71.91", "EUR")
    assert n.sources["price"] == "visible price (VAT included)"
    assert n.regular_price == "79.90"  # shown as the old price
    assert n.product_name == "Código do Trabalho - Anotado"  # the ' - ' inside a name stays


def test_zero_price_is_no_price():
    n = notes_of("price_zero.html")
    assert n.price is None and n.regular_price is None
    assert "price" not in n.sources
    assert n.brand == "MONT BLANC"


def test_visible_price_without_structured_data_skips_header_and_carousels():
    n = notes_of("visible_only.html", "https://landaviet.vn/sua-rua-mat")
    assert (n.price, n.currency) == ("185000", "VND")
    assert n.sources["price"] == "visible price"
    assert n.product_name == "Sữa rửa mặt trà xanh"


def test_rdfa_product_price_and_brand():
    n = notes_of("rdfa.html")
    assert (n.product_name, n.brand, n.price, n.currency) == ("Théière en fonte 1 L", "Iwachu", "59.00", "EUR")
    assert n.sources["brand"] == "rdfa Product.brand"


# --- ratings ----------------------------------------------------------------------------


def test_rating_out_of_ten_keeps_its_scale_and_a_single_review():
    n = notes_of("rating_ten.html")
    assert (n.rating, n.rating_scale, n.review_count) == (8.7, 10.0, 1)
    assert n.sources["rating_scale"] == "json-ld Product.aggregateRating.bestRating"


def test_rating_above_five_without_a_scale_is_dropped():
    n = notes_of("rating_unknown_scale.html")
    assert n.rating is None and n.rating_scale is None
    assert n.review_count == 42  # the count is a fact whatever the scale


# --- names and brands --------------------------------------------------------------------


def test_h1_beats_og_title_and_the_shop_logo_heading():
    n = notes_of("title_chrome.html", "https://www.argos.co.uk/product/123")
    assert n.product_name == "Oak Desk Lamp" and n.sources["product_name"] == "html <h1>"
    assert n.site_name == "Argos"
    assert n.brand is None  # the retailer is not the maker


def test_split_title_keeps_the_product_not_the_shop():
    n = notes_of("split_title.html", "https://www.amazon.com/dp/B07")
    assert n.product_name == "Echo Dot (3rd Gen) Smart Speaker"
    assert n.sources["product_name"] == "html <title>"


@pytest.mark.parametrize(("title", "site", "expected"), [
    ("Buy Oak Lamp | Argos", "Argos", "Oak Lamp"),
    ("Oak Lamp: Amazon.co.uk: Kitchen & Home", "Amazon.co.uk", "Oak Lamp"),
    ("Amazon.com : Echo Dot : Amazon Devices", "Amazon.com", "Echo Dot"),
    ("Amazon.com: Echo Dot (3rd Gen) - Smart speaker - Charcoal: Amazon Devices", "Amazon.com",
     "Echo Dot (3rd Gen) - Smart speaker - Charcoal"),
    ("Lampe Oslo - Beleuchtung | OTTO", "OTTO", "Lampe Oslo - Beleuchtung"),
    ("Sofa Oslo - grey - Kiabi - 20,00€", "Kiabi", "Sofa Oslo - grey"),
    ("Code du travail - Annoté", "Librairie", "Code du travail - Annoté"),
    ("Cheese Slicer - Buy Cheese Slicer,Grater Product on Alibaba.com", "Alibaba.com", "Cheese Slicer"),
])
def test_shop_chrome_is_stripped_from_titles(title, site, expected):
    assert strip_chrome(title, [site.lower()]) == expected


def test_structured_maker_beats_the_retailer():
    n = notes_of("retailer_brand.html", "https://www.otto.de/p/123")
    assert n.brand == "Bosch" and n.sources["brand"] == "json-ld Product.manufacturer"
    assert n.site_name == "OTTO"
    assert (n.price, n.currency) == ("649.00", "EUR")


def test_retailer_is_never_the_brand_of_another_makers_product():
    n = notes_of("retailer_only.html", "https://www.ebay.com/itm/1")
    assert n.product_name == "Vintage Camera Strap"
    assert n.brand is None and n.site_name == "eBay"


def test_shop_name_is_the_brand_on_its_own_product():
    html = ('<html lang="en"><head><title>Lumen Skin Night Cream | Lumen Skin</title>'
            '<meta property="og:site_name" content="Lumen Skin"></head>'
            '<body><h1>Lumen Skin Night Cream</h1></body></html>')
    n = extract_notes(html, "https://lumenskin.example/p/night")
    assert n.brand == "Lumen Skin" and "own product" in n.sources["brand"]


# --- text -----------------------------------------------------------------------------------


def test_features_are_never_consent_payment_shipping_reviews_or_tracking():
    n = notes_of("junk_features.html")
    assert n.features == [
        "Crushes ice in 10 seconds",
        "Half the noise of a standard blender",
        "Dishwasher-safe 1.5 L glass jug",
    ]
    assert n.breadcrumbs == ["Kitchen appliances"]
    assert n.main_text.startswith("A blender that crushes ice")


@pytest.mark.parametrize("text", [
    "To learn how we process your data, visit our Privacy Policy", "Sicherer Kauf auf Rechnung",
    "|Listed in category:", "Bvseo_fps, prod_bvrr", "2024-03-01T10:15:00Z", "4.6 stars from 1 reviews",
    "Kostenloser Versand ab 50 €", "€ 19,99", "cp_1, bvpage1", "原價： 45", "Plus de produits Casio",
    "Product Code - 39139301", "Terms and conditions apply",
])
def test_chrome_lines_are_junk(text):
    assert is_junk(text)


@pytest.mark.parametrize("text", ["Crushes ice in 10 seconds", "Da mềm mịn sau 7 ngày", "保湿成分配合"])
def test_feature_lines_are_not_junk(text):
    assert not is_junk(text)


def test_every_text_is_unescaped_and_stripped_of_tags():
    n = notes_of("entities.html", "https://www.paris.cl/cama")
    assert n.product_name == "Cama Eloísa Single 1.5 Plazas"
    assert n.description == "Cama con 2 cajones & respaldo tapizado."
    assert n.category == "Dormitorio > Camas" and n.sources["category"] == "json-ld Product.category"
    assert (n.price, n.currency, n.locale) == ("229990", "CLP", "es_CL")


def test_missing_html_lang_is_identified_from_the_text():
    n = notes_of("no_lang.html", "https://sklep.example.pl/krem")
    assert (n.language, n.locale) == ("pl", "pl_PL")
    assert n.sources["language"] == "language identifier on the page text"
    # No currency code anywhere: the printed 'zł' names it.
    assert (n.price, n.currency) == ("49.99", "PLN")


def test_dollar_sign_is_read_with_the_shops_country():
    html = ('<html lang="es-CL"><body><h1>Consola Retro</h1>'
            '<span class="price">$229.990</span></body></html>')
    n = extract_notes(html, "https://tienda.example.cl/p")
    assert (n.price, n.currency) == ("229990", "CLP")


@pytest.mark.parametrize(("html_name", "expected"), [
    ("KORG Kross 2 88 workstation", "KORG"),
    ("מחשב נייח i7 16GB 480SSD דגם: OPTIPLEX 9010", "OPTIPLEX"),  # a Latin maker in a Hebrew name
    ("LED Desk Lamp", None),  # an acronym, not a maker
    ("Oak Desk Lamp", None),
])
def test_leading_brand_in_the_name_when_nothing_structured_names_the_maker(html_name, expected):
    html = f'<html lang="en"><head><title>{html_name}</title></head><body><h1>{html_name}</h1></body></html>'
    n = extract_notes(html, "https://shop.example/p")
    assert n.brand == expected
    if expected:
        assert n.sources["brand"] == "leading brand word in the product name"


def test_the_page_own_product_is_chosen_over_a_carousel_of_others():
    html = """<html lang="en"><head><title>Walnut Chair | Woodhouse</title>
    <script type="application/ld+json">[
      {"@type":"Product","name":"Pine Stool","offers":{"@type":"Offer","price":"39","priceCurrency":"USD"}},
      {"@type":"Product","name":"Walnut Chair","brand":"Woodhouse Makers",
       "offers":{"@type":"Offer","price":"249","priceCurrency":"USD"}}]</script></head>
    <body><h1>Walnut Chair</h1></body></html>"""
    n = extract_notes(html, "https://woodhouse.example/p/chair")
    assert (n.product_name, n.brand, n.price) == ("Walnut Chair", "Woodhouse Makers", "249")


def test_brand_from_a_specification_table_on_a_marketplace():
    n = notes_of("spec_table.html", "https://www.ebay.co.uk/itm/1")
    assert n.brand == "Makita" and n.sources["brand"] == "html specification table 'Brand'"
    assert (n.price, n.currency, n.site_name) == ("79.99", "GBP", "eBay")


def test_byline_brand_and_a_price_drawn_for_screen_readers_and_eyes():
    n = notes_of("byline.html", "https://www.amazon.co.uk/dp/B0")
    assert n.product_name == "Cordless Screwdriver IXO, 3.6 V"
    assert n.brand == "Bosch" and n.sources["brand"] == "html brand element"
    assert (n.price, n.currency) == ("34.99", "GBP")


def test_structured_price_shown_struck_through_yields_to_the_printed_sale_price():
    html = """<html lang="en-US"><head><title>Desk Fan</title>
    <script type="application/ld+json">{"@type":"Product","name":"Desk Fan",
      "offers":{"@type":"Offer","price":"59.00","priceCurrency":"USD"}}</script></head>
    <body><h1>Desk Fan</h1><div class="pricing"><span class="price-now">$44.00</span>
    <span class="price-was">$59.00</span><span class="price-save">$5.00 off shipping</span></div></body></html>"""
    n = extract_notes(html, "https://fans.example/p")
    assert (n.price, n.regular_price, n.currency) == ("44.00", "59.00", "USD")


def test_a_theme_default_lang_en_yields_to_the_language_the_page_is_written_in():
    text = ("Ten lekki krem nawilżający szybko się wchłania i pozostawia skórę miękką i gładką przez "
            "cały dzień. Zawiera ekstrakt z zielonej herbaty oraz kwas hialuronowy, które chronią skórę "
            "przed przesuszeniem i dodają jej blasku. Stosuj rano i wieczorem na oczyszczoną skórę twarzy.")
    html = f'<html lang="en"><head><title>Krem</title></head><body><h1>Krem nawilżający</h1><p>{text}</p></body></html>'
    n = extract_notes(html, "https://sklep.example/krem")
    assert (n.language, n.locale) == ("pl", "pl_PL")
    assert n.sources["language"] == "language identifier (html lang says en)"
    english = html.replace(text, "A light moisturiser that sinks in fast and leaves skin soft all day. " * 5)
    assert extract_notes(english, "https://shop.example/cream").language == "en"


def test_a_language_without_country_takes_the_shops_country():
    html = '<html lang="es"><head><title>Cama</title></head><body><h1>Cama Nido</h1></body></html>'
    n = extract_notes(html, "https://www.tienda.example.cl/cama")
    assert (n.language, n.locale) == ("es", "es_CL")
    assert extract_notes(html, "https://tienda.example.com/cama").locale == "es_ES"


def test_breadcrumbs_drop_the_shop_and_the_whole_catalogue():
    html = """<html lang="en"><head><title>Oak Stool | Woodhouse</title>
    <meta property="og:site_name" content="Woodhouse"></head><body>
    <ol class="breadcrumbs"><li><a href="/">Woodhouse</a></li><li><a href="/p">Products</a></li>
    <li><a href="/p/seating">Seating</a></li><li>Oak Stool</li></ol><h1>Oak Stool</h1></body></html>"""
    n = extract_notes(html, "https://woodhouse.example/p/oak-stool")
    assert n.breadcrumbs == ["Seating"] and n.sources["breadcrumbs"] == "html breadcrumb"
    assert n.category == "Seating"


def test_brand_label_and_value_in_nested_cells_and_a_prefixed_dollar():
    html = """<html lang="en-US"><head><title>Drill | eBay</title><meta property="og:site_name" content="eBay">
    </head><body><h1><span class="x-item-title__mainTitle">Cordless Drill 18V</span></h1>
    <div class="x-price-primary"><span class="ux-textspans">US $59.99</span></div>
    <div class="ux-labels-values"><div class="ux-labels-values__labels"><div><span>Brand</span></div></div>
    <div class="ux-labels-values__values"><div><span>Makita</span></div></div></div></body></html>"""
    n = extract_notes(html, "https://www.ebay.com/itm/2")
    assert (n.brand, n.price, n.currency) == ("Makita", "59.99", "USD")


def test_an_svg_title_is_not_the_page_title():
    n = extract_notes('<svg><title>icon</title></svg><h1>Oak Desk Lamp</h1>', "https://shop.example/p")
    assert n.title is None and n.product_name == "Oak Desk Lamp"


def test_a_price_in_the_products_own_header_is_the_price():
    html = """<html lang="en-GB"><head><title>Wool Throw | Homestead</title></head><body>
    <header class="site-header"><span class="basket-price">£0.00</span></header>
    <div class="product-header"><h1>Wool Throw</h1><span class="price">£65.00</span></div>
    <div class="recently-viewed"><span class="price">£12.00</span></div></body></html>"""
    n = extract_notes(html, "https://homestead.example.co.uk/p/throw")
    assert (n.price, n.currency) == ("65.00", "GBP")


def test_a_wrapper_named_like_chrome_around_the_product_keeps_its_features():
    html = """<html lang="en"><head><title>Quiet Blender</title></head><body>
    <div class="layout has-header"><div class="product-description"><h1>Quiet Blender</h1>
    <ul><li>Crushes ice in 10 seconds</li><li>Half the noise of a jug blender</li></ul></div></div>
    <div class="site-footer"><ul><li>About our company story</li></ul></div></body></html>"""
    n = extract_notes(html, "https://blend.example/p")
    assert n.features == ["Crushes ice in 10 seconds", "Half the noise of a jug blender"]


def test_menus_and_more_links_are_not_features():
    html = """<html lang="en"><head><title>Linen Shirt</title></head><body><h1>Linen Shirt</h1>
    <ul><li>Clothes <a href="/t">Trousers</a> <a href="/j">Jeans</a> <a href="/s">Long sleeve shirts</a></li>
    <li><a href="/more">More linen shirts from our summer range</a></li>
    <li>Categories: Men &gt; Shirts &gt; Linen</li>
    <li>Breathable washed linen</li><li>Relaxed fit with a camp collar</li></ul></body></html>"""
    n = extract_notes(html, "https://shirts.example/p")
    assert n.features == ["Breathable washed linen", "Relaxed fit with a camp collar"]


def test_shop_sentences_leave_the_description():
    html = """<html lang="en-GB"><head><title>Oak Lamp | Argos</title>
    <meta property="og:site_name" content="Argos">
    <meta name="description" content="A hand-turned oak lamp with a warm glow. Buy it at Argos today.
    Free delivery on orders over £50."></head><body><h1>Oak Lamp</h1></body></html>"""
    n = extract_notes(html, "https://www.argos.co.uk/p/1")
    assert n.description == "A hand-turned oak lamp with a warm glow."
