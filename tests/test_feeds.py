"""Product feeds: each format read from the sample feeds, and feeds that do not parse named by line or row."""

from __future__ import annotations

from pathlib import Path

import pytest

from creative.core.errors import InputError
from creative.research.feeds import feed_notes, parse_feed

FEEDS = Path(__file__).resolve().parents[1] / "examples" / "feeds"


def read(name: str, **kw):
    return parse_feed((FEEDS / name).read_bytes(), name, **kw)


def test_merchant_center_rss_with_g_namespace():
    feed = read("merchant_center.xml")
    assert feed.format == "google-merchant"
    serum, cream = feed.items
    assert (serum.id, serum.title, serum.price, serum.sale_price, serum.brand) == (
        "LS-SERUM-30", "Vitamin C Glow Serum 30 ml", "34.00 EUR", "29.00 EUR", "Lumen Skin")
    assert serum.product_type == "Skincare > Serums" and serum.link.endswith("/glow-serum")
    assert [(s.id, s.reason) for s in feed.skipped] == [
        ("LS-MIST-100", "out of stock (out_of_stock)"), ("LS-GIFT", "no price"), ("LS-NOLINK", "missing link")]
    assert all(s.where.startswith("line ") for s in feed.skipped)


def test_merchant_center_atom():
    atom = b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">
  <entry><g:id>A1</g:id><title>Atom Serum</title><link href="https://shop.example/a1"/>
    <summary>Brightening serum.</summary><g:price>10.00 USD</g:price><g:availability>in stock</g:availability></entry>
</feed>"""
    [item] = parse_feed(atom, "atom.xml").items
    assert (item.id, item.title, item.link, item.description) == ("A1", "Atom Serum", "https://shop.example/a1",
                                                                 "Brightening serum.")


def test_meta_catalog_csv_and_tsv():
    csv_feed = read("meta_catalog.csv")
    assert [i.id for i in csv_feed.items] == ["LS-SERUM-30", "LS-CREAM-50"]
    assert [(s.id, s.where, s.reason) for s in csv_feed.skipped] == [
        ("LS-MIST-100", "row 4", "out of stock (out of stock)"), ("LS-NOTITLE", "row 5", "missing title")]
    tsv_feed = read("meta_catalog.tsv")
    assert tsv_feed.format == "meta-catalog-tsv" and tsv_feed.items[0].title == "Vitamin C Glow Serum 30 ml"


def test_shopify_products_json():
    feed = read("shopify_products.json", store_url="https://lumen-skin.example")
    [serum] = feed.items
    assert serum.link == "https://lumen-skin.example/products/glow-serum"
    assert (serum.price, serum.sale_price) == ("34.00", "29.00")
    assert serum.description.startswith("A lightweight 15% vitamin C serum")  # HTML stripped
    assert [(s.id, s.reason) for s in feed.skipped] == [("7002", "out of stock (out of stock)")]
    unlinked = read("shopify_products.json")  # from a file, without the store's address: no link
    assert [s.reason for s in unlinked.skipped][0] == "missing link"


def test_plain_url_list():
    feed = read("urls.txt")
    assert [(i.id, i.link) for i in feed.items] == [
        ("line-2", "https://lumen-skin.example/products/glow-serum"),
        ("line-3", "https://lumen-skin.example/products/night-cream")]
    assert feed_notes(feed.items[0]) is None  # no facts in the feed: the page is researched


def test_notes_from_the_feed_use_the_sale_price():
    notes = feed_notes(read("merchant_center.xml").items[0])
    assert notes is not None and notes.backend == "feed"
    assert (notes.product_name, notes.price, notes.currency, notes.brand) == (
        "Vitamin C Glow Serum 30 ml", "29.00", "EUR", "Lumen Skin")


@pytest.mark.parametrize("data, where", [
    (b"<rss><channel><item><title>x</title></item>\n<item>\n</channel></rss>", "line 3"),
    (b'{"products": [\n  {"id": 1,}\n]}', "line 2"),
    (b"id,title,link\n1,A,https://a.example\n2,\"B,https://b.example\n", "row 3"),
    (b"id,title,link\n1,A,https://a.example,extra\n", "row 2"),
    (b"https://a.example/p\nnot a url\n", "line 2"),
    (b"id,name,link\n1,A,https://a.example\n", "row 1"),
])
def test_a_feed_that_does_not_parse_names_its_line_or_row(data, where):
    with pytest.raises(InputError) as info:
        parse_feed(data, "feed")
    assert f"feed: {where}" in info.value.message
