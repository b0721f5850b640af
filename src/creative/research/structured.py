"""Structured data through extruct: JSON-LD, microdata, RDFa and OpenGraph, as plain schema.org nodes.

Every syntax is brought to one shape, a dict with lower-cased "@type" names and unprefixed
property names, so the rules that choose among candidates read them all alike.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
from types import ModuleType
from dataclasses import dataclass, field
from typing import Any, Iterator

from lxml import etree

from creative.core.json_text import check_depth

from creative.research.dom import clean_text

log = logging.getLogger(__name__)

# Wrappers some shops put around JSON-LD: CDATA sections, HTML comments, JS comment markers.
_WRAPPERS = re.compile(r"/\*\s*<!\[CDATA\[\s*\*/|/\*\s*\]\]>\s*\*/|<!\[CDATA\[|\]\]>|<!--|-->")
_NESTED_KEYS = ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "item", "hasVariant",
                "about", "itemOffered", "isVariantOf")


@dataclass
class Structured:
    """All structured facts of a page: schema.org nodes (with their syntax) and OpenGraph/meta tags."""

    nodes: list[tuple[str, dict]] = field(default_factory=list)  # (syntax, node)
    meta: dict[str, list[str]] = field(default_factory=dict)  # og:/product:/name= keys, lower-case

    def first_meta(self, *keys: str) -> tuple[str | None, str | None]:
        """The first non-empty value among `keys`, with the key it came from."""
        for key in keys:
            for value in self.meta.get(key, []):
                if value and value.strip():
                    return value.strip(), key
        return None, None

    def of_type(self, *types: str) -> Iterator[tuple[str, dict]]:
        wanted = set(types)
        for syntax, node in self.nodes:
            if types_of(node) & wanted:
                yield syntax, node


def types_of(node: dict) -> set[str]:
    """'https://schema.org/Product', 'product', ['Product', 'Thing'] -> {'product', 'thing'}."""
    raw = node.get("@type", [])
    values = raw if isinstance(raw, list) else [raw]
    return {re.split(r"[/#:]", str(v))[-1].strip().lower() for v in values if v}


def schema_text(value: object) -> str:
    """A schema.org value as clean text: a string, a thing with a name, or the first of a list."""
    while isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or ""
    return "" if isinstance(value, (list, dict)) or value is None else clean_text(value)


def read_structured(doc: etree._Element, html: str, base_url: str) -> Structured:
    """Read every structured syntax from the parsed page (before scripts are stripped); `html` is
    the page's text, which RDFa's parser reads into its own DOM."""
    out = Structured()
    for node in _jsonld(doc):
        out.nodes.extend(("json-ld", n) for n in walk(node))
    for item in _microdata(doc, base_url):
        out.nodes.extend(("microdata", n) for n in walk(item))
    # RDFa parsing costs seconds on a large page: it is read only when nothing else described a
    # product and the page declares an RDFa product or offer.
    if not any(types_of(n) & _PRODUCTISH for _, n in out.nodes) and _RDFA_PRODUCT(doc):
        for item in _rdfa(doc, html, base_url):
            out.nodes.extend(("rdfa", n) for n in walk(item))
    out.meta = _meta(doc)
    return out


def walk(node: Any) -> Iterator[dict]:
    """Every dict in a JSON-LD-like tree, following the keys that nest entities."""
    stack = [node]
    seen = 0
    while stack and seen < 5000:  # a bound against absurd graphs
        cur = stack.pop()
        if isinstance(cur, list):
            stack.extend(reversed(cur))
        elif isinstance(cur, dict):
            seen += 1
            yield cur
            for key in _NESTED_KEYS:
                if key in cur:
                    stack.append(cur[key])


# --- JSON-LD ------------------------------------------------------------------------


def extractor_module(name: str) -> ModuleType:
    """One of extruct's extractor modules, imported without running extruct's own __init__.

    That __init__ imports every extractor, and the microformats one pulls in requests and
    BeautifulSoup: about 0.15 s on every `creative brief` for a format we do not read. The package
    is stood in for only while its submodule loads, so a later `import extruct` gets the real one.
    """
    full = f"extruct.{name}"
    if full in sys.modules:
        return sys.modules[full]
    if "extruct" in sys.modules:
        return importlib.import_module(full)
    spec = importlib.util.find_spec("extruct")
    stand_in = importlib.util.module_from_spec(spec)  # the package, its __init__ not run
    sys.modules["extruct"] = stand_in
    try:
        return importlib.import_module(full)
    finally:
        if sys.modules.get("extruct") is stand_in:
            del sys.modules["extruct"]


def _jsonld(doc: etree._Element) -> Iterator[Any]:
    JsonLdExtractor = extractor_module("jsonld").JsonLdExtractor

    extractor = JsonLdExtractor()
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = script.text or ""
        cleaned = _WRAPPERS.sub("", raw)
        if cleaned != raw:
            script.text = cleaned
        script.set("type", "application/ld+json")
        try:
            # Nested thousands deep would exhaust the parser's stack: such a block is skipped whole.
            check_depth(cleaned)
            # One script at a time, so one broken block does not hide the others.
            yield from extractor.extract_items(script)
        except Exception as exc:  # noqa: BLE001 - invalid JSON in the wild takes many shapes
            log.info("ignoring an invalid JSON-LD block: %s", str(exc)[:120])


# --- microdata -------------------------------------------------------------------


def _microdata(doc: etree._Element, base_url: str) -> list[dict]:
    if doc.find(".//*[@itemscope]") is None:
        return []
    MicrodataExtractor = extractor_module("w3cmicrodata").MicrodataExtractor

    try:
        items = MicrodataExtractor().extract_items(doc, base_url)
    except Exception as exc:  # noqa: BLE001
        log.info("ignoring unreadable microdata: %s", str(exc)[:120])
        return []
    return [_from_microdata(i) for i in items]


def _from_microdata(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_microdata(v) for v in value]
    if isinstance(value, dict) and "properties" in value:
        node = {k: _from_microdata(v) for k, v in value["properties"].items()}
        node["@type"] = value.get("type", [])
        return node
    return value


# --- RDFa ------------------------------------------------------------------------


_PRODUCTISH = {"product", "productgroup", "productmodel", "individualproduct", "offer", "aggregateoffer"}
_RDFA_PRODUCT = etree.XPath("boolean(//*[contains(@typeof, 'Product') or contains(@typeof, 'product') or "
                            "contains(@typeof, 'Offer') or contains(@typeof, 'offer')])")


def _rdfa(doc: etree._Element, html: str, base_url: str) -> list[dict]:
    RDFaExtractor = extractor_module("rdfa").RDFaExtractor

    try:
        graph = RDFaExtractor().extract(html, base_url=base_url)
    except Exception as exc:  # noqa: BLE001
        log.info("ignoring unreadable RDFa: %s", str(exc)[:120])
        return []
    by_id = {n.get("@id"): n for n in graph if isinstance(n, dict)}
    return [_from_rdfa(n, by_id, 0) for n in graph if isinstance(n, dict) and n.get("@type")]


def _from_rdfa(node: dict, by_id: dict, depth: int) -> dict:
    out: dict[str, Any] = {"@type": node.get("@type", [])}
    for key, values in node.items():
        if key.startswith("@"):
            continue
        name = re.split(r"[/#:]", key)[-1]
        items = []
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, dict) and "@value" in v:
                items.append(v["@value"])
            elif isinstance(v, dict) and v.get("@id") in by_id and depth < 3:
                items.append(_from_rdfa(by_id[v["@id"]], by_id, depth + 1))
        if items:
            out[name] = items[0] if len(items) == 1 else items
    return out


# --- OpenGraph and meta ------------------------------------------------------------------


def _meta(doc: etree._Element) -> dict[str, list[str]]:
    """OpenGraph through extruct, plus <meta name=...> tags (description, keywords, twitter:*)."""
    OpenGraphExtractor = extractor_module("opengraph").OpenGraphExtractor

    meta: dict[str, list[str]] = {}
    try:
        for item in OpenGraphExtractor().extract_items(doc):
            for prop, value in item.get("properties", []):
                meta.setdefault(prop.strip().lower(), []).append(value)
    except Exception as exc:  # noqa: BLE001
        log.info("ignoring unreadable OpenGraph tags: %s", str(exc)[:120])
    for el in doc.iter("meta"):
        key = (el.get("property") or el.get("name") or "").strip().lower()
        if not key and el.get("http-equiv"):
            key = "http-equiv:" + el.get("http-equiv", "").strip().lower()
        content = el.get("content")
        if key and content is not None and content not in meta.get(key, []):
            # OpenGraph tags outside <head> or under an unknown prefix still count.
            meta.setdefault(key, []).append(content)
    return meta
