"""Product feeds: Google Merchant Center RSS/Atom, Meta catalog CSV/TSV, Shopify products.json, URL lists.

`parse_feed(data, source)` gives the feed's products and, for every item left out, where it was
and why (missing title or link, out of stock, no price). A feed that does not parse at all raises
InputError naming its line or row. `feed_notes(item)` turns a product into the research notes a
brief is drafted from, so its page is fetched only when the feed lacks what the brief needs.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import etree
from price_parser import Price

from creative.core.errors import InputError
from creative.core.models import ResearchNotes

G_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
FIELDS = ("id", "title", "description", "link", "image_link", "price", "sale_price", "brand", "availability",
          "product_type")
OUT_OF_STOCK = {"out of stock", "out_of_stock", "outofstock", "sold out", "discontinued"}


@dataclass
class FeedItem:
    """One product as the feed describes it; `where` is its line or row in the feed."""

    id: str
    where: str
    title: str | None = None
    description: str | None = None
    link: str | None = None
    image_link: str | None = None
    price: str | None = None  # as the feed writes it, e.g. "24.00 EUR"
    sale_price: str | None = None
    brand: str | None = None
    availability: str | None = None
    product_type: str | None = None
    needs_title: bool = True  # a plain URL list has none: the page gives it


@dataclass
class Skipped:
    id: str
    where: str
    reason: str


@dataclass
class Feed:
    format: str
    items: list[FeedItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def parse_feed(data: bytes, source: str, *, store_url: str | None = None) -> Feed:
    """Read any supported feed; items missing a title or link, out of stock or without a price are skipped."""
    text = data.decode("utf-8-sig", errors="replace")
    head = text.lstrip()[:200]
    if head.startswith("<"):
        feed = _xml(data, source)
    elif head.startswith(("{", "[")):
        feed = _shopify(text, source, store_url or _origin(source))
    elif _looks_tabular(text):
        feed = _table(text, source)
    else:
        feed = _urls(text, source)
    kept = []
    for item in feed.items:
        reason = _skip_reason(item)
        if reason:
            feed.skipped.append(Skipped(item.id, item.where, reason))
        else:
            kept.append(item)
    feed.items = kept
    return feed


def _skip_reason(item: FeedItem) -> str | None:
    missing = [name for name, value in (("title", item.title if item.needs_title else "-"), ("link", item.link))
               if not value]
    if missing:
        return "missing " + " and ".join(missing)
    if not item.needs_title:
        return None  # a bare URL: price and stock come from its page
    if item.availability and item.availability.strip().lower() in OUT_OF_STOCK:
        return f"out of stock ({item.availability})"
    if _amount(item.sale_price) is None and _amount(item.price) is None:
        return "no price" if not item.price else f"price {item.price!r} is not a price"
    return None


def _amount(text: str | None) -> Price | None:
    if not text:
        return None
    price = Price.fromstring(text)
    return price if price.amount is not None else None


# --- Google Merchant Center ---------------------------------------------------------------------


def _xml(data: bytes, source: str) -> Feed:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{source}: line {exc.lineno}: the feed is not well-formed XML ({exc.msg})",
                         hint="fix the feed, or export it again from Merchant Center") from None
    entries = root.findall(f".//{{{ATOM_NS}}}entry") or root.findall(".//item")
    if not entries:
        raise InputError(f"{source}: line {root.sourceline}: no <item> or <entry> in this XML",
                         hint="a Google Merchant Center feed is RSS 2.0 or Atom with the g: namespace")
    feed = Feed("google-merchant")
    for number, entry in enumerate(entries, 1):
        values = {name: _g(entry, name) for name in FIELDS}
        values["title"] = values["title"] or _text(entry.find("title")) or _text(entry.find(f"{{{ATOM_NS}}}title"))
        values["description"] = (values["description"] or _text(entry.find("description"))
                                 or _text(entry.find(f"{{{ATOM_NS}}}summary")))
        atom_link = entry.find(f"{{{ATOM_NS}}}link")
        values["link"] = (values["link"] or _text(entry.find("link"))
                          or (atom_link.get("href") if atom_link is not None else None))
        item_id = values.pop("id") or f"item-{number}"
        feed.items.append(FeedItem(id=item_id, where=f"line {entry.sourceline}", **values))
    return feed


def _g(entry: etree._Element, name: str) -> str | None:
    return _text(entry.find(f"{{{G_NS}}}{name}"))


def _text(node: etree._Element | None) -> str | None:
    if node is None or node.text is None:
        return None
    return " ".join(node.text.split()) or None


# --- Meta catalog CSV / TSV ---------------------------------------------------------------------


def _looks_tabular(text: str) -> bool:
    first = text.lstrip().splitlines()[0].lower() if text.strip() else ""
    return ("title" in first or "link" in first) and ("," in first or "\t" in first)


def _table(text: str, source: str) -> Feed:
    first = text.lstrip().splitlines()[0]
    delimiter = "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text.lstrip()), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (csv.Error, StopIteration) as exc:
        raise InputError(f"{source}: row 1: cannot read the header ({exc})") from None
    missing = [name for name in ("id", "title", "link") if name not in header]
    if missing:
        raise InputError(f"{source}: row 1: the header has no {', '.join(missing)} column",
                         hint="a Meta catalog needs at least id, title, link, price and availability")
    feed = Feed("meta-catalog-" + ("tsv" if delimiter == "\t" else "csv"))
    row_number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(f"{source}: row {row_number + 1} (line {reader.line_num}): {exc}",
                             hint="check the quoting of that row") from None
        row_number += 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{source}: row {row_number} (line {reader.line_num}): {len(row)} fields, the header "
                             f"has {len(header)}", hint="check the delimiters and quoting of that row")
        values = {name: (cell.strip() or None) for name, cell in zip(header, row) if name in FIELDS}
        item_id = values.pop("id", None) or f"row-{row_number}"
        feed.items.append(FeedItem(id=item_id, where=f"row {row_number}", **values))
    return feed


# --- Shopify products.json ----------------------------------------------------------------------


def _shopify(text: str, source: str, store_url: str | None) -> Feed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(products, list):
        raise InputError(f"{source}: no \"products\" list: not a Shopify products.json",
                         hint="use https://<store>/products.json")
    feed = Feed("shopify")
    for number, product in enumerate(products, 1):
        if not isinstance(product, dict):
            feed.skipped.append(Skipped(f"product-{number}", f"product {number}", "not an object"))
            continue
        variants = [v for v in product.get("variants") or [] if isinstance(v, dict)]
        available = [v for v in variants if v.get("available", True)]
        chosen = (available or variants or [{}])[0]
        images = [i.get("src") for i in product.get("images") or [] if isinstance(i, dict) and i.get("src")]
        handle = product.get("handle")
        link = urljoin(store_url.rstrip("/") + "/", f"products/{handle}") if store_url and handle else None
        compare = chosen.get("compare_at_price")
        feed.items.append(FeedItem(
            id=str(product.get("id") or f"product-{number}"), where=f"product {number}",
            title=product.get("title") or None, description=_plain(product.get("body_html")), link=link,
            image_link=images[0] if images else None,
            price=str(compare or chosen.get("price") or "") or None,
            sale_price=str(chosen["price"]) if compare and chosen.get("price") else None,
            brand=product.get("vendor") or None, product_type=product.get("product_type") or None,
            availability=None if not variants else "in stock" if available else "out of stock",
        ))
    return feed


def _plain(html: object) -> str | None:
    if not isinstance(html, str) or not html.strip():
        return None
    return " ".join(etree.tostring(etree.HTML(html), method="text", encoding="unicode").split()) or None


def _origin(source: str) -> str | None:
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None


# --- a plain list of URLs -----------------------------------------------------------------------


def _urls(text: str, source: str) -> Feed:
    feed = Feed("url-list")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not re.match(r"https?://\S+$", line):
            raise InputError(f"{source}: line {number}: {line[:80]!r} is not an http(s) URL",
                             hint="a URL list has one product page URL a line (# starts a comment)")
        feed.items.append(FeedItem(id=f"line-{number}", where=f"line {number}", link=line, needs_title=False))
    return feed


# --- research notes from the feed ---------------------------------------------------------------


def feed_notes(item: FeedItem) -> ResearchNotes | None:
    """The notes a brief needs (name, description, price) from the feed; None when the page must be read."""
    if not item.title or not item.description or not item.link:
        return None
    price = _amount(item.sale_price) or _amount(item.price)
    sources = {name: "feed" for name in ("product_name", "description", "price", "brand", "availability")}
    return ResearchNotes(
        url=item.link, backend="feed", title=item.title, description=item.description, product_name=item.title,
        brand=item.brand, price=f"{price.amount:.2f}" if price else None, currency=price.currency if price else None,
        availability=item.availability,  # product_type is a category, not a selling point: not a feature
        main_text=item.description, image_urls=[item.image_link] if item.image_link else [], sources=sources,
    )


def read_feed(source: str, *, timeout_s: float = 30.0, max_bytes: int = 50_000_000) -> bytes:
    """The feed's bytes from a local file or an http(s) URL, or InputError saying what went wrong."""
    import httpx

    if urlsplit(source).scheme in ("http", "https"):
        try:
            with httpx.stream("GET", source, timeout=timeout_s, follow_redirects=True) as resp:
                if resp.status_code != 200:
                    raise InputError(f"{source}: the feed answered HTTP {resp.status_code}")
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise InputError(f"{source}: the feed is over {max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise InputError(f"{source}: cannot fetch the feed ({type(exc).__name__})") from None
    try:
        with open(source, "rb") as handle:
            return handle.read(max_bytes + 1)[:max_bytes]
    except OSError as exc:
        raise InputError(f"{source}: cannot read the feed ({exc.strerror})", hint="pass a file or an http(s) URL") from None
