"""Choose the price a shopper sees now: structured offers confirmed by the visible page.

Rules, in order: a price of 0 or less is no price; the sale price beats the regular one (kept as
`regular`); a structured price the page also shows beats one it does not; a price marked as before
VAT yields to the visible VAT-included price; with no structured price, the first visible price
after the product's heading counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from lxml import etree
from price_parser import Price

from creative.research.currency import from_symbol, iso_code
from creative.research.dom import element_text, marker
from creative.research.structured import Structured

# Prices a page marks as "before": struck through, was/old/regular/list/recommended.
_REGULAR_HINT = re.compile(
    r"(?<![a-z])(old|was|regular|strike|before|list-?price|original|rrp|uvp|msrp|compare|crossed|"
    r"prev|antes|ancien|barr|streich|normal-?price)")
_PRICE_HINT = re.compile(r"price|preis|prix|precio|prezzo|preco|prijs|cena|pris|hinta|fiyat|цена|giá")
_REGULAR_TAGS = {"del", "s", "strike"}
# Parts of a page that show other products' prices (read in lower-cased markers: no re.I, much faster).
_OTHER_PRODUCTS = re.compile(
    r"(related|recommend|carousel|similar|upsell|cross-?sell|recently|also-?(bought|viewed|like)|"
    r"suggest|bundle|slider|swiper)|"
    # page furniture, as a class of its own ("site-header", not "product-header")
    r"(?:^|\s)(?:site-|page-|mini-?)?(?:footer|header|menu|basket|cart|minicart)(?:$|\s|[-_])")
MAX_PRICE_TEXT = 80
MAX_AMOUNT = Decimal(10) ** 12  # above any real price in any currency
_VAT_HINT = re.compile(r"(?<![a-z])(tax|vat|incl|inkl|brutto|ttc|iva|mwst)(?![a-z])")
_AMOUNTS = re.compile(r"\d+(?:[.,\s\u00a0\u202f]\d+)*")
# Ratio of a VAT-included to a VAT-excluded price: standard rates run from about 5% to 27%.
VAT_RATIO = (Decimal("1.04"), Decimal("1.28"))


@dataclass(frozen=True)
class Candidate:
    amount: Decimal
    currency: str | None
    source: str
    regular: bool = False  # a was/list price, not what the shopper pays now
    before_vat: bool = False


@dataclass(frozen=True)
class Visible:
    amount: Decimal
    symbol: str | None
    regular: bool
    after_heading: bool
    other_product: bool
    vat_marked: bool = False  # the element says the price includes tax (Magento's "tax", "ttc", ...)


@dataclass(frozen=True)
class PriceChoice:
    price: str | None
    regular_price: str | None
    currency: str | None
    source: str | None
    currency_source: str | None
    symbol: str | None  # the visible currency symbol, for when no ISO code is given


def decimal_of(value: object) -> Decimal | None:
    """A price value from structured data or text as a Decimal: 1148, '1.148,00 zł', '67.8400'."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return None
        return amount if amount.is_finite() and 0 <= amount < MAX_AMOUNT else None
    text = str(value).strip()
    if text.startswith("-") or re.search(r"\d[eE][+-]?\d", text):
        return None  # negative or scientific: not a price anyone wrote
    if re.fullmatch(r"\d+(\.\d+)?", text):  # a plain machine number: '.' is the decimal point
        amount = Decimal(text)
    else:
        amount = Price.fromstring(text).amount
    return amount if amount is not None and amount < MAX_AMOUNT else None


def price_string(amount: Decimal) -> str:
    """Plain decimal with '.', at most two decimals: '67.8400' -> '67.84', '997.00' stays."""
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return format(amount, "f")


# --- structured candidates ------------------------------------------------------------


def structured_candidates(data: Structured, products: list[tuple[str, dict]]) -> list[Candidate]:
    out: list[Candidate] = []
    for syntax, product in products:
        for offer in _offers(product):
            out.extend(_offer_candidates(offer, f"{syntax} Product.offers"))
    sales: list[Candidate] = []
    for prefix in ("product:sale_price", "og:sale_price"):
        amount, key = data.first_meta(f"{prefix}:amount")
        cur, _ = data.first_meta(f"{prefix}:currency")
        _add(sales, amount, cur, key or "", regular=False)
    out.extend(sales)
    for prefix in ("product:price", "og:price"):
        amount, key = data.first_meta(f"{prefix}:amount")
        cur, _ = data.first_meta(f"{prefix}:currency")
        plain: list[Candidate] = []
        _add(plain, amount, cur, key or "", regular=False)
        # Beside a sale price, the plain OpenGraph price is the regular one.
        out.extend(Candidate(c.amount, c.currency, c.source, regular=bool(sales) and
                             c.amount > sales[0].amount) for c in plain)
    for prefix in ("product:original_price", "og:original_price"):
        amount, key = data.first_meta(f"{prefix}:amount")
        cur, _ = data.first_meta(f"{prefix}:currency")
        _add(out, amount, cur, key or "", regular=True)
    return out


def _add(out: list[Candidate], value: object, currency: object, source: str, *, regular: bool,
         before_vat: bool = False) -> None:
    amount = decimal_of(value)
    if amount is None or amount <= 0:
        return
    cur = iso_code(str(currency)) if currency else None
    if cur is None and isinstance(value, str):
        cur = from_symbol(Price.fromstring(value).currency, None)
    out.append(Candidate(amount, cur, source, regular, before_vat))


def _offers(product: dict) -> list[dict]:
    found: list[dict] = []
    stack = [product.get("offers")]
    while stack and len(found) < 200:
        cur = stack.pop(0)
        if isinstance(cur, list):
            stack[:0] = cur
        elif isinstance(cur, dict):
            found.append(cur)
            if "offers" in cur:  # an AggregateOffer nests its offers
                stack.append(cur["offers"])
    return found


def _offer_candidates(offer: dict, source: str) -> list[Candidate]:
    out: list[Candidate] = []
    currency = _scalar(offer.get("priceCurrency"))
    vat = _scalar(offer.get("valueAddedTaxIncluded"))
    specs = offer.get("priceSpecification")
    for spec in specs if isinstance(specs, list) else [specs]:
        if not isinstance(spec, dict):
            continue
        kind = str(_scalar(spec.get("priceType")) or "").rsplit("/", 1)[-1].lower()
        spec_vat = _scalar(spec.get("valueAddedTaxIncluded"))
        _add(out, _scalar(spec.get("price")), _scalar(spec.get("priceCurrency")) or currency,
             f"{source}.priceSpecification",
             regular=kind in ("strikethroughprice", "listprice", "msrp", "srp"),
             before_vat=_false(spec_vat if spec_vat is not None else vat))
    price = _scalar(offer.get("price"))
    if price is None:
        price = _scalar(offer.get("lowPrice"))
    _add(out, price, currency, source, regular=False, before_vat=_false(vat))
    return out


def _scalar(value: object) -> object:
    while isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("@value", value.get("value"))
    return None if isinstance(value, (list, dict)) else value


def _false(value: object) -> bool:
    return str(value).strip().lower() in ("false", "0", "no")


# --- visible prices ------------------------------------------------------------------


def visible_prices(marks: list[tuple[etree._Element, str]], heading: etree._Element | None) -> list[Visible]:
    """Prices printed in elements named 'price' (after strip_hidden), in document order."""
    out: list[Visible] = []
    after_heading = _document_order(heading)
    for el, mark in marks:
        if len(el) > 6 or not (_PRICE_HINT.search(mark) or "data-price-amount" in el.attrib):
            continue
        passed_heading = after_heading(el)
        text = element_text(el)
        # A price element holds an amount, maybe beside its was-price; more numbers make it an
        # offer sentence or a table ("buy 2 boxes, 819 each, save 522").
        # Counted without spaces: "£23.99 £ 23 . 99" (a price for screen readers and its drawing) is two.
        if not text or len(text) > MAX_PRICE_TEXT or not 1 <= len(_AMOUNTS.findall(text.replace(" ", ""))) <= 2:
            continue
        parsed = Price.fromstring(text)
        if parsed.amount is None or parsed.amount <= 0:
            continue
        out.append(Visible(parsed.amount, parsed.currency, _is_regular(el, mark), passed_heading,
                           _in_other_product(el), _vat_marked(el, mark)))
    return out


def _document_order(heading: etree._Element | None):
    """A test 'comes after the heading in the document', costing the depth of the tree, not its size."""
    if heading is None:
        return lambda el: True
    chain = [heading, *heading.iterancestors()]
    position = {id(node): i for i, node in enumerate(chain)}

    def after(el: etree._Element) -> bool:
        child = el
        for parent in el.iterancestors():
            if id(parent) in position:  # the common ancestor
                if parent is heading:
                    return True
                below = chain[position[id(parent)] - 1]
                return parent.index(child) > parent.index(below)
            child = parent
        return True

    return after


def _vat_marked(el: etree._Element, mark: str) -> bool:
    marks = [mark, *(marker(p) for p in list(el.iterancestors())[:3])]
    return any(_VAT_HINT.search(m) for m in marks)


def _is_regular(el: etree._Element, mark: str) -> bool:
    if el.tag in _REGULAR_TAGS or _REGULAR_HINT.search(mark):
        return True
    for parent in list(el.iterancestors())[:3]:
        if parent.tag in _REGULAR_TAGS or _REGULAR_HINT.search(marker(parent)):
            return True
    return any(child.tag in _REGULAR_TAGS for child in el)


def _in_other_product(el: etree._Element) -> bool:
    for parent in el.iterancestors():
        if parent.tag in ("aside", "footer", "header", "nav") or _OTHER_PRODUCTS.search(marker(parent)):
            return True
    return False


# --- the choice ----------------------------------------------------------------------


def choose_price(candidates: list[Candidate], visible: list[Visible]) -> PriceChoice:
    """Apply the rules in the module docstring."""
    candidates = [c for c in candidates if c.amount > 0]
    visible = [v for v in visible if v.amount > 0]
    shown = {v.amount for v in visible if not v.other_product}
    shown_current = {v.amount for v in visible if not v.other_product and not v.regular}
    shown_regular = {v.amount for v in visible if not v.other_product and v.regular} - shown_current
    currency = next((c.currency for c in candidates if c.currency), None)
    cur_source = next((c.source for c in candidates if c.currency), None)
    # Other products on the page are priced in the same currency: their symbol still tells it.
    symbol = next((v.symbol for v in visible if v.symbol and not v.other_product), None) or \
        next((v.symbol for v in visible if v.symbol), None)
    current = [c for c in candidates if not c.regular and not c.before_vat]
    regulars = [c for c in candidates if c.regular]

    chosen: Candidate | None = None
    if current and shown:
        confirmed = [c for c in current if c.amount in shown and c.amount not in shown_regular]
        if confirmed:
            chosen = min(confirmed, key=lambda c: c.amount)  # the sale among confirmed offers
    main = next((v for v in visible if v.after_heading and not v.other_product and not v.regular), None)
    taxed = {v.amount for v in visible if v.vat_marked and not v.other_product}
    if chosen is None and main is not None:
        # A structured price marked as before VAT, or one the page does not show while its main
        # price says it includes tax, is below that price by a VAT rate: the shopper pays the latter.
        for c in candidates:
            if not c.regular and (c.before_vat or (c.amount not in shown and main.amount in taxed)) and \
                    VAT_RATIO[0] <= main.amount / c.amount <= VAT_RATIO[1]:
                chosen = Candidate(main.amount, c.currency, "visible price (VAT included)")
                break
    if chosen is None and current:
        if shown and all(c.amount in shown_regular for c in current) and shown_current:
            pass  # every structured price is shown struck through: fall back to the visible one
        else:
            chosen = current[0]
    if chosen is None and not candidates:
        # With nothing structured, only a printed amount with its currency reads as a price.
        plain = [v for v in visible if v.symbol and not v.other_product and not v.regular]
        first = next((v for v in plain if v.after_heading), None) or next(iter(plain), None)
        if first is not None:
            chosen = Candidate(first.amount, None, "visible price")
            symbol = first.symbol or symbol
    if chosen is None and main is not None and candidates:
        # Every structured price is shown struck through: the page's main price is the one paid.
        chosen = Candidate(main.amount, currency, "visible price")
    if chosen is None:
        return PriceChoice(None, None, currency, None, cur_source, symbol)

    regular = _regular_for(chosen, candidates, regulars, shown_regular)
    if chosen.currency:
        currency, cur_source = chosen.currency, chosen.source
    return PriceChoice(price_string(chosen.amount), regular and price_string(regular), currency,
                       chosen.source, cur_source, symbol)


def _regular_for(chosen: Candidate, candidates: list[Candidate], regulars: list[Candidate],
                 shown_regular: set[Decimal]) -> Decimal | None:
    higher = [c.amount for c in regulars if c.amount > chosen.amount]
    if higher:
        return min(higher)
    # A higher structured price the page shows struck through is the was-price.
    higher = [c.amount for c in candidates if c.amount > chosen.amount and c.amount in shown_regular]
    if higher:
        return min(higher)
    if "sale_price" in chosen.source:
        plain = [c.amount for c in candidates if c.amount > chosen.amount and "price:amount" in c.source]
        return min(plain) if plain else None
    visible_higher = sorted(a for a in shown_regular if chosen.amount < a <= chosen.amount * 5)
    return visible_higher[0] if visible_higher else None
