"""The product's category: structured category, the breadcrumb trail, or the page's keywords."""

from __future__ import annotations

import re
from typing import Callable

from lxml import etree

from creative.research.dom import clean_text, element_text
from creative.research.structured import Structured

# Crumbs that lead nowhere in particular: home, the whole catalogue, "view all".
_HOME = re.compile(r"^(home|homepage|start|startseite|accueil|inicio|início|home page|главная|"
                   r"strona główna|trang chủ|ホーム|홈|首页|首頁|בית|עמוד הבית|hem|forside|etusivu|αρχική|"
                   r"products|all products|produkte|produits|productos|prodotti|produtos|catalog|catalogue|"
                   r"shop|view all|alle anzeigen|voir tout|ver todo|vedi tutto)$", re.I)
MAX_CRUMBS = 8
MAX_CRUMB_LEN = 60


def breadcrumbs(data: Structured, marks: list[tuple[etree._Element, str]], product_name: str | None,
                is_shop: Callable[[str], bool] = lambda _: False) -> tuple[list[str], str | None]:
    """The breadcrumb trail without 'Home', the shop's own name or the product itself, with its source."""
    for syntax, node in data.of_type("breadcrumblist"):
        items = node.get("itemListElement")
        items = items if isinstance(items, list) else [items]
        named = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            name = _name(item) or _name(item.get("item"))
            pos = _position(item.get("position"), i)
            if name:
                named.append((pos, name))
        trail = _tidy([n for _, n in sorted(named, key=lambda x: x[0])], product_name, is_shop)
        if trail:
            return trail, f"{syntax} BreadcrumbList"
    for el, mark in marks:
        if "breadcrumb" in mark or "breadcrumb" in (el.get("aria-label") or "").lower():
            links = [element_text(a) for a in el.iter("a", "li")]
            trail = _tidy([t for t in links if t], product_name, is_shop)
            if trail:
                return trail, "html breadcrumb"
    return [], None


def _name(node: object) -> str:
    if isinstance(node, dict):
        value = node.get("name")
        while isinstance(value, list) and value:
            value = value[0]
        return clean_text(value) if isinstance(value, (str, int, float)) else ""
    return ""


def _position(value: object, default: int) -> float:
    try:
        return float(str(value[0] if isinstance(value, list) and value else value))
    except (TypeError, ValueError):
        return float(default)


def _tidy(trail: list[str], product_name: str | None, is_shop: Callable[[str], bool]) -> list[str]:
    out: list[str] = []
    for crumb in trail:
        crumb = crumb.strip(" >/»›|")
        if not crumb or len(crumb) > MAX_CRUMB_LEN or _HOME.match(crumb) or crumb in out or is_shop(crumb):
            continue
        if product_name and crumb.casefold() == product_name.casefold():
            continue
        out.append(crumb)
    return out[:MAX_CRUMBS]


def category(products: list[tuple[str, dict]], data: Structured, trail: list[str],
             trail_source: str | None) -> tuple[str | None, str | None]:
    """Structured category first, then the breadcrumb path, then product:category or keywords."""
    for syntax, product in products:
        value = product.get("category")
        while isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, dict):
            value = value.get("name")
        text = clean_text(value) if isinstance(value, str) else ""
        if text and not text.isdigit() and not text.startswith("http"):
            return text, f"{syntax} Product.category"
    if trail:
        return " > ".join(trail), trail_source
    for key in ("product:category", "og:product:category", "keywords"):
        value, _ = data.first_meta(key)
        text = clean_text(value)
        if text and not re.fullmatch(r"[\d\s,;]+", text):
            return ", ".join(t.strip() for t in text.split(",")[:4] if t.strip()), f"meta {key}"
    return None, None

